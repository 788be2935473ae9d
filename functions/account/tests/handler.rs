//! The account handler (password change, logout-everywhere, TOTP enrolment and recovery
//! codes) on its sample events, with in-memory stores and a manual clock standing one minute
//! after the sample access token's login (`auth_time`).

use account::State;
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::factors::second_factors::SecondFactorStore as _;
use shared::factors::totp::TotpSecret;
use shared::identity::credentials::{Password, Username};
use shared::identity::users::UserStore as _;
use shared::sessions::{Session, SessionStore as _};
use shared::testing::{
    ManualClock, MemorySessionStore, MemoryStores, MemoryUserStore, event_json, request_from,
    response_json, seeded_account_id,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `auth_time` of the sample events' access tokens.
const SAMPLE_LOGIN: u64 = 1_795_926_600;

const CURRENT: &str = "correct horse battery staple";
const NEW: &str = "a new and better passphrase";

struct Setup {
    state: State<MemoryStores>,
    time: ManualClock,
    refresh_secret: String,
    outbox: shared::testing::RecordingMailer,
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let hash = hasher
        .hash(&Password::parse(CURRENT).unwrap())
        .await
        .unwrap();
    let users = MemoryUserStore::with_user("alice", &hash, SystemTime::now());
    let refresh_tokens = MemorySessionStore::default();
    let token = shared::sessions::generate().unwrap();
    let (now, hour) = (SystemTime::now(), Duration::from_secs(3600));
    let session = Session::new(&seeded_account_id("alice"), 0, now, hour);
    refresh_tokens
        .start(&session, &token.hash, now, hour)
        .await
        .unwrap();
    let time = ManualClock::at(UNIX_EPOCH + Duration::from_secs(SAMPLE_LOGIN + 60));
    let outbox = shared::testing::RecordingMailer::default();
    Setup {
        state: State {
            stores: MemoryStores {
                users,
                sessions: refresh_tokens,
                ..MemoryStores::default()
            },
            hasher,
            mfa: shared::testing::mfa_settings(),
            clock: time.clock(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            mailer: shared::mail::sender::Mailer::Recording(outbox.clone()),
            mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::new(
                "localhost",
                &["http://localhost:3000"],
            ),
            roles: shared::access::roles::Roles::default(),
            breached: shared::factors::breached_passwords::BreachedPasswords::off(),
            hooks: shared::hooks::Hooks::none(),
        },
        time,
        refresh_secret: secrecy::ExposeSecret::expose_secret(&token.secret).to_owned(),
        outbox,
    }
}

fn password_event(body: Value) -> Value {
    shared::testing::event_with_json("account.json", &body)
}

async fn call(setup: &Setup, event: &Value) -> (u16, Value, Option<String>) {
    let response = account::handle(&setup.state, request_from(event)).await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (
        response.status().as_u16(),
        response_json(&response),
        retry_after,
    )
}

async fn stored_hash(setup: &Setup) -> String {
    let alice = Username::parse("alice").unwrap();
    setup
        .state
        .stores
        .users
        .find(&alice)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

async fn token_version(setup: &Setup) -> u64 {
    let alice = Username::parse("alice").unwrap();
    setup
        .state
        .stores
        .users
        .find(&alice)
        .await
        .unwrap()
        .unwrap()
        .token_version
}

#[tokio::test]
async fn the_sample_event_changes_the_password_and_revokes_every_token() {
    let setup = setup().await;
    let (status, body, _) = call(&setup, &event_json("account.json")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("password changed")
    );

    let hash = stored_hash(&setup).await;
    let hasher = &setup.state.hasher;
    assert!(
        hasher
            .verify(&Password::presented(NEW), &hash)
            .await
            .unwrap()
    );
    assert!(
        !hasher
            .verify(&Password::presented(CURRENT), &hash)
            .await
            .unwrap()
    );
    assert_eq!(
        token_version(&setup).await,
        1,
        "older access tokens are refused"
    );
    assert!(
        !setup
            .state
            .stores
            .sessions
            .is_current(&setup.refresh_secret),
        "the session is revoked"
    );

    let (status, _, _) = call(&setup, &event_json("account.json")).await;
    assert_eq!(
        status, 401,
        "the access token used for the change is now too old"
    );
}

#[tokio::test]
async fn logout_everywhere_bumps_the_token_version_and_revokes_refresh_tokens() {
    let setup = setup().await;
    let (status, body, _) = call(&setup, &event_json("account-logout.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(token_version(&setup).await, 1);
    assert!(
        !setup
            .state
            .stores
            .sessions
            .is_current(&setup.refresh_secret),
        "the session is revoked"
    );

    let (status, body, _) = call(&setup, &event_json("account-logout.json")).await;
    assert_eq!(status, 401, "the same token cannot log out again");
    assert_eq!(body["error"], "unauthenticated");

    let mut newer = event_json("account-logout.json");
    newer["requestContext"]["authorizer"]["ver"] = "1".into();
    assert_eq!(
        call(&setup, &newer).await.0,
        200,
        "a token of the new version works"
    );
}

#[tokio::test]
async fn a_wrong_current_password_is_403_and_counts_toward_the_lockout() {
    let setup = setup().await;
    let wrong = password_event(json!({"current_password": "not it at all", "new_password": NEW}));
    for attempt in 1..=5 {
        let (status, body, _) = call(&setup, &wrong).await;
        assert_eq!(status, 403, "attempt {attempt}");
        assert_eq!(body["error"], "wrong_password");
    }
    let (status, body, retry_after) = call(&setup, &event_json("account.json")).await;
    assert_eq!(status, 429, "even the right current password waits: {body}");
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(token_version(&setup).await, 0, "nothing changed");

    setup.time.advance(Duration::from_secs(1));
    assert_eq!(call(&setup, &event_json("account.json")).await.0, 200);
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0,
        "reset"
    );
}

#[tokio::test]
async fn refusals_are_documented_4xx_and_change_nothing() {
    let setup = setup().await;
    let before = stored_hash(&setup).await;
    let mut form = event_json("account.json");
    form["headers"]["Content-Type"] = "application/x-www-form-urlencoded".into();
    form["multiValueHeaders"]["Content-Type"] = json!(["application/x-www-form-urlencoded"]);
    let mut anonymous = event_json("account.json");
    anonymous["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let cases = [
        (
            "common",
            password_event(json!({"current_password": CURRENT, "new_password": "iloveyou1"})),
            422,
            "validation_failed",
        ),
        (
            "the username",
            password_event(json!({"current_password": CURRENT, "new_password": "ALICE"})),
            422,
            "validation_failed",
        ),
        (
            "too short",
            password_event(json!({"current_password": CURRENT, "new_password": "short"})),
            422,
            "validation_failed",
        ),
        (
            "missing new",
            password_event(json!({"current_password": CURRENT})),
            422,
            "validation_failed",
        ),
        (
            "operator",
            password_event(json!({"current_password": {"$ne": null}, "new_password": NEW})),
            422,
            "validation_failed",
        ),
        (
            "not JSON",
            {
                let mut e = event_json("account.json");
                e["body"] = "{".into();
                e
            },
            400,
            "malformed_body",
        ),
        ("form body", form, 415, "unsupported_media_type"),
        ("no principal", anonymous, 401, "unauthenticated"),
    ];
    for (name, event, status, error) in cases {
        let (got, body, _) = call(&setup, &event).await;
        assert_eq!(got, status, "{name}: {body}");
        assert_eq!(body["error"], error, "{name}");
        if status == 422 && name != "operator" && name != "missing new" {
            assert_eq!(body["field"], "new_password", "{name}");
        }
        assert_eq!(stored_hash(&setup).await, before, "{name} changed nothing");
        assert_eq!(token_version(&setup).await, 0, "{name}");
    }
}

#[tokio::test]
async fn a_route_this_function_does_not_serve_is_404_and_changes_nothing() {
    let setup = setup().await;
    for (method, resource) in [
        ("POST", "/users/me/sessions"),
        ("GET", "/users/me/logout"),
        ("GET", "/users/me/password"),
    ] {
        let event = shared::testing::event_for_route("account-logout.json", method, resource);
        let (status, body, _) = call(&setup, &event).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));
    }
    assert_eq!(token_version(&setup).await, 0, "nobody was signed out");
    assert!(
        setup
            .state
            .stores
            .sessions
            .is_current(&setup.refresh_secret),
        "the session is still active"
    );
}

#[tokio::test]
async fn a_current_password_longer_than_any_login_checks_is_wrong_and_counted_unhashed() {
    let setup = setup().await;
    let before = setup.state.hasher.verifications();
    let too_long = "p".repeat(16_000);
    let event = password_event(json!({"current_password": too_long, "new_password": NEW}));
    let (status, body, _) = call(&setup, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_password"))
    );
    assert_eq!(setup.state.hasher.verifications(), before, "nothing hashed");
    let failures = setup.state.stores.login_failures.record_of("alice");
    assert_eq!(failures.failures, 1);
}

fn event_for(resource: &str, body: Value) -> Value {
    let event = shared::testing::event_for_route("account.json", "POST", resource);
    shared::testing::with_json_body(event, &body)
}

fn now(setup: &Setup) -> SystemTime {
    setup.state.clock.now()
}

/// Enrols alice through the routes: the secret from the start answer, confirmed with its
/// current code. Returns the secret and the recovery codes.
async fn enrolled(setup: &Setup) -> (TotpSecret, Vec<String>) {
    let (status, started, _) = call(
        setup,
        &event_for("/users/me/mfa/totp", json!({ "current_password": CURRENT })),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let secret = secret_from_uri(started["otpauth_uri"].as_str().unwrap());
    let code = secret.code_at(now(setup)).unwrap();
    let (status, confirmed, _) = call(
        setup,
        &event_for("/users/me/mfa/totp/confirm", json!({ "otp": code })),
    )
    .await;
    assert_eq!(status, 200, "{confirmed}");
    let codes = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    // The next code is a new step: the confirmation's code is spent.
    setup.time.advance(Duration::from_secs(30));
    (secret, codes)
}

fn secret_from_uri(uri: &str) -> TotpSecret {
    let query = uri.split_once('?').unwrap().1;
    let base32 = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .unwrap();
    TotpSecret::from_base32(base32).unwrap()
}

#[tokio::test]
async fn a_login_older_than_the_window_is_asked_to_authenticate_again_and_nothing_changes() {
    let setup = setup().await;
    setup.time.advance(Duration::from_secs(600));
    let before = stored_hash(&setup).await;
    for event in [
        event_json("account.json"),
        event_for("/users/me/mfa/totp", json!({ "current_password": CURRENT })),
    ] {
        let response = account::handle(&setup.state, request_from(&event)).await;
        assert_eq!(response.status(), 403);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("insufficient_user_authentication"),
            "{challenge}"
        );
        let body = response_json(&response);
        assert_eq!(body["error"], "insufficient_user_authentication");
        assert_eq!(body["max_age"], 600);
    }
    assert_eq!(stored_hash(&setup).await, before);
    let alice = seeded_account_id("alice");
    assert!(
        setup
            .state
            .stores
            .second_factors
            .find(&alice)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0
    );
}

#[tokio::test]
async fn enrolment_needs_the_current_password() {
    let setup = setup().await;
    for (body, status, error) in [
        (json!({}), 422, "validation_failed"),
        (json!({"current_password": "not it"}), 403, "wrong_password"),
    ] {
        let (got, answer, _) = call(&setup, &event_for("/users/me/mfa/totp", body)).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(error)));
    }
    let alice = seeded_account_id("alice");
    let factor = setup
        .state
        .stores
        .second_factors
        .find(&alice)
        .await
        .unwrap();
    assert!(factor.is_none(), "nothing stored");
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        1
    );
}

