//! The admin API over HTTP through the local API: an administrator made with grant-role and
//! signed in with a second factor acts on an account, each action takes effect on the
//! account's very next request to any function, and each is in its security history with the
//! administrator's id; the refusals (no scope, no second factor, the last administrator,
//! unknown accounts) answer as documented.

use super::local_api::{Local, start};
use super::two_factor::pyotp_code;
use devtools::roles::change;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::access::roles::Roles;
use shared::identity::users::UserCollectionSettings;
use shared::stores::MongoStores;

const PASSWORD: &str = "correct horse battery staple";

impl Local {
    async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("Authorization", bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// An administrator with TOTP on, logged in with a recovery code: its bearer value.
    async fn administrator(&self, username: &str) -> String {
        self.administrator_with_codes(username).await.0
    }

    /// [`Self::administrator`], with the recovery codes left after the login.
    async fn administrator_with_codes(&self, username: &str) -> (String, Vec<String>) {
        let (_, _, mut recovery_codes) = self
            .enrolled(username, |secret| pyotp_code(secret, 0))
            .await;
        let stores = MongoStores::new(&self.database, &UserCollectionSettings::default());
        change(&stores, &Roles::default(), username, "admin", false)
            .await
            .unwrap();
        let mfa_token = self.password_step(username).await;
        let code = recovery_codes.remove(0);
        let (status, body) = self.mfa_grant(&mfa_token, "recovery_code", &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["scope"], "clients:admin products:write users:admin");
        let bearer = format!("Bearer {}", body["access_token"].as_str().unwrap());
        (bearer, recovery_codes)
    }

    async fn account_id(&self, admin: &str, username: &str) -> String {
        let (status, page) = self
            .call(
                Method::GET,
                &format!("/admin/users?prefix={username}"),
                admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["users"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn password_grant_bytes(&self, username: &str, password: &str) -> (StatusCode, String) {
        let response = self.token(username, password).await;
        (response.status(), response.text().await.unwrap())
    }
}

#[tokio::test]
async fn an_administrator_acts_on_an_account_and_each_action_holds_at_once() {
    let local = start().await;
    let admin = local.administrator("root").await;
    let user = format!("Bearer {}", local.access_token("target", PASSWORD).await);
    let session = local.login("target", PASSWORD).await;
    let id = local.account_id(&admin, "target").await;
    let path = |action: &str| format!("/admin/users/{id}{action}");

    // A plain user's token is refused the admin API, before and after its answer is cached.
    for _ in 0..2 {
        let (status, body) = local.call(Method::GET, "/admin/users", &user, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::FORBIDDEN, Some("forbidden"))
        );
        assert_eq!(
            local.get("/users/me", Some(&user)).await.status(),
            StatusCode::OK
        );
    }

    // Disable: every function refuses the account's tokens on the next request, the refresh
    // token is dead, and a login gets the bytes a wrong password gets.
    let (status, body) = local
        .call(Method::POST, &path("/disable"), &admin, None)
        .await;
    assert_eq!(
        (status, body["disabled"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    assert_ne!(
        local.get("/users/me", Some(&user)).await.status(),
        StatusCode::OK
    );
    assert_ne!(
        local.get("/products", Some(&user)).await.status(),
        StatusCode::OK
    );
    let (status, _) = local
        .call(Method::POST, "/users/me/logout", &user, None)
        .await;
    assert_ne!(status, StatusCode::OK);
    assert_eq!(
        local.refresh(&session["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );
    let disabled = local.password_grant_bytes("target", PASSWORD).await;
    let wrong = local
        .password_grant_bytes("target", "not the password")
        .await;
    assert_eq!(
        disabled, wrong,
        "a disabled account answers like a wrong password"
    );
    assert_eq!(disabled.0, StatusCode::BAD_REQUEST);

    // Enable, then lock the name with wrong passwords and unlock it.
    let (status, _) = local
        .call(Method::POST, &path("/enable"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..6 {
        local.token("target", "not the password").await;
    }
    assert_eq!(
        local.token("target", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = local
        .call(Method::POST, &path("/unlock"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let fresh = local.login("target", PASSWORD).await;

    // Log out everywhere: the fresh login's tokens stop working.
    let (status, _) = local
        .call(Method::POST, &path("/logout"), &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        local.me_status(&fresh["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.refresh(&fresh["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );

    // Roles: an undefined one is refused, the last administrator is kept, and an
    // administrator role needs a second factor.
    let (status, body) = local
        .call(
            Method::PUT,
            &path("/roles"),
            &admin,
            Some(json!({"roles": ["root"]})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("roles"))
    );
    let root_id = local.account_id(&admin, "root").await;
    let (status, body) = local
        .call(
            Method::PUT,
            &format!("/admin/users/{root_id}/roles"),
            &admin,
            Some(json!({"roles": []})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
    let (status, body) = local
        .call(
            Method::POST,
            &format!("/admin/users/{root_id}/disable"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
    let (status, body) = local
        .call(
            Method::PUT,
            &path("/roles"),
            &admin,
            Some(json!({"roles": ["admin"]})),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("target_needs_second_factor")),
        "an administrator role needs the account's second factor first"
    );

    // Every action is in the account's history with the administrator's id.
    let (status, account) = local.call(Method::GET, &path(""), &admin, None).await;
    assert_eq!(status, StatusCode::OK);
    let recorded: Vec<(&str, &str)> = account["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event.get("actor").is_some())
        .map(|event| {
            (
                event["type"].as_str().unwrap(),
                event["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            ("logged_out_everywhere", root_id.as_str()),
            ("account_unlocked", root_id.as_str()),
            ("account_enabled", root_id.as_str()),
            ("account_disabled", root_id.as_str()),
        ]
    );
    let owner = local.login("target", PASSWORD).await;
    let history: Value = local
        .get(
            "/users/me/events",
            Some(&format!(
                "Bearer {}",
                owner["access_token"].as_str().unwrap()
            )),
        )
        .await
        .json()
        .await
        .unwrap();
    let disabled_event = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["type"] == "account_disabled")
        .expect("the owner sees it");
    assert_eq!(disabled_event["by_administrator"], true);
    assert!(
        disabled_event.get("actor").is_none(),
        "the owner is not told who"
    );

    // Unknown accounts, the second-factor reset of an account without one, and deletion.
    let (status, body) = local
        .call(
            Method::GET,
            "/admin/users/000000000000000000000000",
            &admin,
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("account_not_found"))
    );
    let (status, body) = local
        .call(Method::DELETE, &path("/mfa"), &admin, None)
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("no_second_factor"))
    );
    let (status, _) = local.call(Method::DELETE, &path(""), &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_ne!(
        local.me_status(&owner["access_token"]).await,
        StatusCode::OK
    );
    let (status, _) = local.call(Method::GET, &path(""), &admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    local.stack.stop().await;
}

#[tokio::test]
async fn an_administrator_without_a_second_factor_in_the_login_is_refused() {
    let local = start().await;
    assert_eq!(
        local.signup("lone", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    let stores = MongoStores::new(&local.database, &UserCollectionSettings::default());
    let refused = change(&stores, &Roles::default(), "lone", "admin", false).await;
    assert!(
        matches!(refused, Err(devtools::roles::RoleError::NoSecondFactor(_))),
        "grant-role gives no administrator role to an account without a second factor"
    );

    // An administrator who turns their own second factor off keeps the role, not the API.
    let (admin, recovery_codes) = local.administrator_with_codes("solo").await;
    let body = json!({"current_password": PASSWORD, "recovery_code": recovery_codes[0]});
    let (status, answer) = local
        .call(
            Method::POST,
            "/users/me/mfa/totp/disable",
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let login = local.login("solo", PASSWORD).await;
    assert_eq!(login["scope"], "clients:admin products:write users:admin");
    let bearer = format!("Bearer {}", login["access_token"].as_str().unwrap());
    let (status, body) = local.call(Method::GET, "/admin/users", &bearer, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("second_factor_required")),
        "the scope alone is not enough"
    );
    local.stack.stop().await;
}

impl Local {
    /// A client-credentials grant with HTTP Basic: status and body.
    async fn client_token(&self, id: &str, secret: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.url))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

#[tokio::test]
async fn a_machine_client_gets_tokens_for_its_scopes_until_it_is_deleted() {
    let local = start().await;
    let admin = local.administrator("operator").await;
    let body = json!({"name": "billing", "scopes": ["products:write"]});
    let (status, created) = local
        .call(Method::POST, "/admin/clients", &admin, Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();

    let (status, issued) = local.client_token(&id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    assert_eq!(issued["scope"], "products:write");
    assert!(issued.get("refresh_token").is_none());
    let client = format!("Bearer {}", issued["access_token"].as_str().unwrap());
    assert_eq!(
        local.get("/products", Some(&client)).await.status(),
        StatusCode::OK
    );
    let product =
        json!({"id": "prod-client", "name": "Cable", "price_cents": 900, "currency": "USD"});
    let (status, _) = local
        .call(Method::POST, "/products", &client, Some(product))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for path in ["/users/me", "/admin/users", "/admin/clients"] {
        let (status, _) = local.call(Method::GET, path, &client, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a client's token on {path}");
    }

    // Wrong secrets from many connections at once: five are answered, then wrong ones are locked.
    let wrong = format!("{}.{}", &secret[..8], "A".repeat(43));
    let guesses =
        futures_util::future::join_all((0..12).map(|_| local.client_token(&id, &wrong))).await;
    let statuses: Vec<u16> = guesses.iter().map(|(status, _)| status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        7,
        "{statuses:?}"
    );
    let (status, _) = local.client_token(&id, &secret).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the right secret still works: the id is public"
    );

    // Rotation: both secrets work until the old one is removed.
    let (status, rotated) = local
        .call(
            Method::POST,
            &format!("/admin/clients/{id}/secrets"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    for current in [&secret, &new_secret] {
        assert_eq!(local.client_token(&id, current).await.0, StatusCode::OK);
    }
    let old_id = &secret[..8];
    let (status, _) = local
        .call(
            Method::DELETE,
            &format!("/admin/clients/{id}/secrets/{old_id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        local.client_token(&id, &secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.get("/products", Some(&client)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a token minted with the removed secret dies with it"
    );
    let (status, fresh) = local.client_token(&id, &new_secret).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = format!("Bearer {}", fresh["access_token"].as_str().unwrap());

    // Deletion: no new token, and the one it has is refused on its next request.
    let (status, _) = local
        .call(
            Method::DELETE,
            &format!("/admin/clients/{id}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        local.client_token(&id, &new_secret).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.get("/products", Some(&fresh)).await.status(),
        StatusCode::FORBIDDEN
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn an_issued_reset_code_is_redeemed_once_and_ends_every_session() {
    let local = start().await;
    let admin = local.administrator("helpdesk").await;
    let user = format!("Bearer {}", local.access_token("forgetful", PASSWORD).await);
    let session = local.login("forgetful", PASSWORD).await;
    let id = local.account_id(&admin, "forgetful").await;
    let (status, issued) = local
        .call(
            Method::POST,
            &format!("/admin/users/{id}/password-reset"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let code = issued["code"].as_str().unwrap().to_owned();

    let new_password = "a brand new passphrase";
    let redemptions = futures_util::future::join_all((0..10).map(|_| {
        let body = json!({"code": code, "new_password": new_password});
        local
            .http
            .post(format!("{}/password-reset/confirm", local.url))
            .json(&body)
            .send()
    }))
    .await;
    let statuses: Vec<u16> = redemptions
        .into_iter()
        .map(|response| response.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 429].contains(s)),
        "{statuses:?}"
    );

    assert_ne!(
        local.get("/users/me", Some(&user)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.refresh(&session["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        local.token("forgetful", PASSWORD).await.status(),
        StatusCode::BAD_REQUEST
    );
    local.login("forgetful", new_password).await;
    let (_, account) = local
        .call(Method::GET, &format!("/admin/users/{id}"), &admin, None)
        .await;
    let kinds: Vec<&str> = account["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"password_reset_issued") && kinds.contains(&"password_reset"),
        "{kinds:?}"
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn a_stale_administrator_login_is_refused_over_http() {
    use super::local_api::access_claims;
    use shared::tokens::{Authentication, TokenIssuer};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let local = start().await;
    let admin = local.administrator("sleepy").await;
    let (status, _) = local.call(Method::GET, "/admin/users", &admin, None).await;
    assert_eq!(status, StatusCode::OK);

    // The same administrator's token, as the token function would sign it for a login an
    // hour ago (a refreshed token keeps its login's auth_time).
    let claims = access_claims(&json!(admin.trim_start_matches("Bearer ")));
    let mut settings = shared::testing::token_settings();
    settings.audience = claims["aud"].as_str().unwrap().to_owned();
    let issuer = TokenIssuer::from_pem(&local.private_pem, settings).unwrap();
    let login = Authentication {
        methods: vec!["pwd".into(), "otp".into(), "mfa".into()],
        at: SystemTime::now() - Duration::from_secs(3600),
        session: None,
        scopes: shared::access::scopes::Scopes::parse(claims["scope"].as_str().unwrap()),
        client: None,
    };
    let stale = issuer
        .issue_from(
            claims["iss"].as_str().unwrap(),
            claims["sub"].as_str().unwrap(),
            claims["ver"].as_u64().unwrap(),
            &login,
            UNIX_EPOCH + Duration::from_secs(claims["iat"].as_u64().unwrap()),
        )
        .unwrap();
    let (status, body) = local
        .call(
            Method::GET,
            "/admin/users",
            &format!("Bearer {}", stale.token),
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (
            StatusCode::FORBIDDEN,
            Some("insufficient_user_authentication")
        ),
        "{body}"
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn two_administrators_disabling_each_other_at_once_leave_one() {
    let local = start().await;
    let mut survivor: Option<(String, String)> = None;
    for round in 0..4 {
        let (a, b) = (format!("first{round}"), format!("second{round}"));
        let bearer_a = local.administrator(&a).await;
        let bearer_b = local.administrator(&b).await;
        let id_a = local.account_id(&bearer_a, &a).await;
        let id_b = local.account_id(&bearer_b, &b).await;
        // Leave exactly these two enabled administrators.
        if let Some((_, previous)) = survivor.take() {
            let (status, body) = local
                .call(
                    Method::POST,
                    &format!("/admin/users/{previous}/disable"),
                    &bearer_a,
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (disable_b, disable_a) = (
            format!("/admin/users/{id_b}/disable"),
            format!("/admin/users/{id_a}/disable"),
        );
        let (first, second) = tokio::join!(
            local.call(Method::POST, &disable_b, &bearer_a, None),
            local.call(Method::POST, &disable_a, &bearer_b, None),
        );
        let outcomes = [first.0, second.0];
        assert!(
            outcomes
                .iter()
                .filter(|status| **status == StatusCode::OK)
                .count()
                <= 1,
            "round {round}: both disabled: {first:?} {second:?}"
        );
        // The loser is refused: by the count, by the lease, or (when the winner's write
        // landed first) because its own token died with its account's disabling.
        for (status, body) in [&first, &second] {
            if *status != StatusCode::OK {
                assert!(
                    [
                        "last_administrator",
                        "administrators_changing",
                        "unauthenticated"
                    ]
                    .contains(&body["error"].as_str().unwrap_or_default()),
                    "round {round}: {body}"
                );
            }
        }
        let enabled_admins = local
            .database
            .collection::<mongodb::bson::Document>("users")
            .count_documents(mongodb::bson::doc! { "roles": "admin", "disabled": { "$ne": true } })
            .await
            .unwrap();
        assert!(enabled_admins >= 1, "round {round}: no administrator left");
        let (status, body) = local
            .call(
                Method::GET,
                &format!("/admin/users/{id_a}"),
                &bearer_a,
                None,
            )
            .await;
        survivor = Some(if status == StatusCode::OK && body["disabled"] == false {
            (a.clone(), id_a.clone())
        } else {
            (b.clone(), id_b.clone())
        });
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn parallel_issues_of_a_reset_code_leave_one_live_code() {
    let local = start().await;
    let admin = local.administrator("issuer").await;
    assert_eq!(
        local.signup("holder", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    let id = local.account_id(&admin, "holder").await;
    let path = format!("/admin/users/{id}/password-reset");
    for round in 0..4 {
        let issues = futures_util::future::join_all(
            (0..8).map(|_| local.call(Method::POST, &path, &admin, None)),
        )
        .await;
        let statuses: Vec<u16> = issues.iter().map(|(status, _)| status.as_u16()).collect();
        assert!(statuses.contains(&201), "round {round}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| [201, 409].contains(s)),
            "round {round}: {statuses:?}"
        );
        let live = local
            .database
            .collection::<mongodb::bson::Document>("email_codes")
            .count_documents(mongodb::bson::doc! { "account": &id, "purpose": "admin_reset" })
            .await
            .unwrap();
        assert_eq!(live, 1, "round {round}: one outstanding code, {statuses:?}");
    }
    local.stack.stop().await;
}
