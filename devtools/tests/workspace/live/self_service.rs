//! The account's own controls over HTTP through the local API: listing and ending sessions.

use super::local_api::{Local, access_claims, start};
use reqwest::StatusCode;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

impl Local {
    /// A password grant from a device with `user_agent`.
    async fn token_from(
        &self,
        username: &str,
        password: &str,
        user_agent: &str,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/token", self.url))
            .header("User-Agent", user_agent)
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    /// Logs `username` in from a device with `user_agent`; the token response.
    async fn login_from(&self, username: &str, user_agent: &str) -> Value {
        let response = self.token_from(username, PASSWORD, user_agent).await;
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
        .token_from("erin", "not the password", "Guesser/0.1")
        .await;
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
        .token_from("erin", "an entirely new passphrase", "Phone/2.0")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let (status, _) = local
        .post_with_token("/users/me/logout", &after["access_token"], None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = local
        .token("erin", "an entirely new passphrase")
        .await
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

impl Local {
    /// Signs `username` up, turns TOTP on, and returns a recent access token, the refresh
    /// token of its session and the TOTP secret.
    async fn with_totp(&self, username: &str) -> (Value, Value, shared::factors::totp::TotpSecret) {
        self.access_token(username, PASSWORD).await;
        let tokens = self.login_from(username, "Laptop/1.0").await;
        let access = &tokens["access_token"];
        let (status, started) = self
            .post_with_token(
                "/users/me/mfa/totp",
                access,
                Some(serde_json::json!({ "current_password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let secret =
            shared::factors::totp::TotpSecret::from_base32(started["secret"].as_str().unwrap())
                .unwrap();
        let code = secret
            .code_at(std::time::SystemTime::now() - std::time::Duration::from_secs(30))
            .unwrap();
        let (status, confirmed) = self
            .post_with_token(
                "/users/me/mfa/totp/confirm",
                access,
                Some(serde_json::json!({ "otp": code })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{confirmed}");
        (access.clone(), tokens["refresh_token"].clone(), secret)
    }

    async fn delete_account(&self, access_token: &Value, body: Value) -> (StatusCode, String) {
        let response = self
            .http
            .delete(format!("{}/users/me", self.url))
            .bearer_auth(access_token.as_str().unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn documents_naming(&self, account: &str, username: &str) -> Vec<String> {
        use mongodb::bson::{Document, doc};
        let oid = mongodb::bson::oid::ObjectId::parse_str(account).unwrap();
        let mut found = Vec::new();
        for (collection, filter) in [
            ("users", doc! { "_id": oid }),
            ("sessions", doc! { "account": account }),
            ("second_factors", doc! { "_id": account }),
            ("mfa_challenges", doc! { "account": account }),
            ("security_events", doc! { "account": account }),
            ("login_failures", doc! { "_id": username }),
            (
                "login_failures",
                doc! { "_id": format!("second-factor:{account}") },
            ),
        ] {
            let count = self
                .database
                .collection::<Document>(collection)
                .count_documents(filter.clone())
                .await
                .unwrap();
            if count > 0 {
                found.push(format!("{collection}: {count} for {filter}"));
            }
        }
        found
    }
}

fn account_of(access_token: &Value) -> String {
    access_claims(access_token)["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn deleting_the_account_leaves_only_a_pseudonymous_event_and_frees_the_name() {
    let local = start().await;
    let (access, refresh, secret) = local.with_totp("frank").await;
    let account = account_of(&access);
    // A wrong code leaves a counter, a password step a pending second-factor login.
    let wrong = local
        .token("frank", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(wrong["error"], "mfa_required");

    let (status, body) = local
        .delete_account(&access, serde_json::json!({ "current_password": PASSWORD }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("insufficient_user_authentication"), "{body}");
    let (status, body) = local
        .delete_account(
            &access,
            serde_json::json!({ "current_password": "not it", "otp": "123456" }),
        )
        .await;
    assert!(body.contains("wrong_password"), "{status} {body}");
    assert!(local.documents_naming(&account, "frank").await.len() >= 5);

    let code = secret.code_at(std::time::SystemTime::now()).unwrap();
    let (status, body) = local
        .delete_account(
            &access,
            serde_json::json!({ "current_password": PASSWORD, "otp": code }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        local.documents_naming(&account, "frank").await,
        Vec::<String>::new(),
        "nothing keyed to the account is left"
    );
    let pseudonym = shared::identity::account_events::pseudonym(
        &shared::identity::account_id::AccountId::parse(&account).unwrap(),
    );
    let kept = local
        .database
        .collection::<mongodb::bson::Document>("security_events")
        .find_one(mongodb::bson::doc! { "account": pseudonym.as_str() })
        .await
        .unwrap()
        .expect("the deletion event");
    assert_eq!(kept.get_str("kind").unwrap(), "account_deleted");

    let bearer = format!("Bearer {}", access.as_str().unwrap());
    assert_eq!(
        local.get("/users/me", Some(&bearer)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(local.refresh(&refresh).await.0, StatusCode::BAD_REQUEST);

    let again = local.access_token("frank", PASSWORD).await;
    let again = Value::from(again);
    assert_ne!(account_of(&again), account);
    let (_, events) = local.events_page(&again, "").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "{events}");
    let (_, sessions) = local.sessions(&again).await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    let bearer = format!("Bearer {}", again.as_str().unwrap());
    let me: Value = local
        .get("/users/me", Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["two_factor"]["enabled"], false, "inherits nothing");
    local.stack.stop().await;
}

#[tokio::test]
async fn the_export_holds_every_collections_data_and_no_secret() {
    let local = start().await;
    let (access, refresh, secret) = local.with_totp("grace").await;
    let wrong = local.token("grace", "a wrong password").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let pending = local
        .token("grace", PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", access.as_str().unwrap());
    let response = local.get("/users/me/export", Some(&bearer)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let export: Value = response.json().await.unwrap();

    assert_eq!(export["account"]["username"], "grace");
    assert_eq!(export["account"]["id"], account_of(&access));
    assert_eq!(export["two_factor"]["confirmed"], true);
    assert_eq!(export["two_factor"]["recovery_codes_remaining"], 10);
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    let kinds: Vec<&str> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    for kind in [
        "login_succeeded",
        "second_factor_enabled",
        "second_factor_required",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(
        export["pending_second_factor_logins"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(export["failed_attempts"]["password_checks"]["failures"], 0);

    let text = serde_json::to_string_pretty(&export).unwrap();
    let stored_hash = local
        .database
        .collection::<mongodb::bson::Document>("users")
        .find_one(mongodb::bson::doc! { "username": "grace" })
        .await
        .unwrap()
        .unwrap()
        .get_str("password")
        .unwrap()
        .to_owned();
    for secret_value in [
        access.as_str().unwrap(),
        refresh.as_str().unwrap(),
        pending["mfa_token"].as_str().unwrap(),
        secrecy::ExposeSecret::expose_secret(&secret.base32()),
        &shared::sessions::hash(refresh.as_str().unwrap()),
        "argon2",
        "ciphertext",
        "nonce",
        "recovery_codes\"",
        PASSWORD,
    ] {
        assert!(!text.contains(secret_value), "{secret_value} in the export");
    }
    assert!(stored_hash.starts_with("$argon2id$") && !text.contains(&stored_hash));

    // The log scan's rules hold over it too.
    let dir = std::env::temp_dir().join(format!("export-scan-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("export.log"), &text).unwrap();
    let scan =
        std::process::Command::new(crate::support::workspace().join("devtools/scripts/scan-logs"))
            .arg(&dir)
            .output()
            .unwrap();
    assert!(
        scan.status.success(),
        "{}{}",
        String::from_utf8_lossy(&scan.stdout),
        String::from_utf8_lossy(&scan.stderr)
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn the_discovery_document_names_the_tokens_issuer_and_every_url_in_it_answers() {
    let local = start().await;
    let response = local
        .get("/.well-known/oauth-authorization-server", None)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let metadata: Value = response.json().await.unwrap();
    // RFC 8414 section 2: issuer and response_types_supported are required, and
    // token_endpoint is as soon as any grant uses it.
    for field in ["issuer", "response_types_supported", "token_endpoint"] {
        assert!(metadata.get(field).is_some(), "{field} in {metadata}");
    }
    assert_eq!(metadata["issuer"], local.url);

    let access = local.access_token("heidi", PASSWORD).await;
    let claims_iss = access_claims(&Value::from(access))["iss"].clone();
    assert_eq!(claims_iss, metadata["issuer"], "tokens carry the issuer");

    let jwks: Value = local
        .http
        .get(metadata["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!jwks["keys"].as_array().unwrap().is_empty());
    let token = local
        .http
        .post(metadata["token_endpoint"].as_str().unwrap())
        .form(&[("username", "heidi"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let revoke = local
        .http
        .post(metadata["revocation_endpoint"].as_str().unwrap())
        .form(&[("token", "not-a-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::OK);
    let docs = local
        .http
        .get(metadata["service_documentation"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    local.stack.stop().await;
}