#[tokio::test]
async fn a_first_code_of_a_replaced_enrolment_confirms_nothing() {
    let setup = setup().await;
    let start = event_for("/users/me/mfa/totp", json!({ "current_password": CURRENT }));
    let (_, first, _) = call(&setup, &start).await;
    let (_, second, _) = call(&setup, &start).await;
    let first = secret_from_uri(first["otpauth_uri"].as_str().unwrap());
    let code = first.code_at(now(&setup)).unwrap();
    let confirm = event_for("/users/me/mfa/totp/confirm", json!({ "otp": code }));
    let (status, body, _) = call(&setup, &confirm).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_second_factor"))
    );
    let second = secret_from_uri(second["otpauth_uri"].as_str().unwrap());
    let code = second.code_at(now(&setup)).unwrap();
    let confirm = event_for("/users/me/mfa/totp/confirm", json!({ "otp": code }));
    assert_eq!(call(&setup, &confirm).await.0, 200, "the latest enrolment");
}

#[tokio::test]
async fn enrolment_answers_a_secret_uri_and_qr_code_and_a_first_code_turns_it_on() {
    let setup = setup().await;
    let (status, started, _) = call(
        &setup,
        &event_for("/users/me/mfa/totp", json!({ "current_password": CURRENT })),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let uri = started["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/lambda-auth:alice?"),
        "{uri}"
    );
    assert!(uri.contains("issuer=lambda-auth"), "{uri}");
    assert!(uri.contains(&format!("secret={}", started["secret"].as_str().unwrap())));
    let qr = started["qr_code"].as_str().unwrap();
    let svg = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        qr.strip_prefix("data:image/svg+xml;base64,").unwrap(),
    )
    .unwrap();
    assert!(String::from_utf8(svg).unwrap().contains("<svg"));

    let alice = seeded_account_id("alice");
    let pending = setup
        .state
        .stores
        .second_factors
        .find(&alice)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !pending.confirmed,
        "nothing is guarded before the first code"
    );

    let secret = secret_from_uri(uri);
    let wrong = event_for("/users/me/mfa/totp/confirm", json!({"otp": "000000"}));
    let (status, body, _) = call(&setup, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_second_factor"))
    );

    let code = secret.code_at(now(&setup)).unwrap();
    let confirm = event_for("/users/me/mfa/totp/confirm", json!({ "otp": code }));
    let (status, body, _) = call(&setup, &confirm).await;
    assert_eq!(status, 200, "{body}");
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let factor = setup
        .state
        .stores
        .second_factors
        .find(&alice)
        .await
        .unwrap()
        .unwrap();
    assert!(factor.confirmed);
    assert_eq!(factor.recovery_codes.len(), 10);
    for shown in codes {
        let shown = shown.as_str().unwrap();
        assert!(
            !factor
                .recovery_codes
                .iter()
                .any(|hash| hash.contains(shown))
        );
    }
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0,
        "the wrong first code is forgotten after the right one"
    );

    let (status, body, _) = call(
        &setup,
        &event_for("/users/me/mfa/totp", json!({ "current_password": CURRENT })),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("second_factor_enabled"))
    );
    let (status, body, _) = call(&setup, &confirm).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("second_factor_enabled"))
    );
}

