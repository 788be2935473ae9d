//! The token handler on the sample event and on every error case, with an in-memory store.

use serde_json::{Value, json};
use shared::credentials::{Password, Username};
use shared::hashing::{HashingParams, PasswordHasher};
use shared::lockout::FailureRecord;
use shared::testing::{
    ManualClock, MemoryLoginAttempts, MemoryUserStore, event_json, request_from, response_json,
    response_text, token_pair,
};
use shared::tokens::TokenVerifier;
use shared::users::UserStore as _;
use std::time::{Duration, SystemTime};
use token::TokenService;

struct Setup {
    service: TokenService<MemoryUserStore, MemoryLoginAttempts>,
    verifier: TokenVerifier,
    time: ManualClock,
}

/// A service whose store holds `alice` with the sample event's password.
async fn setup_with(store: MemoryUserStore) -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let hash = hasher
        .hash(&Password::parse("correct horse battery staple").unwrap())
        .await
        .unwrap();
    if !store.failing_store() {
        store
            .insert(&Username::parse("alice").unwrap(), &hash, SystemTime::now())
            .await
            .unwrap();
    }
    let (issuer, verifier, _) = token_pair();
    let time = ManualClock::default();
    Setup {
        service: TokenService {
            store,
            attempts: MemoryLoginAttempts::default(),
            hasher,
            issuer,
            clock: time.clock(),
        },
        verifier,
        time,
    }
}

async fn setup() -> Setup {
    setup_with(MemoryUserStore::default()).await
}

fn event_with_body(body: &str) -> Value {
    let mut event = event_json("token.json");
    event["body"] = body.into();
    event
}

async fn call(setup: &Setup, event: &Value) -> lambda_http::Response<lambda_http::Body> {
    token::handle(&setup.service, request_from(event)).await
}

#[tokio::test]
async fn the_sample_event_gets_a_verifiable_bearer_token() {
    let setup = setup().await;
    let response = call(&setup, &event_json("token.json")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = response_json(&response);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.sub, "alice");
}

