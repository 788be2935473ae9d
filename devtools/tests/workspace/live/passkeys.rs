//! Passkeys over HTTP through the local API (two instances of every function, the real
//! database) with a software authenticator: registration, sign-in without a password, the
//! passkey as a second factor, and every refusal an attacker could try (replays, another
//! origin, a cloned authenticator, an expired challenge, a deleted passkey), the single-use
//! challenge under parallel requests included.

use super::local_api::{Local, access_claims, start};
use super::openid_connect::{Browser, form_marked, form_of};
use super::two_factor::pyotp_code;
use futures_util::future::join_all;
use mongodb::bson::{DateTime, Document, doc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::testing::soft_passkey::SoftAuthenticator;

const PASSWORD: &str = "correct horse battery staple";
const PASSKEY_GRANT: &str = "urn:lambda-auth:params:oauth:grant-type:passkey";
const MFA_GRANT: &str = "urn:lambda-auth:params:oauth:grant-type:mfa";

impl Local {
    /// The origin browsers see the local API at: `localhost`, the relying party `make dev`
    /// configures.
    fn browser_origin(&self) -> String {
        format!("http://localhost:{}", self.stack.address.port())
    }

    /// A signed-in user's fresh access token.
    async fn signed_in(&self, username: &str) -> Value {
        self.access_token(username, PASSWORD).await;
        self.login(username, PASSWORD).await["access_token"].clone()
    }

    /// Registers the authenticator's passkey to the caller; `extra` goes with the current
    /// password in the options request (a second-factor code).
    async fn register_passkey(
        &self,
        access: &Value,
        authenticator: &mut SoftAuthenticator,
        mut extra: Value,
    ) -> Value {
        extra["current_password"] = PASSWORD.into();
        let (status, options) = self.registration_options(access, extra).await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = authenticator.register(&options).await.unwrap();
        let (status, passkey) = self
            .post_with_token(
                "/users/me/passkeys",
                access,
                Some(json!({ "name": "Test key", "credential": credential })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{passkey}");
        passkey
    }

    /// `POST /users/me/passkeys/registration-options` with `body`.
    async fn registration_options(&self, access: &Value, body: Value) -> (StatusCode, Value) {
        self.post_with_token(
            "/users/me/passkeys/registration-options",
            access,
            Some(body),
        )
        .await
    }

    /// The MFA grant completing the login `mfa_token` with a passkey assertion.
    async fn passkey_second_factor(
        &self,
        mfa_token: &str,
        credential: &Value,
    ) -> (StatusCode, Value) {
        self.form(
            "/token",
            &[
                ("grant_type", MFA_GRANT),
                ("mfa_token", mfa_token),
                ("passkey", &credential.to_string()),
            ],
        )
        .await
    }

    /// Sign-in options, as a page with no user signed in asks for them.
    async fn sign_in_options(&self, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/passkeys/authentication-options", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn passkey_grant(&self, credential: &Value) -> (StatusCode, Value) {
        self.form(
            "/token",
            &[
                ("grant_type", PASSKEY_GRANT),
                ("credential", &credential.to_string()),
            ],
        )
        .await
    }

    /// A fresh sign-in challenge answered by `authenticator`.
    async fn assertion(&self, authenticator: &mut SoftAuthenticator) -> Value {
        let options = self.sign_in_options(json!({})).await;
        authenticator.authenticate(&options).await.unwrap()
    }

    async fn event_types(&self, access: &Value) -> Vec<String> {
        let bearer = format!("Bearer {}", access.as_str().unwrap());
        let events: Value = self
            .get("/users/me/events?limit=100", Some(&bearer))
            .await
            .json()
            .await
            .unwrap();
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn assert_refused(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn a_passkey_registers_signs_in_without_a_password_and_is_refused_once_deleted() {
    let local = start().await;
    let access = local.signed_in("pia").await;
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());
    let passkey = local
        .register_passkey(&access, &mut authenticator, json!({}))
        .await;
    assert_eq!(passkey["name"], "Test key");
    assert!(passkey.get("public_key").is_none(), "{passkey}");

    let bearer = format!("Bearer {}", access.as_str().unwrap());
    let listed: Value = local
        .get("/users/me/passkeys", Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["passkeys"][0]["id"], passkey["id"], "{listed}");
    assert_eq!(listed["passkeys"][0]["last_used_at"], Value::Null);

    let credential = local.assertion(&mut authenticator).await;
    let (status, tokens) = local.passkey_grant(&credential).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = access_claims(&tokens["access_token"]);
    assert_eq!(claims["amr"], json!(["hwk", "user", "mfa"]), "{claims}");
    assert_eq!(
        local.me_status(&tokens["access_token"]).await,
        StatusCode::OK
    );
    let (status, refreshed) = local.refresh(&tokens["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");

    let (status, replayed) = local.passkey_grant(&credential).await;
    assert_refused(status, &replayed);

    let listed: Value = local
        .get("/users/me/passkeys", Some(&bearer))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed["passkeys"][0]["last_used_at"].is_string(),
        "{listed}"
    );
    let events = local.event_types(&access).await;
    assert!(events.contains(&"passkey_added".to_owned()), "{events:?}");

    let id = passkey["id"].as_str().unwrap();
    let response = local
        .http
        .delete(format!("{}/users/me/passkeys/{id}", local.url))
        .bearer_auth(access.as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let credential = local.assertion(&mut authenticator).await;
    let (status, body) = local.passkey_grant(&credential).await;
    assert_refused(status, &body);
}

#[tokio::test]
async fn another_origin_a_cloned_authenticator_and_an_expired_challenge_are_refused() {
    let local = start().await;
    let access = local.signed_in("quinn").await;
    let origin = local.browser_origin();
    let mut authenticator = SoftAuthenticator::new(&origin);
    local
        .register_passkey(&access, &mut authenticator, json!({}))
        .await;

    authenticator.set_origin("http://localhost:1");
    let credential = local.assertion(&mut authenticator).await;
    let (status, body) = local.passkey_grant(&credential).await;
    assert_refused(status, &body);
    authenticator.set_origin(&origin);

    let clone = authenticator.credential();
    let credential = local.assertion(&mut authenticator).await;
    let (status, body) = local.passkey_grant(&credential).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    authenticator.restore(clone);
    let credential = local.assertion(&mut authenticator).await;
    let (status, body) = local.passkey_grant(&credential).await;
    assert_refused(status, &body);
    let events = local.event_types(&access).await;
    assert!(
        events.contains(&"passkey_counter_regressed".to_owned()),
        "{events:?}"
    );

    let credential = local.assertion(&mut authenticator).await;
    let past = DateTime::from_millis(DateTime::now().timestamp_millis() - 1000);
    local
        .database
        .collection::<Document>("passkey_ceremonies")
        .update_many(doc! {}, doc! { "$set": { "expires_at": past } })
        .await
        .unwrap();
    let (status, body) = local.passkey_grant(&credential).await;
    assert_refused(status, &body);
}

/// Twelve parallel grants with one assertion, in rounds: exactly one signs in each time (the
/// others find its challenge consumed, which counts toward no lock).
#[tokio::test]
async fn of_twelve_parallel_grants_with_one_assertion_one_signs_in_every_round() {
    let local = start().await;
    let access = local.signed_in("rosa").await;
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());
    local
        .register_passkey(&access, &mut authenticator, json!({}))
        .await;
    for round in 0..4 {
        let credential = local.assertion(&mut authenticator).await;
        let grants = (0..12).map(|_| local.passkey_grant(&credential));
        let answers = join_all(grants).await;
        let signed_in = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .count();
        assert_eq!(signed_in, 1, "round {round}: {answers:?}");
        for (status, body) in answers
            .iter()
            .filter(|(status, _)| *status != StatusCode::OK)
        {
            assert_refused(*status, body);
        }
    }
}

#[tokio::test]
async fn a_registration_answer_counts_once_and_only_for_the_account_that_asked() {
    let local = start().await;
    let sara = local.signed_in("sara").await;
    let tom = local.signed_in("tom").await;
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());
    let (status, options) = local
        .registration_options(&sara, json!({ "current_password": PASSWORD }))
        .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let credential = authenticator.register(&options).await.unwrap();
    let body = json!({ "name": "Key", "credential": credential });
    let (status, refused) = local
        .post_with_token("/users/me/passkeys", &tom, Some(body.clone()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_passkey");

    let (status, options) = local
        .registration_options(&sara, json!({ "current_password": PASSWORD }))
        .await;
    assert_eq!(status, StatusCode::OK);
    let credential = authenticator.register(&options).await.unwrap();
    let body = json!({ "name": "Key", "credential": credential });
    let attempts =
        (0..8).map(|_| local.post_with_token("/users/me/passkeys", &sara, Some(body.clone())));
    let answers = join_all(attempts).await;
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    let stored = local
        .database
        .collection::<Document>("passkeys")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(stored, 1);
}

#[tokio::test]
async fn a_passkey_completes_a_password_login_as_its_second_factor() {
    let local = start().await;
    let (access, secret, _) = local.enrolled("uma", |secret| pyotp_code(secret, 0)).await;
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());

    let (status, refused) = local
        .registration_options(&access, json!({ "current_password": PASSWORD }))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no code with TOTP on: {refused}"
    );
    assert_eq!(refused["error"], "insufficient_user_authentication");
    let (status, refused) = local
        .registration_options(
            &access,
            json!({ "current_password": "not the password", "otp": pyotp_code(&secret, 0) }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"], "wrong_password");
    local
        .register_passkey(
            &access,
            &mut authenticator,
            json!({ "otp": pyotp_code(&secret, 1) }),
        )
        .await;

    let mfa_token = local.password_step("uma").await;
    let other_login = local.password_step("uma").await;
    let options = local
        .sign_in_options(json!({ "mfa_token": mfa_token }))
        .await;
    let credential = authenticator.authenticate(&options).await.unwrap();
    let (status, body) = local.passkey_second_factor(&other_login, &credential).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "another login's challenge: {body}"
    );
    assert_eq!(body["error"], "invalid_grant");

    let options = local
        .sign_in_options(json!({ "mfa_token": mfa_token }))
        .await;
    let credential = authenticator.authenticate(&options).await.unwrap();
    let (status, tokens) = local.passkey_second_factor(&mfa_token, &credential).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let claims = access_claims(&tokens["access_token"]);
    assert_eq!(claims["amr"], json!(["pwd", "hwk", "mfa"]), "{claims}");
}

/// Six registrations, each with its own challenge and authenticator, finish in parallel for
/// an account one passkey short of the limit: exactly one is stored.
#[tokio::test]
async fn parallel_registrations_never_exceed_the_limit_of_twenty() {
    let local = start().await;
    let access = local.signed_in("vera").await;
    let account = access_claims(&access)["sub"].as_str().unwrap().to_owned();
    let placeholders: Vec<Document> = (0..19)
        .map(|n| {
            doc! {
                "_id": format!("placeholder-{n}"),
                "account": &account,
                "name": format!("key {n}"),
                "transports": [],
                "public_key": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: vec![1; 40] },
                "state": mongodb::bson::Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: vec![0; 7] },
                "sign_count": 0_i64,
                "backup_eligible": false,
                "created_at": DateTime::now(),
            }
        })
        .collect();
    let passkeys = local.database.collection::<Document>("passkeys");
    passkeys.insert_many(placeholders).await.unwrap();

    let origin = local.browser_origin();
    let mut answers = Vec::new();
    for _ in 0..6 {
        let mut authenticator = SoftAuthenticator::new(&origin);
        let (status, options) = local
            .registration_options(&access, json!({ "current_password": PASSWORD }))
            .await;
        assert_eq!(status, StatusCode::OK, "{options}");
        let credential = authenticator.register(&options).await.unwrap();
        answers.push(json!({ "name": "one more", "credential": credential }));
    }
    let registrations = answers
        .into_iter()
        .map(|body| local.post_with_token("/users/me/passkeys", &access, Some(body)));
    let outcomes = join_all(registrations).await;
    let created = outcomes
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    assert!(created <= 1, "{outcomes:?}");
    for (status, body) in outcomes
        .iter()
        .filter(|(status, _)| *status != StatusCode::CREATED)
    {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
    }
    let stored = passkeys
        .count_documents(doc! { "account": &account })
        .await
        .unwrap();
    assert_eq!(stored, 19 + created as u64);
    assert!(stored <= 20);
}

/// Signs in on the hosted pages with the demo client and exchanges the code: the id_token's
/// claims. `step` answers the page `/authorize` shows and returns the redirect.
async fn hosted_sign_in<F, Fut>(local: &Local, state: &str, step: F) -> Value
where
    F: FnOnce(Browser, String) -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let verifier = format!("a-verifier-of-at-least-forty-three-characters-{state}");
    let redirect_uri = "http://127.0.0.1:9/callback";
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", devtools::stack::DEMO_CLIENT_ID),
        ("redirect_uri", redirect_uri),
        ("scope", "openid"),
        ("state", state),
        ("nonce", "a-nonce"),
        (
            "code_challenge",
            &shared::authorization::pkce::s256(&verifier),
        ),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let mut browser = Browser::new();
    let (status, page, _) = browser
        .get(&format!("{}/authorize?{query}", local.url))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let location = step(browser, page).await.expect("a redirect to the client");
    let location = openidconnect::url::Url::parse(&location).unwrap();
    let answer: std::collections::BTreeMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(answer["state"], state);
    let (status, tokens) = local
        .form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &answer["code"]),
                ("redirect_uri", redirect_uri),
                ("code_verifier", &verifier),
                ("client_id", devtools::stack::DEMO_CLIENT_ID),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    access_claims(&tokens["id_token"])
}

#[tokio::test]
async fn the_hosted_pages_sign_in_with_a_passkey_alone_once_per_challenge() {
    let local = start().await;
    let access = local.signed_in("vera").await;
    let me = access_claims(&access)["sub"].clone();
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());
    local
        .register_passkey(&access, &mut authenticator, json!({}))
        .await;
    let options = local.sign_in_options(json!({})).await;
    let credential = authenticator.authenticate(&options).await.unwrap();
    let url = local.url.clone();
    let id_token = hosted_sign_in(&local, "passkey-alone", |mut browser, page| async move {
        let (action, mut fields) = form_marked(&page, "data-passkey-options");
        assert_eq!(action, "/login/passkey");
        fields.retain(|(name, _)| name != "passkey");
        fields.push(("passkey".to_owned(), credential.to_string()));
        let (status, body, location) = browser.post(&format!("{url}{action}"), &fields).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let (status, body, again) = browser.post(&format!("{url}{action}"), &fields).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "the answer is spent: {body}"
        );
        assert!(again.is_none());
        location
    })
    .await;
    assert_eq!(id_token["sub"], me);
    assert_eq!(id_token["amr"], json!(["hwk", "user", "mfa"]), "{id_token}");
}