#[tokio::test]
async fn with_a_second_factor_the_password_change_needs_a_code_in_the_same_request() {
    let setup = setup().await;
    let (secret, codes) = enrolled(&setup).await;
    let before = stored_hash(&setup).await;

    let bare = password_event(json!({"current_password": CURRENT, "new_password": NEW}));
    let (status, body, _) = call(&setup, &bare).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_user_authentication")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("otp"));
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0,
        "not counted"
    );

    let wrong =
        password_event(json!({"current_password": CURRENT, "new_password": NEW, "otp": "123456"}));
    let (status, body, _) = call(&setup, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_second_factor"))
    );
    let alice = seeded_account_id("alice");
    let failures = &setup.state.stores.login_failures;
    assert_eq!(
        failures.second_factor_record_of(&alice).failures,
        1,
        "the wrong code is counted"
    );
    assert_eq!(
        failures.record_of("alice").failures,
        0,
        "the password was right"
    );
    assert_eq!(stored_hash(&setup).await, before);

    let both = password_event(json!({
        "current_password": CURRENT, "new_password": NEW,
        "otp": secret.code_at(now(&setup)).unwrap(), "recovery_code": codes[0],
    }));
    assert_eq!(call(&setup, &both).await.0, 422);

    let right = password_event(json!({
        "current_password": CURRENT, "new_password": NEW,
        "recovery_code": codes[0].to_lowercase(),
    }));
    let (status, body, _) = call(&setup, &right).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(stored_hash(&setup).await, before);
    assert_eq!(failures.second_factor_record_of(&alice).failures, 0);
}

