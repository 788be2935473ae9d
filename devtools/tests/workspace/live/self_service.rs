//! The account's own controls over HTTP through the local API: listing and ending sessions.

use super::local_api::{Local, start};
use reqwest::StatusCode;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

impl Local {
    /// Logs `username` in from a device with `user_agent`; the token response.
    async fn login_from(&self, username: &str, user_agent: &str) -> Value {
        let response = self
            .http
            .post(format!("{}/token", self.url))
            .header("User-Agent", user_agent)
            .form(&[("username", username), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn sessions(&self, access_token: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/users/me/sessions", self.url))
            .bearer_auth(access_token.as_str().unwrap())
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn end_session(&self, access_token: &Value, id: &str) -> StatusCode {
        self.http
            .delete(format!("{}/users/me/sessions/{id}", self.url))
            .bearer_auth(access_token.as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn two_logins_are_two_sessions_and_ending_one_leaves_the_other() {
    let local = start().await;
    local.access_token("alice", PASSWORD).await;
    local.access_token("bob", PASSWORD).await;
    let laptop = local.login_from("alice", "Laptop/1.0").await;
    let phone = local.login_from("alice", "Phone/2.0").await;

    let (status, listed) = local.sessions(&phone["access_token"]).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let sessions = listed["sessions"].as_array().unwrap();
    let by_agent = |agent: &str| {
        sessions
            .iter()
            .find(|session| session["user_agent"] == agent)
            .unwrap_or_else(|| panic!("no {agent} session in {listed}"))
            .clone()
    };
    let (laptop_session, phone_session) = (by_agent("Laptop/1.0"), by_agent("Phone/2.0"));
    assert_eq!(phone_session["current"], true, "the caller's own");
    assert_eq!(laptop_session["current"], false);
    assert_eq!(laptop_session["ip"], "127.0.0.1");
    assert_eq!(laptop_session["amr"], serde_json::json!(["pwd"]));

    let bob = local.login_from("bob", "Bob/1.0").await;
    let laptop_id = laptop_session["id"].as_str().unwrap();
    assert_eq!(
        local.end_session(&bob["access_token"], laptop_id).await,
        StatusCode::NOT_FOUND,
        "another account's session id"
    );
    let (status, rotated) = local.refresh(&laptop["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "untouched by bob");

    assert_eq!(
        local.end_session(&phone["access_token"], laptop_id).await,
        StatusCode::NO_CONTENT
    );
    let laptop_refresh = local.sessions(&phone["access_token"]).await.1;
    assert!(
        laptop_refresh["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|session| session["id"] != laptop_id),
        "{laptop_refresh}"
    );
    assert_eq!(
        local.refresh(&rotated["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST,
        "the ended session's refresh token stops at once"
    );
    let (status, _) = local.refresh(&phone["refresh_token"]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the phone's session still refreshes"
    );
    assert_eq!(
        local.end_session(&phone["access_token"], laptop_id).await,
        StatusCode::NOT_FOUND,
        "already ended"
    );
    local.stack.stop().await;
}

impl Local {
    async fn events_page(&self, access_token: &Value, query: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}/users/me/events{query}", self.url))
            .bearer_auth(access_token.as_str().unwrap())
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

#[tokio::test]
async fn each_action_appears_in_the_security_history_newest_first_with_ip_and_user_agent() {
    let local = start().await;
    local.access_token("erin", PASSWORD).await;
    let wrong = local
        .http
        .post(format!("{}/token", local.url))
        .header("User-Agent", "Guesser/0.1")
        .form(&[("username", "erin"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    local.login_from("erin", "Laptop/1.0").await;
    let phone = local.login_from("erin", "Phone/2.0").await;
    let (_, listed) = local.sessions(&phone["access_token"]).await;
    let laptop_id = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|session| session["user_agent"] == "Laptop/1.0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        local.end_session(&phone["access_token"], &laptop_id).await,
        StatusCode::NO_CONTENT
    );
    let (status, _) = local
        .post_with_token(
            "/users/me/password",
            &phone["access_token"],
            Some(serde_json::json!({
                "current_password": PASSWORD,
                "new_password": "an entirely new passphrase"
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let after = local
        .http
        .post(format!("{}/token", local.url))
        .header("User-Agent", "Phone/2.0")
        .form(&[
            ("username", "erin"),
            ("password", "an entirely new passphrase"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let (status, _) = local
        .post_with_token("/users/me/logout", &after["access_token"], None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = local
        .http
        .post(format!("{}/token", local.url))
        .form(&[
            ("username", "erin"),
            ("password", "an entirely new passphrase"),
        ])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();

    let (status, first) = local.events_page(&fresh["access_token"], "?limit=4").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, rest) = local
        .events_page(
            &fresh["access_token"],
            &format!("?limit=4&before={}", first["next"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    let events: Vec<&Value> = first["events"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["events"].as_array().unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "login_succeeded",
            "logged_out_everywhere",
            "login_succeeded",
            "password_changed",
            "session_ended",
            "login_succeeded",
            "login_succeeded",
            "login_failed",
        ],
        "newest first"
    );
    assert_eq!(events[7]["user_agent"], "Guesser/0.1");
    assert_eq!(events[6]["user_agent"], "Laptop/1.0");
    assert!(events.iter().all(|e| e["ip"] == "127.0.0.1"), "{events:?}");
    assert!(rest["next"].is_null() || rest["events"].as_array().unwrap().len() == 4);

    let (status, body) = local.events_page(&fresh["access_token"], "?limit=0").await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &Value::from("limit"))
    );
    let (status, body) = local
        .events_page(&fresh["access_token"], "?before=nonsense")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &Value::from("before"))
    );
    local.stack.stop().await;
}