#[tokio::test]
async fn the_hosted_second_factor_page_takes_a_passkey_for_the_login_it_began() {
    let local = start().await;
    let (access, secret, _) = local.enrolled("wren", |secret| pyotp_code(secret, 0)).await;
    let mut authenticator = SoftAuthenticator::new(&local.browser_origin());
    local
        .register_passkey(
            &access,
            &mut authenticator,
            json!({ "otp": pyotp_code(&secret, 1) }),
        )
        .await;
    let url = local.url.clone();
    let local_ref = &local;
    let id_token = hosted_sign_in(&local, "password-and-passkey", |mut browser, page| {
        let authenticator = &mut authenticator;
        async move {
            let (action, mut fields) = form_of(&page);
            fields.push(("username".to_owned(), "wren".to_owned()));
            fields.push(("password".to_owned(), PASSWORD.to_owned()));
            let (status, page, _) = browser.post(&format!("{url}{action}"), &fields).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let (action, mut fields) = form_marked(&page, "data-passkey-options");
            assert_eq!(action, "/login/second-factor");
            let mfa_token = fields
                .iter()
                .find(|(name, _)| name == "mfa_token")
                .map(|(_, value)| value.clone())
                .unwrap();
            let options = local_ref
                .sign_in_options(json!({ "mfa_token": mfa_token }))
                .await;
            let credential = authenticator.authenticate(&options).await.unwrap();
            fields.retain(|(name, _)| name != "passkey");
            fields.push(("passkey".to_owned(), credential.to_string()));
            let (status, body, location) = browser.post(&format!("{url}{action}"), &fields).await;
            assert_eq!(status, StatusCode::FOUND, "{body}");
            location
        }
    })
    .await;
    assert_eq!(id_token["amr"], json!(["pwd", "hwk", "mfa"]), "{id_token}");
}