#[tokio::test]
async fn turning_totp_off_and_new_recovery_codes_need_a_fresh_code() {
    let setup = setup().await;
    let (secret, codes) = enrolled(&setup).await;
    let alice = seeded_account_id("alice");

    for resource in ["/users/me/mfa/totp/disable", "/users/me/mfa/recovery-codes"] {
        let (status, body, _) = call(&setup, &event_for(resource, json!({}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("insufficient_user_authentication")),
            "{resource}"
        );
        let (status, body, _) = call(&setup, &event_for(resource, json!({"otp": "999999"}))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("wrong_second_factor")),
            "{resource}"
        );
    }

    let code = secret.code_at(now(&setup)).unwrap();
    let regenerate = event_for("/users/me/mfa/recovery-codes", json!({ "otp": code }));
    let (status, body, _) = call(&setup, &regenerate).await;
    assert_eq!(status, 200, "{body}");
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    let (status, body, _) = call(&setup, &regenerate).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_second_factor")),
        "a code works once"
    );

    let old = event_for(
        "/users/me/mfa/totp/disable",
        json!({ "recovery_code": codes[1] }),
    );
    let (status, body, _) = call(&setup, &old).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_second_factor")),
        "old codes are void"
    );

    let disable = event_for(
        "/users/me/mfa/totp/disable",
        json!({ "recovery_code": fresh[3] }),
    );
    let (status, body, _) = call(&setup, &disable).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        setup
            .state
            .stores
            .second_factors
            .find(&alice)
            .await
            .unwrap()
            .is_none()
    );
    let (status, body, _) = call(&setup, &disable).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("second_factor_not_enabled"))
    );
    use shared::identity::account_events::EventKind::{
        RecoveryCodesRegenerated, SecondFactorDisabled, SecondFactorEnabled, SecondFactorFailed,
    };
    assert_eq!(
        setup.state.stores.events.kinds_of(&alice),
        [
            SecondFactorEnabled,
            SecondFactorFailed,
            SecondFactorFailed,
            RecoveryCodesRegenerated,
            SecondFactorFailed,
            SecondFactorFailed,
            SecondFactorDisabled,
        ],
        "each change and each refused code, in order"
    );
}

