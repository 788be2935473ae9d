//! The account handler (password change, logout-everywhere) on its sample events, with
//! in-memory stores and a manual clock.

use account::State;
use serde_json::{Value, json};
use shared::credentials::{Password, Username};
use shared::hashing::{HashingParams, PasswordHasher};
use shared::refresh::{RefreshTokenStore as _, Session};
use shared::testing::{
    ManualClock, MemoryRefreshTokenStore, MemoryStores, MemoryUserStore, event_json, request_from,
    response_json, seeded_account_id,
};
use shared::users::UserStore as _;
use std::time::{Duration, SystemTime};

const CURRENT: &str = "correct horse battery staple";
const NEW: &str = "a new and better passphrase";

struct Setup {
    state: State<MemoryStores>,
    time: ManualClock,
    refresh_secret: String,
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let hash = hasher
        .hash(&Password::parse(CURRENT).unwrap())
        .await
        .unwrap();
    let users = MemoryUserStore::with_user("alice", &hash, SystemTime::now());
    let refresh_tokens = MemoryRefreshTokenStore::default();
    let token = shared::refresh::generate().unwrap();
    let (now, hour) = (SystemTime::now(), Duration::from_secs(3600));
    let session = Session::new(&seeded_account_id("alice"), 0, now, hour);
    refresh_tokens
        .start(&session, &token.hash, now, hour)
        .await
        .unwrap();
    let time = ManualClock::default();
    Setup {
        state: State {
            stores: MemoryStores {
                users,
                refresh_tokens,
                ..MemoryStores::default()
            },
            hasher,
            clock: time.clock(),
            metrics: shared::metrics::Metrics::capturing(),
        },
        time,
        refresh_secret: secrecy::ExposeSecret::expose_secret(&token.secret).to_owned(),
    }
}

fn password_event(body: Value) -> Value {
    let mut event = event_json("account.json");
    event["body"] = body.to_string().into();
    event
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
            .refresh_tokens
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
            .refresh_tokens
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
            .refresh_tokens
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
