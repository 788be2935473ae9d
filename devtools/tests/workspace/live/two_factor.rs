//! Two-factor authentication over HTTP through the local API (two instances of every
//! function, the real database): enrolment, the `mfa_required` step and the MFA grant with
//! codes from an independent implementation (`pyotp`, in the Python `PYOTP_PYTHON` names;
//! `make integration` installs it), recovery codes, turning TOTP off, secrets at rest, and
//! the single-use guarantees under parallel requests.

use super::local_api::{Local, access_claims, start};
use futures_util::future::join_all;
use mongodb::bson::{Document, doc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::factors::totp::TotpSecret;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PASSWORD: &str = "correct horse battery staple";
const MFA_GRANT: &str = "urn:lambda-auth:params:oauth:grant-type:mfa";

/// The code pyotp computes for `secret` (base32) `steps` periods from now.
pub(super) fn pyotp_code(secret: &str, steps: i64) -> String {
    let python = std::env::var("PYOTP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "PYOTP_PYTHON is not set: it names a Python with pyotp installed; \
             `make integration` installs it and sets it"
        )
    });
    let script = "import pyotp, sys, time\n\
                  totp = pyotp.TOTP(sys.argv[1])\n\
                  print(totp.at(time.time() + 30 * int(sys.argv[2])))";
    let output = std::process::Command::new(python)
        .args(["-c", script, secret, &steps.to_string()])
        .output()
        .expect("PYOTP_PYTHON runs");
    assert!(
        output.status.success(),
        "pyotp failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Waits until at least `needed` of the current 30-second step remain, so codes computed
/// now stay in the step they were computed for.
async fn with_time_left_in_step(needed: u64) {
    let into_step = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 30;
    if 30 - into_step < needed {
        tokio::time::sleep(Duration::from_secs(30 - into_step)).await;
    }
}

impl Local {
    pub(super) async fn mfa_grant(
        &self,
        mfa_token: &str,
        field: &str,
        code: &str,
    ) -> (StatusCode, Value) {
        self.form(
            "/token",
            &[
                ("grant_type", MFA_GRANT),
                ("mfa_token", mfa_token),
                (field, code),
            ],
        )
        .await
    }

    /// The password step of a two-factor login: the `mfa_token` of `403 mfa_required`.
    pub(super) async fn password_step(&self, username: &str) -> String {
        let response = self.token(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "mfa_required");
        assert!(body.get("access_token").is_none());
        body["mfa_token"].as_str().unwrap().to_owned()
    }

    async fn two_factor(&self, access_token: &Value) -> Value {
        let bearer = format!("Bearer {}", access_token.as_str().unwrap());
        let me: Value = self
            .get("/users/me", Some(&bearer))
            .await
            .json()
            .await
            .unwrap();
        me["two_factor"].clone()
    }

    /// Signs `username` up and turns TOTP on; returns a fresh access token, the secret and
    /// the recovery codes. `confirm_code` computes the confirming code from the secret.
    pub(super) async fn enrolled(
        &self,
        username: &str,
        confirm_code: impl Fn(&str) -> String,
    ) -> (Value, String, Vec<String>) {
        self.access_token(username, PASSWORD).await;
        let access = self.login(username, PASSWORD).await["access_token"].clone();
        let (status, started) = self
            .post_with_token(
                "/users/me/mfa/totp",
                &access,
                Some(json!({ "current_password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let secret = started["secret"].as_str().unwrap().to_owned();
        let (status, confirmed) = self
            .post_with_token(
                "/users/me/mfa/totp/confirm",
                &access,
                Some(json!({ "otp": confirm_code(&secret) })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{confirmed}");
        let codes = confirmed["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|code| code.as_str().unwrap().to_owned())
            .collect();
        (access, secret, codes)
    }

    async fn second_factor_document(&self, username: &str) -> Document {
        let user = self
            .database
            .collection::<Document>("users")
            .find_one(doc! { "username": username })
            .await
            .unwrap()
            .expect("the user");
        let id = user.get_object_id("_id").unwrap().to_hex();
        self.database
            .collection::<Document>("second_factors")
            .find_one(doc! { "_id": id })
            .await
            .unwrap()
            .expect("the second factor")
    }
}

#[tokio::test]
async fn enrol_log_in_with_pyotp_codes_and_a_recovery_code_then_turn_totp_off() {
    let local = start().await;
    with_time_left_in_step(12).await;
    let (access, secret, codes) = local
        .enrolled("alice", |secret| pyotp_code(secret, -1))
        .await;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        local.two_factor(&access).await,
        json!({"enabled": true, "recovery_codes_remaining": 10})
    );

    // At rest: no base32 secret, no raw secret bytes, no recovery code.
    let stored = local.second_factor_document("alice").await;
    let raw = format!("{stored:?}");
    let secret_bytes = TotpSecret::from_base32(&secret).unwrap();
    let raw_hex: String = secret_bytes
        .expose_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    for needle in [secret.as_str(), raw_hex.as_str(), codes[0].as_str()] {
        assert!(!raw.contains(needle), "{needle} stored in clear: {raw}");
    }
    let ciphertext = stored.get_binary_generic("ciphertext").unwrap();
    assert!(
        !ciphertext
            .windows(secret_bytes.expose_bytes().len())
            .any(|window| window == secret_bytes.expose_bytes()),
        "the secret's bytes are not in the ciphertext"
    );

    // A code two steps ahead is refused (and counted); the current one completes the login.
    let mfa_token = local.password_step("alice").await;
    let (status, body) = local
        .mfa_grant(&mfa_token, "otp", &pyotp_code(&secret, 2))
        .await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_grant"))
    );
    let code = pyotp_code(&secret, 0);
    let (status, tokens) = local.mfa_grant(&mfa_token, "otp", &code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let issued = access_claims(&tokens["access_token"]);
    assert_eq!(issued["amr"], json!(["pwd", "otp", "mfa"]));
    assert!(issued["auth_time"].as_u64().unwrap() > 0);
    assert_eq!(
        local.two_factor(&tokens["access_token"]).await["enabled"],
        true,
        "the token works behind the authorizer"
    );
    let (status, _) = local.mfa_grant(&mfa_token, "otp", &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an mfa_token works once");
    let again = local.password_step("alice").await;
    let (status, body) = local.mfa_grant(&again, "otp", &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a code works once: {body}");

    // A recovery code logs in once.
    let (status, _) = local
        .mfa_grant(&again, "recovery_code", &codes[0].to_lowercase())
        .await;
    assert_eq!(status, StatusCode::OK);
    let third = local.password_step("alice").await;
    let (status, _) = local.mfa_grant(&third, "recovery_code", &codes[0]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "spent");
    assert_eq!(
        local.two_factor(&access).await["recovery_codes_remaining"],
        9
    );

    // Turning it off needs a fresh code in the request.
    let fresh = &tokens["access_token"];
    let (status, body) = local
        .post_with_token("/users/me/mfa/totp/disable", fresh, Some(json!({})))
        .await;
    assert_eq!(
        (status, &body["error"]),
        (
            StatusCode::FORBIDDEN,
            &json!("insufficient_user_authentication")
        )
    );
    let (status, body) = local
        .post_with_token(
            "/users/me/mfa/totp/disable",
            fresh,
            Some(json!({ "otp": pyotp_code(&secret, 1) })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        local.two_factor(fresh).await,
        json!({"enabled": false, "recovery_codes_remaining": 0})
    );
    assert_eq!(
        local.token("alice", PASSWORD).await.status(),
        StatusCode::OK
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn one_mfa_token_and_one_recovery_code_each_succeed_once_under_parallel_use() {
    let local = start().await;
    let rust_code = |secret: &str, at: SystemTime| {
        TotpSecret::from_base32(secret)
            .unwrap()
            .code_at(at)
            .unwrap()
    };
    with_time_left_in_step(12).await;
    let past = SystemTime::now() - Duration::from_secs(30);
    let (_, secret, codes) = local
        .enrolled("carol", |secret| rust_code(secret, past))
        .await;

    // Codes of this step and the next: both within the accepted drift.
    for round in 0..2 {
        let mfa_token = local.password_step("carol").await;
        let code = rust_code(&secret, SystemTime::now() + Duration::from_secs(30 * round));
        let grants = (0..10).map(|_| local.mfa_grant(&mfa_token, "otp", &code));
        let answers = join_all(grants).await;
        let won = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK);
        assert_eq!(won.count(), 1, "round {round}: {answers:?}");
        assert!(
            answers
                .iter()
                .all(|(status, _)| *status != StatusCode::INTERNAL_SERVER_ERROR)
        );
    }

    // Ten password steps, then one recovery code on all ten at once: exactly one wins, the
    // others are refused as spent or locked.
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(local.password_step("carol").await);
    }
    let uses = tokens
        .iter()
        .map(|token| local.mfa_grant(token, "recovery_code", &codes[7]));
    let answers = join_all(uses).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(status, _)| *status).collect();
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    let locked = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(won, 1, "{statuses:?}");
    assert_eq!(won + wrong + locked, 10, "{statuses:?}");
    local.stack.stop().await;
}

#[tokio::test]
async fn a_burst_of_wrong_codes_checks_five_then_locks_even_the_right_code() {
    let local = start().await;
    with_time_left_in_step(12).await;
    let past = SystemTime::now() - Duration::from_secs(30);
    let (_, secret, _) = local
        .enrolled("dave", |secret| {
            TotpSecret::from_base32(secret)
                .unwrap()
                .code_at(past)
                .unwrap()
        })
        .await;
    let mfa_token = local.password_step("dave").await;
    let guesses: Vec<String> = (0..16).map(|i| format!("{:06}", 100_000 + i)).collect();
    let answers = join_all(
        guesses
            .iter()
            .map(|guess| local.mfa_grant(&mfa_token, "otp", guess)),
    )
    .await;
    let checked = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::BAD_REQUEST)
        .count();
    let locked = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, locked), (5, 11), "{answers:?}");
    let code = TotpSecret::from_base32(&secret)
        .unwrap()
        .code_at(SystemTime::now())
        .unwrap();
    let (status, body) = local.mfa_grant(&mfa_token, "otp", &code).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    local.stack.stop().await;
}