#[tokio::test]
async fn ending_a_session_stops_its_refresh_token_and_another_accounts_id_is_404() {
    use shared::sessions::SessionStore as _;
    let setup = setup().await;
    let tokens = &setup.state.stores.sessions;
    let family = tokens.sessions()[0].family.clone();
    let bob = shared::sessions::Session::new(
        &seeded_account_id("bob"),
        0,
        SystemTime::now(),
        Duration::from_secs(3600),
    );
    tokens
        .start(
            &bob,
            "bob-hash",
            SystemTime::now(),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    let end = |id: &str| {
        let mut event = event_json("account-end-session.json");
        event["pathParameters"]["id"] = id.into();
        event
    };
    let (status, body, _) = call(&setup, &end(&bob.family)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("session_not_found"))
    );
    let response = account::handle(&setup.state, request_from(&end(&family))).await;
    assert_eq!(response.status(), 204);
    assert!(
        !tokens.is_current(&setup.refresh_secret),
        "refresh token stopped"
    );
    let (status, _, _) = call(&setup, &end(&family)).await;
    assert_eq!(status, 404, "already ended");
    assert_eq!(token_version(&setup).await, 0, "only that session ended");
}

#[tokio::test]
async fn security_changes_are_recorded_with_the_requests_ip_and_user_agent() {
    use shared::identity::account_events::EventKind::{SecondFactorEnabled, SecondFactorFailed};
    let setup = setup().await;
    let alice = seeded_account_id("alice");
    enrolled(&setup).await;
    let mut wrong = event_for("/users/me/mfa/recovery-codes", json!({"otp": "000000"}));
    wrong["headers"]["User-Agent"] = "Phone/2.0".into();
    wrong["multiValueHeaders"]["User-Agent"] = json!(["Phone/2.0"]);
    call(&setup, &wrong).await;
    let events = &setup.state.stores.events;
    assert_eq!(
        events.kinds_of(&alice),
        [SecondFactorEnabled, SecondFactorFailed]
    );
    let failed = events.all().pop().unwrap();
    assert_eq!(failed.client.user_agent.as_deref(), Some("Phone/2.0"));
    assert!(failed.client.ip.is_some(), "{failed:?}");

    events.fail();
    let (status, _, _) = call(&setup, &event_json("account-logout.json")).await;
    assert_eq!(status, 200, "a failing event store changes no answer");
    assert_eq!(events.kinds_of(&alice).len(), 2);
}

fn email_event(method: &str, body: Option<Value>) -> Value {
    let mut event = shared::testing::event_for_route("account.json", method, "/users/me/email");
    event["body"] = body.map_or(Value::Null, |mut body| {
        if body.get("current_password").is_none() {
            body["current_password"] = CURRENT.into();
        }
        body.to_string().into()
    });
    event
}

fn alice_user(setup: &Setup) -> shared::identity::users::User {
    setup.state.stores.users.user("alice").unwrap()
}

/// The code in the newest message, as the recipient would read it.
fn code_in_last_mail(setup: &Setup) -> String {
    let sent = setup.outbox.sent();
    let text = &sent.last().expect("a message").text;
    let line = text
        .lines()
        .find(|line| line.contains("code is "))
        .expect("a code line");
    line.rsplit(' ').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_address_waits_for_its_code_and_the_current_one_stays() {
    let setup = setup().await;
    let (status, body, _) = call(&setup, &event_json("account-email.json")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["email"],
        json!({"address": "alice@example.com", "verified": false, "pending_address": null})
    );
    let user = alice_user(&setup);
    assert_eq!(
        user.email, None,
        "nothing counts before the code comes back"
    );
    assert_eq!(
        user.pending_email.map(|a| a.as_str().to_owned()),
        Some("alice@example.com".to_owned())
    );
    let sent = setup.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "alice@example.com");
    assert_eq!(sent[0].subject, "Verify your email address");
    assert_eq!(setup.state.stores.email_codes.len(), 1);
    let alice = seeded_account_id("alice");
    assert_eq!(
        setup.state.stores.events.kinds_of(&alice),
        vec![shared::identity::account_events::EventKind::EmailChangeRequested]
    );
    assert!(!code_in_last_mail(&setup).is_empty());
}