#[tokio::test]
async fn login_is_case_insensitive_and_the_token_names_the_stored_username() {
    let setup = setup().await;
    let response = call(
        &setup,
        &event_with_body("username=ALICE&password=correct+horse+battery+staple"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let token = response_json(&response)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(setup.verifier.verify(&token).unwrap().sub, "alice");
}

#[tokio::test]
async fn unknown_user_wrong_password_and_disabled_user_get_the_same_answer() {
    let setup = setup().await;
    let wrong_password = call(
        &setup,
        &event_with_body("username=alice&password=wrong+password"),
    )
    .await;
    let unknown_user = call(
        &setup,
        &event_with_body("username=mallory&password=wrong+password"),
    )
    .await;
    let invalid_username = call(
        &setup,
        &event_with_body("username=%24ne&password=wrong+password"),
    )
    .await;
    setup.service.store.disable("alice");
    let disabled = call(&setup, &event_json("token.json")).await;

    let expected =
        json!({"error": "invalid_grant", "error_description": "invalid username or password"});
    let reference = response_text(&wrong_password);
    for (name, response) in [
        ("wrong password", &wrong_password),
        ("unknown user", &unknown_user),
        ("invalid name", &invalid_username),
        ("disabled", &disabled),
    ] {
        assert_eq!(response.status(), 400, "{name}");
        assert_eq!(response_json(response), expected, "{name}");
        assert_eq!(
            response_text(response),
            reference,
            "{name}: byte-for-byte identical"
        );
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
    }
}

#[tokio::test]
async fn request_errors_follow_rfc_6749() {
    let setup = setup().await;
    let cases = [
        ("username=alice", 400, "invalid_request"),
        ("password=x", 400, "invalid_request"),
        (
            "username=alice&username=bob&password=x",
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&username=alice&password=x",
            400,
            "unsupported_grant_type",
        ),
    ];
    for (body, status, error) in cases {
        let response = call(&setup, &event_with_body(body)).await;
        assert_eq!(response.status(), status, "{body}");
        assert_eq!(response_json(&response)["error"], error, "{body}");
        assert!(
            response_json(&response)["error_description"].is_string(),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_json_body_is_415_and_an_oversized_body_is_413() {
    let setup = setup().await;
    let mut event = event_json("token.json");
    event["headers"]["Content-Type"] = "application/json".into();
    event["multiValueHeaders"]["Content-Type"] = json!(["application/json"]);
    event["body"] = json!({"username": "alice", "password": "correct horse battery staple"})
        .to_string()
        .into();
    let response = call(&setup, &event).await;
    assert_eq!(response.status(), 415);
    assert_eq!(response_json(&response)["error"], "invalid_request");

    let big = format!("username=alice&password={}", "x".repeat(16 * 1024));
    let response = call(&setup, &event_with_body(&big)).await;
    assert_eq!(response.status(), 413);
    assert_eq!(response_json(&response)["error"], "invalid_request");
}

#[tokio::test]
async fn a_store_failure_is_a_server_error_that_reveals_nothing() {
    let setup = setup_with(MemoryUserStore::failing()).await;
    let response = call(&setup, &event_json("token.json")).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        response_json(&response),
        json!({"error": "server_error", "error_description": "internal server error"})
    );
}

#[tokio::test]
async fn an_unreachable_database_is_a_503() {
    let setup = setup_with(MemoryUserStore::unreachable()).await;
    let response = call(&setup, &event_json("token.json")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response_json(&response)["error"], "service_unavailable");
}

const RIGHT: &str = "username=alice&password=correct+horse+battery+staple";
const WRONG: &str = "username=alice&password=wrong+password";

#[tokio::test]
async fn every_login_path_runs_exactly_one_argon2id_verification() {
    let setup = setup().await;
    let hasher = &setup.service.hasher;
    for (name, body) in [
        ("right password", RIGHT),
        ("wrong password", WRONG),
        ("unknown user", "username=mallory&password=wrong+password"),
        ("invalid username", "username=%24ne&password=wrong+password"),
    ] {
        let before = hasher.verifications();
        call(&setup, &event_with_body(body)).await;
        assert_eq!(hasher.verifications() - before, 1, "{name}");
    }
    setup.service.store.disable("alice");
    let before = hasher.verifications();
    call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(hasher.verifications() - before, 1, "disabled account");
}

#[tokio::test]
async fn the_sixth_attempt_is_refused_with_429_until_the_lock_expires() {
    let setup = setup().await;
    for attempt in 1..=5 {
        let response = call(&setup, &event_with_body(WRONG)).await;
        assert_eq!(
            response.status(),
            400,
            "failure {attempt} is checked normally"
        );
    }
    let verifications = setup.service.hasher.verifications();

    let locked = call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(locked.status(), 429, "even the right password waits");
    assert_eq!(locked.headers()["retry-after"], "1");
    assert_eq!(locked.headers()["cache-control"], "no-store");
    let body = response_json(&locked);
    assert_eq!(body["error"], "too_many_attempts");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("1 seconds")
    );
    assert_eq!(
        setup.service.hasher.verifications(),
        verifications,
        "a locked attempt does not check the password"
    );

    setup.time.advance(Duration::from_secs(1));
    let response = call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(response.status(), 200, "accepted once the lock has expired");
    assert_eq!(
        setup.service.attempts.record_of("alice"),
        FailureRecord::default(),
        "a success resets the count"
    );
}

#[tokio::test]
async fn each_failure_after_a_lock_doubles_it() {
    let setup = setup().await;
    for _ in 1..=5 {
        call(&setup, &event_with_body(WRONG)).await;
    }
    for expected_lock in [1, 2, 4, 8] {
        let refused = call(&setup, &event_with_body(WRONG)).await;
        assert_eq!(refused.status(), 429);
        assert_eq!(refused.headers()["retry-after"], expected_lock.to_string());
        setup.time.advance(Duration::from_secs(expected_lock));
        let checked = call(&setup, &event_with_body(WRONG)).await;
        assert_eq!(checked.status(), 400, "checked after {expected_lock} s");
    }
    let record = setup.service.attempts.record_of("alice");
    assert_eq!(record.failures, 9, "locked attempts are not counted");
}

#[tokio::test]
async fn unknown_usernames_are_locked_like_real_ones() {
    let setup = setup().await;
    for _ in 1..=5 {
        call(&setup, &event_with_body(WRONG)).await;
        call(
            &setup,
            &event_with_body("username=mallory&password=wrong+password"),
        )
        .await;
    }
    let real = call(&setup, &event_with_body(WRONG)).await;
    let unknown = call(&setup, &event_with_body("username=mallory&password=x")).await;
    assert_eq!(real.status(), 429);
    assert_eq!(response_text(&real), response_text(&unknown));
    assert_eq!(
        real.headers()["retry-after"],
        unknown.headers()["retry-after"]
    );
}

#[tokio::test]
async fn concurrent_failures_are_counted_without_lost_updates() {
    let setup = setup().await;
    let event = event_with_body(WRONG);
    let attempts = (0..16).map(|_| call(&setup, &event));
    let responses = futures_util::future::join_all(attempts).await;
    let checked = responses.iter().filter(|r| r.status() == 400).count();
    let locked = responses.iter().filter(|r| r.status() == 429).count();
    assert_eq!(checked + locked, 16, "every attempt is 400 or 429");
    assert!(checked >= 5, "the first five are always checked");
    assert_eq!(
        setup.service.attempts.record_of("alice").failures as usize,
        checked,
        "every checked failure is counted"
    );
}
