//! No way back in after the owner acts, over HTTP against two instances of each function: an
//! intruder who knew the password and started something (an address change, a passkey
//! registration) before the owner reset the password, changed it or signed out everywhere
//! finds it dead afterwards, whether it finished before the owner acted or raced it.
//! Each round uses its own account and its own source address, so the mail and redemption
//! limits never decide an outcome.

use super::local_api::{Local, start};
use devtools::outbox::{OutboxMail, messages};
use futures_util::future::join_all;
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::testing::soft_passkey::SoftAuthenticator;
use std::net::{IpAddr, Ipv4Addr};

const PASSWORD: &str = "correct horse battery staple";
const OWNERS_NEW: &str = "the owner's own new passphrase";
const INTRUDERS: &str = "an intruder's chosen passphrase";
/// Passkey registrations an intruder sends per round, [`STAGGER_MS`] apart: together they
/// span the time a reset takes (its argon2id hash, then its writes).
const REGISTRATIONS_PER_ROUND: u64 = 16;
const STAGGER_MS: u64 = 5;

/// One round's view of the API: its own source address `127.0.0.<n>`.
struct Round<'a> {
    local: &'a Local,
    http: reqwest::Client,
    username: String,
    owner_address: String,
    intruder_address: String,
}

impl<'a> Round<'a> {
    fn new(local: &'a Local, name: &str, n: u8) -> Self {
        let http = reqwest::Client::builder()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
            .build()
            .unwrap();
        Self {
            local,
            http,
            username: format!("{name}{n}"),
            owner_address: format!("{name}{n}@owner.example"),
            intruder_address: format!("{name}{n}@intruder.example"),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.local.url))
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, None, body).await
    }

    async fn login(&self, password: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "password"),
            ("username", self.username.as_str()),
            ("password", password),
        ];
        let response = self
            .http
            .post(format!("{}/token", self.local.url))
            .form(&form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn access_token(&self, password: &str) -> String {
        let (status, body) = self.login(password).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn mail_to(&self, address: &str) -> Vec<OutboxMail> {
        messages(&self.local.outbox)
            .into_iter()
            .filter(|mail| mail.to.eq_ignore_ascii_case(address))
            .collect()
    }

    fn last_code_to(&self, address: &str, subject: &str) -> Option<String> {
        self.mail_to(address)
            .into_iter()
            .rev()
            .find(|mail| mail.subject == subject)
            .and_then(|mail| mail.code().map(str::to_owned))
    }

    /// The account, signed up with the owner's address and verified.
    async fn owner_with_verified_address(&self) {
        let body = json!({
            "username": self.username,
            "password": PASSWORD,
            "email": self.owner_address,
        });
        let (status, answer) = self.post("/signup", body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let code = self
            .last_code_to(&self.owner_address, "Verify your email address")
            .expect("a verification code");
        let (status, answer) = self.post("/email/verify", json!({ "code": code })).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// A reset code mailed to the owner's address.
    async fn owners_reset_code(&self) -> String {
        let (status, _) = self
            .post("/password-reset", json!({ "username": self.username }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        self.last_code_to(&self.owner_address, "Reset your password")
            .expect("a reset code to the owner")
    }

    /// The intruder, signed in with the password, asks to move the address to theirs.
    async fn intruder_asks_for_their_address(&self, intruder_token: &str) -> StatusCode {
        let body = json!({ "email": self.intruder_address, "current_password": PASSWORD });
        self.send(
            reqwest::Method::PUT,
            "/users/me/email",
            Some(intruder_token),
            body,
        )
        .await
        .0
    }

    /// What the intruder tries afterwards, with no session: the kept code, then a reset to
    /// their address, then a login with the password they set. Asserts that every step fails
    /// and that the owner's own password still signs in.
    async fn assert_intruder_stays_out(&self, kept_code: Option<&str>, owners_password: &str) {
        if let Some(code) = kept_code {
            let (status, answer) = self.post("/email/verify", json!({ "code": code })).await;
            assert_eq!(
                (status, answer["error"].as_str()),
                (StatusCode::BAD_REQUEST, Some("invalid_code")),
                "the code kept from before the owner acted is refused: {answer}"
            );
        }
        let resets_before = self.mail_to(&self.intruder_address).len();
        let (status, _) = self
            .post("/password-reset", json!({ "email": self.intruder_address }))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(
            self.mail_to(&self.intruder_address).len(),
            resets_before,
            "no reset code goes to the intruder's address"
        );
        let (status, _) = self.login(INTRUDERS).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let token = self.access_token(owners_password).await;
        let (status, me) = self
            .send(reqwest::Method::GET, "/users/me", Some(&token), Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            me["email"],
            json!({ "address": self.owner_address, "verified": true, "pending_address": null }),
            "the owner's address stands and nothing waits"
        );
    }
}

/// What the owner does on noticing the intruder.
#[derive(Debug, Clone, Copy)]
enum OwnerAction {
    ResetByEmail,
    ChangePassword,
    LogoutEverywhere,
}

impl OwnerAction {
    /// Does it; answers the password that signs in afterwards.
    async fn run(self, round: &Round<'_>) -> &'static str {
        match self {
            Self::ResetByEmail => {
                let code = round.owners_reset_code().await;
                let body = json!({ "code": code, "new_password": OWNERS_NEW });
                let (status, answer) = round.post("/password-reset/confirm", body).await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                OWNERS_NEW
            }
            Self::ChangePassword => {
                let token = round.access_token(PASSWORD).await;
                let body = json!({ "current_password": PASSWORD, "new_password": OWNERS_NEW });
                let (status, answer) = round
                    .send(
                        reqwest::Method::POST,
                        "/users/me/password",
                        Some(&token),
                        body,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                OWNERS_NEW
            }
            Self::LogoutEverywhere => {
                let token = round.access_token(PASSWORD).await;
                let (status, answer) = round
                    .send(
                        reqwest::Method::POST,
                        "/users/me/logout",
                        Some(&token),
                        Value::Null,
                    )
                    .await;
                assert_eq!(status, StatusCode::OK, "{answer}");
                PASSWORD
            }
        }
    }
}

#[tokio::test]
async fn an_address_change_asked_for_before_the_owner_acts_dies_with_the_old_credentials() {
    let local = start().await;
    let actions = [
        OwnerAction::ResetByEmail,
        OwnerAction::ChangePassword,
        OwnerAction::LogoutEverywhere,
    ];
    for (n, action) in (10..).zip(actions) {
        let round = Round::new(&local, "kept", n);
        round.owner_with_verified_address().await;
        let intruder = round.access_token(PASSWORD).await;
        assert_eq!(
            round.intruder_asks_for_their_address(&intruder).await,
            StatusCode::ACCEPTED
        );
        let kept = round
            .last_code_to(&round.intruder_address, "Verify your email address")
            .expect("the intruder's verification code");
        let owners_password = action.run(&round).await;
        if matches!(action, OwnerAction::LogoutEverywhere) {
            // The password stayed the intruder's to know: what matters is that the address
            // change died, so resets keep going to the owner.
            let (status, answer) = round.post("/email/verify", json!({ "code": kept })).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{action:?}: {answer}");
            continue;
        }
        round
            .assert_intruder_stays_out(Some(&kept), owners_password)
            .await;
    }
}

#[tokio::test]
async fn an_address_change_racing_the_owners_reset_never_lands_in_rounds() {
    let local = start().await;
    for n in 40..48 {
        let round = Round::new(&local, "race", n);
        round.owner_with_verified_address().await;
        let intruder = round.access_token(PASSWORD).await;
        let reset_code = round.owners_reset_code().await;
        let reset = round.post(
            "/password-reset/confirm",
            json!({ "code": reset_code, "new_password": OWNERS_NEW }),
        );
        let change = round.intruder_asks_for_their_address(&intruder);
        let ((reset_status, answer), change_status) = tokio::join!(reset, change);
        assert_eq!(reset_status, StatusCode::OK, "round {n}: {answer}");
        assert!(
            [StatusCode::ACCEPTED, StatusCode::UNAUTHORIZED].contains(&change_status),
            "round {n}: {change_status}"
        );
        let kept = round.last_code_to(&round.intruder_address, "Verify your email address");
        round
            .assert_intruder_stays_out(kept.as_deref(), OWNERS_NEW)
            .await;
    }
}

#[tokio::test]
async fn a_passkey_registration_racing_the_owners_reset_leaves_no_passkey_in_rounds() {
    let local = start().await;
    let origin = format!("http://localhost:{}", local.stack.address.port());
    let passkeys = local.database.collection::<Document>("passkeys");
    for n in 60..68 {
        let round = Round::new(&local, "keys", n);
        round.owner_with_verified_address().await;
        let intruder = round.access_token(PASSWORD).await;
        let account = super::local_api::access_claims(&Value::from(intruder.clone()))["sub"]
            .as_str()
            .unwrap()
            .to_owned();
        // Registrations in flight: answered by the authenticator, not yet sent. They go out
        // a few milliseconds apart, so some land while the reset is between its writes.
        let mut answers = Vec::new();
        let mut authenticators = Vec::new();
        for _ in 0..REGISTRATIONS_PER_ROUND {
            let mut authenticator = SoftAuthenticator::new(&origin);
            let (status, options) = round
                .send(
                    reqwest::Method::POST,
                    "/users/me/passkeys/registration-options",
                    Some(&intruder),
                    json!({ "current_password": PASSWORD }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{options}");
            let credential = authenticator.register(&options).await.unwrap();
            answers.push(json!({ "name": "mine now", "credential": credential }));
            authenticators.push(authenticator);
        }
        let reset_code = round.owners_reset_code().await;
        let registrations = answers.into_iter().zip(0_u64..).map(|(body, i)| {
            let round = &round;
            let intruder = &intruder;
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(STAGGER_MS * i)).await;
                round
                    .send(
                        reqwest::Method::POST,
                        "/users/me/passkeys",
                        Some(intruder),
                        body,
                    )
                    .await
            }
        });
        let reset = round.post(
            "/password-reset/confirm",
            json!({ "code": reset_code, "new_password": OWNERS_NEW }),
        );
        let (registered, (reset_status, answer)) = tokio::join!(join_all(registrations), reset);
        assert_eq!(reset_status, StatusCode::OK, "round {n}: {answer}");
        for (status, body) in &registered {
            assert!(
                [
                    StatusCode::CREATED,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::BAD_REQUEST,
                    StatusCode::CONFLICT
                ]
                .contains(status),
                "round {n}: {status} {body}"
            );
        }
        let left = passkeys
            .count_documents(doc! { "account": &account })
            .await
            .unwrap();
        assert_eq!(left, 0, "round {n}: {registered:?}");
        for authenticator in &mut authenticators {
            let (status, options) = round
                .post("/passkeys/authentication-options", json!({}))
                .await;
            assert_eq!(status, StatusCode::OK);
            let credential = authenticator.authenticate(&options).await.unwrap();
            let form = [
                (
                    "grant_type",
                    "urn:lambda-auth:params:oauth:grant-type:passkey",
                ),
                ("credential", &credential.to_string()),
            ];
            let response = round
                .http
                .post(format!("{}/token", local.url))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "round {n}: the intruder's authenticator signs in to nothing"
            );
        }
    }
}