#[tokio::test]
async fn an_address_change_needs_a_recent_login_and_the_second_factor_when_on() {
    let setup = setup().await;
    setup.time.advance(Duration::from_secs(3600));
    let (status, body, _) = call(&setup, &event_json("account-email.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_user_authentication"))
    );
    assert!(setup.outbox.sent().is_empty());

    let setup = setup_with_factor().await;
    let (status, body, _) = call(
        &setup.0,
        &email_event("PUT", Some(json!({"email": "alice@example.com"}))),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_user_authentication")),
        "{body}"
    );
    let code = setup.1.code_at(now(&setup.0)).unwrap();
    let with_code = email_event(
        "PUT",
        Some(json!({"email": "alice@example.com", "otp": code})),
    );
    let (status, body, _) = call(&setup.0, &with_code).await;
    assert_eq!(status, 202, "{body}");
}

async fn setup_with_factor() -> (Setup, TotpSecret) {
    let setup = setup().await;
    let (secret, _) = enrolled(&setup).await;
    (setup, secret)
}

#[tokio::test]
async fn a_mail_that_cannot_be_sent_is_503_and_stores_nothing() {
    let setup = setup().await;
    setup.outbox.fail(true);
    let (status, body, retry_after) = call(&setup, &event_json("account-email.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("email_unavailable"))
    );
    assert_eq!(retry_after.as_deref(), Some("30"));
    let user = alice_user(&setup);
    assert_eq!((user.email, user.pending_email), (None, None));
    assert!(
        setup.state.stores.email_codes.is_empty(),
        "the unsent code is gone"
    );
}

#[tokio::test]
async fn bad_addresses_are_422_and_verification_mails_are_limited_per_account() {
    let setup = setup().await;
    for bad in [
        json!({"email": "not an address"}),
        json!({"email": 7}),
        json!({}),
    ] {
        let (status, body, _) = call(&setup, &email_event("PUT", Some(bad.clone()))).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some("email")),
            "{bad}"
        );
    }
    assert!(setup.outbox.sent().is_empty());
    let max = shared::abuse::rate_limits::VERIFICATION_MAILS_PER_ACCOUNT.max;
    for n in 0..max {
        let body = json!({"email": format!("alice{n}@example.com")});
        let (status, _, _) = call(&setup, &email_event("PUT", Some(body))).await;
        assert_eq!(status, 202);
    }
    let resend =
        shared::testing::event_for_route("account.json", "POST", "/users/me/email/verification");
    let (status, body, retry_after) = call(&setup, &resend).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(setup.outbox.sent().len(), usize::try_from(max).unwrap());
}

#[tokio::test]
async fn resending_needs_a_waiting_address_and_removal_tells_the_old_address() {
    let setup = setup().await;
    let mut resend =
        shared::testing::event_for_route("account.json", "POST", "/users/me/email/verification");
    resend["body"] = Value::Null;
    let (status, body, _) = call(&setup, &resend).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("no_pending_email"))
    );

    let users = &setup.state.stores.users;
    let alice = seeded_account_id("alice");
    let address =
        shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap();
    users
        .set_pending_email(&alice, Some(&address), 0, now(&setup))
        .await
        .unwrap();
    users
        .verify_email(&alice, &address, 0, now(&setup))
        .await
        .unwrap();
    let (status, body, _) = call(
        &setup,
        &email_event("PUT", Some(json!({"email": "ALICE@example.com"}))),
    )
    .await;
    assert_eq!(status, 200, "the verified address again: nothing to do");
    assert!(body["message"].as_str().unwrap().contains("already"));
    assert!(setup.outbox.sent().is_empty());

    let (status, body, _) = call(&setup, &email_event("DELETE", Some(json!({})))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], Value::Null);
    let user = alice_user(&setup);
    assert_eq!((user.email, user.pending_email), (None, None));
    let sent = setup.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.as_str(), "alice@example.com");
    assert!(sent[0].text.contains("removed"), "{}", sent[0].text);
}

#[tokio::test]
async fn a_password_change_tells_the_verified_address() {
    let setup = setup().await;
    let alice = seeded_account_id("alice");
    let address =
        shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap();
    let users = &setup.state.stores.users;
    users
        .set_pending_email(&alice, Some(&address), 0, now(&setup))
        .await
        .unwrap();
    users
        .verify_email(&alice, &address, 0, now(&setup))
        .await
        .unwrap();
    let (status, _, _) = call(&setup, &event_json("account.json")).await;
    assert_eq!(status, 200);
    let sent = setup.outbox.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .text
            .contains("password of your account was changed")
    );
}

