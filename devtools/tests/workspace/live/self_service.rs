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