#[tokio::test]
async fn an_address_change_needs_the_current_password_and_tells_the_verified_address() {
    let setup = setup().await;
    let mut no_password = email_event("PUT", None);
    no_password["body"] = json!({"email": "x@example.com"}).to_string().into();
    let (status, body, _) = call(&setup, &no_password).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("current_password"))
    );
    let wrong = email_event(
        "PUT",
        Some(json!({"email": "x@example.com", "current_password": "not the password"})),
    );
    let (status, body, _) = call(&setup, &wrong).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("wrong_password"))
    );
    assert!(
        setup.outbox.sent().is_empty(),
        "a stolen token alone moves nothing"
    );
    assert_eq!(alice_user(&setup).pending_email, None);

    let alice = seeded_account_id("alice");
    let current =
        shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap();
    let users = &setup.state.stores.users;
    users
        .set_pending_email(&alice, Some(&current), 0, now(&setup))
        .await
        .unwrap();
    users
        .verify_email(&alice, &current, 0, now(&setup))
        .await
        .unwrap();
    let change = email_event("PUT", Some(json!({"email": "alice@new.example"})));
    let (status, _, _) = call(&setup, &change).await;
    assert_eq!(status, 202);
    let sent = setup.outbox.sent();
    assert_eq!(
        sent.len(),
        2,
        "the code to the new address, a notice to the current one"
    );
    assert_eq!(sent[1].to, current);
    assert!(
        sent[1]
            .text
            .contains("asked to change its email address to alice@new.example")
    );
    assert_eq!(alice_user(&setup).email, Some(current), "still in effect");
}

#[tokio::test]
async fn a_password_change_or_logout_everywhere_voids_outstanding_reset_codes() {
    use shared::mail::email_codes::{EmailCode, EmailCodeStore as _, Purpose};
    let setup = setup().await;
    let codes = &setup.state.stores.email_codes;
    let code = EmailCode {
        account: seeded_account_id("alice"),
        purpose: Purpose::Reset,
        address: Some(
            shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap(),
        ),
        expires_at: now(&setup) + Duration::from_secs(900),
        token_version: 0,
        issued_by: None,
    };
    codes.create("before-the-change", &code).await.unwrap();
    let (status, _, _) = call(&setup, &event_json("account.json")).await;
    assert_eq!(status, 200);
    assert!(codes.is_empty(), "the password change voided it");
    let setup = self::setup().await;
    let codes = &setup.state.stores.email_codes;
    codes.create("before-the-logout", &code).await.unwrap();
    let (status, _, _) = call(&setup, &event_json("account-logout.json")).await;
    assert_eq!(status, 200);
    assert!(codes.is_empty(), "logout-everywhere voided it");
}

#[tokio::test]
async fn the_last_administrator_cannot_delete_their_own_account() {
    let setup = setup().await;
    let users = &setup.state.stores.users;
    users.grant("alice", &["admin"]);
    let (status, body, _) = call(&setup, &event_json("account-delete.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("last_administrator")),
        "{body}"
    );
    assert!(users.user("alice").is_some(), "nothing was deleted");

    let other = Username::parse("second-admin").unwrap();
    users
        .insert(&other, "$argon2id$x", SystemTime::now())
        .await
        .unwrap();
    users.grant("second-admin", &["admin"]);
    let response = account::handle(
        &setup.state,
        request_from(&event_json("account-delete.json")),
    )
    .await;
    assert_eq!(response.status().as_u16(), 204);
    assert!(users.user("alice").is_none());
}

#[tokio::test]
async fn revoking_a_consent_forgets_it_and_ends_that_applications_sessions_only() {
    use secrecy::ExposeSecret as _;
    use shared::authorization::consents::ConsentStore as _;
    use shared::sessions::RelyingPartyGrant;
    let setup = setup().await;
    let alice = seeded_account_id("alice");
    let client =
        shared::access::relying_parties::RelyingPartyId::parse("rp_aaaaaaaaaaaaaaaaaaaaaaaa")
            .unwrap();
    let other =
        shared::access::relying_parties::RelyingPartyId::parse("rp_bbbbbbbbbbbbbbbbbbbbbbbb")
            .unwrap();
    let consents = &setup.state.stores.consents;
    let scopes = shared::access::scopes::Scopes::parse("openid profile");
    for party in [&client, &other] {
        consents
            .grant(&alice, party, &scopes, SystemTime::now())
            .await
            .unwrap();
    }
    let tokens = &setup.state.stores.sessions;
    let own = shared::sessions::generate().unwrap();
    let others = shared::sessions::generate().unwrap();
    for (party, token) in [(&client, &own), (&other, &others)] {
        let mut session = Session::new(&alice, 0, SystemTime::now(), Duration::from_secs(3600));
        session.relying_party = Some(RelyingPartyGrant {
            client: party.clone(),
            scopes: scopes.clone(),
        });
        tokens
            .start(
                &session,
                &token.hash,
                SystemTime::now(),
                Duration::from_secs(3600),
            )
            .await
            .unwrap();
    }

    let response = account::handle(
        &setup.state,
        request_from(&event_json("account-consent-revoke.json")),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(consents.find(&alice, &client).await.unwrap(), None);
    assert!(consents.find(&alice, &other).await.unwrap().is_some());
    assert!(
        !tokens.is_current(own.secret.expose_secret()),
        "the application's refresh token stopped"
    );
    assert!(tokens.is_current(others.secret.expose_secret()));
    assert!(
        tokens.is_current(&setup.refresh_secret),
        "the account's own session goes on"
    );
    let (status, body, _) = call(&setup, &event_json("account-consent-revoke.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("consent_not_found"))
    );
}

#[tokio::test]
async fn deleting_the_account_forgets_its_consents_and_identities_and_no_one_elses() {
    use shared::authorization::consents::ConsentStore as _;
    use shared::identity::identities::{Identity, IdentityStore as _};
    let setup = setup().await;
    let stores = &setup.state.stores;
    let client =
        shared::access::relying_parties::RelyingPartyId::parse("rp_aaaaaaaaaaaaaaaaaaaaaaaa")
            .unwrap();
    let scopes = shared::access::scopes::Scopes::parse("openid");
    let now = SystemTime::now();
    for owner in ["alice", "bob"] {
        let account = seeded_account_id(owner);
        stores
            .consents
            .grant(&account, &client, &scopes, now)
            .await
            .unwrap();
        let identity = Identity {
            issuer: "https://idp.example".to_owned(),
            subject: owner.to_owned(),
            account,
            email: None,
            email_verified: false,
            linked_at: now,
            last_used_at: now,
        };
        stores.identities.link(&identity).await.unwrap();
    }
    let response = account::handle(
        &setup.state,
        request_from(&event_json("account-delete.json")),
    )
    .await;
    assert_eq!(response.status().as_u16(), 204);
    let (alice, bob) = (seeded_account_id("alice"), seeded_account_id("bob"));
    assert!(stores.consents.list(&alice).await.unwrap().is_empty());
    assert!(stores.identities.list(&alice).await.unwrap().is_empty());
    assert_eq!(stores.consents.list(&bob).await.unwrap().len(), 1);
    assert_eq!(stores.identities.list(&bob).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_account_without_a_password_sets_its_first_one_after_its_recent_login_alone() {
    let mut setup = setup().await;
    setup.state.stores.users = MemoryUserStore::with_user(
        "alice",
        shared::identity::users::NO_PASSWORD_HASH,
        SystemTime::now(),
    );
    let (status, body, _) = call(&setup, &password_event(json!({ "new_password": NEW }))).await;
    assert_eq!(status, 200, "{body}");
    let hash = stored_hash(&setup).await;
    assert!(
        setup
            .state
            .hasher
            .verify(&Password::presented(NEW), &hash)
            .await
            .unwrap()
    );

    // Now it has one: the next change asks for it.
    let mut setup = setup;
    setup.state.stores.users = MemoryUserStore::with_user("alice", &hash, SystemTime::now());
    let (status, body, _) = call(&setup, &password_event(json!({ "new_password": CURRENT }))).await;
    assert_eq!(status, 422, "current_password is required: {body}");
}

#[tokio::test]
async fn a_third_party_applications_token_cannot_give_an_account_without_a_password_one() {
    use shared::access::relying_parties::{
        ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
    };
    let mut setup = setup().await;
    setup.state.stores.users = MemoryUserStore::with_user(
        "alice",
        shared::identity::users::NO_PASSWORD_HASH,
        SystemTime::now(),
    );
    let application = |first_party: bool| RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "An application".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        scopes: shared::access::scopes::Scopes::parse("openid account"),
        first_party,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    };
    let (third, first) = (application(false), application(true));
    let parties = &setup.state.stores.relying_parties;
    parties.create(&third).await.unwrap();
    parties.create(&first).await.unwrap();
    let from = |client: &RelyingPartyId| {
        let mut event = password_event(json!({ "new_password": NEW }));
        event["requestContext"]["authorizer"]["client_id"] = json!(client.as_str());
        event["requestContext"]["authorizer"]["scope"] = json!("openid account");
        event
    };
    let (status, body, _) = call(&setup, &from(&third.id)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "first_party_only");
    assert_eq!(
        stored_hash(&setup).await,
        shared::identity::users::NO_PASSWORD_HASH,
        "nothing stored"
    );
    let (status, body, _) = call(&setup, &from(&first.id)).await;
    assert_eq!(status, 200, "this service's own application: {body}");
}
