//! The token handler on the sample event and on every error case, with an in-memory store.

use serde_json::{Value, json};
use shared::abuse::login_failures::LoginFailures;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::factors::second_factors::SecondFactorStore as _;
use shared::factors::totp::TotpSecret;
use shared::identity::credentials::{Password, Username};
use shared::identity::users::UserStore as _;
use shared::testing::{
    ManualClock, MemoryStores, MemoryUserStore, event_json, request_from, response_json,
    response_text, token_pair,
};
use shared::tokens::TokenVerifier;
use std::time::{Duration, SystemTime};
use token::State;

struct Setup {
    state: State<MemoryStores>,
    verifier: TokenVerifier,
    time: ManualClock,
}

/// A state whose store holds `alice` with the sample event's password.
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
        state: State {
            stores: MemoryStores::with_users(&store),
            hasher,
            issuer,
            mfa: shared::testing::mfa_settings(),
            clock: time.clock(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            roles: shared::access::roles::Roles::parse(
                "admin=users:admin,clients:admin,products:write;editor=products:write",
            )
            .unwrap(),
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::new(
                "localhost",
                &["http://localhost:3000"],
            ),
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
                .unwrap(),
            id_token_key: None,
            password_grant: true,
            upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
            hooks: shared::hooks::Hooks::none(),
            hook_scopes_beyond_roles: false,
        },
        verifier,
        time,
    }
}

/// The account id tokens for alice name.
fn alice_id(setup: &Setup) -> String {
    let alice = setup
        .state
        .stores
        .users
        .user("alice")
        .expect("alice exists");
    alice.id.as_str().to_owned()
}

async fn setup() -> Setup {
    setup_with(MemoryUserStore::default()).await
}

fn event_with_body(body: &str) -> Value {
    shared::testing::event_with_body("token.json", body)
}

async fn call(setup: &Setup, event: &Value) -> lambda_http::Response<lambda_http::Body> {
    token::handle(&setup.state, request_from(event)).await
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
    assert_eq!(claims.sub, alice_id(&setup));
}

#[tokio::test]
async fn the_token_carries_the_scopes_of_the_accounts_roles_and_the_response_echoes_them() {
    let setup = setup().await;
    let plain = login(&setup).await;
    assert!(plain.get("scope").is_none(), "no roles, no scope: {plain}");
    let claims = setup
        .verifier
        .verify(plain["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.scope, "");

    setup
        .state
        .stores
        .users
        .grant("alice", &["editor", "retired"]);
    let editor = login(&setup).await;
    assert_eq!(
        editor["scope"], "products:write",
        "a role not defined grants nothing"
    );
    let claims = setup
        .verifier
        .verify(editor["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.scope, "products:write");

    setup
        .state
        .stores
        .users
        .grant("alice", &["admin", "editor"]);
    let response = refresh(&setup, &editor["refresh_token"]).await;
    let refreshed = response_json(&response);
    assert_eq!(
        refreshed["scope"], "clients:admin products:write users:admin",
        "a refresh reads the account's roles again"
    );
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
    assert_eq!(setup.verifier.verify(&token).unwrap().sub, alice_id(&setup));
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
    setup.state.stores.users.disable("alice");
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
        ("grant_type=implicit&code=x", 400, "unsupported_grant_type"),
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
    let hasher = &setup.state.hasher;
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
    setup.state.stores.users.disable("alice");
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
    let verifications = setup.state.hasher.verifications();

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
        setup.state.hasher.verifications(),
        verifications,
        "a locked attempt does not check the password"
    );

    setup.time.advance(Duration::from_secs(1));
    let response = call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(response.status(), 200, "accepted once the lock has expired");
    assert_eq!(
        setup.state.stores.login_failures.record_of("alice"),
        LoginFailures::default(),
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
    let record = setup.state.stores.login_failures.record_of("alice");
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
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures as usize,
        checked,
        "every checked failure is counted"
    );
}

fn refresh_event(refresh_token: &str) -> Value {
    event_with_body(&format!(
        "grant_type=refresh_token&refresh_token={refresh_token}"
    ))
}

fn revoke_event(body: &str) -> Value {
    shared::testing::event_with_body("revoke.json", body)
}

/// Logs alice in and returns the parsed token response.
async fn login(setup: &Setup) -> Value {
    let response = call(setup, &event_with_body(RIGHT)).await;
    assert_eq!(response.status(), 200);
    response_json(&response)
}

async fn refresh(setup: &Setup, refresh_token: &Value) -> lambda_http::Response<lambda_http::Body> {
    call(setup, &refresh_event(refresh_token.as_str().unwrap())).await
}

#[tokio::test]
async fn a_login_returns_a_refresh_token_stored_only_as_its_hash() {
    let setup = setup().await;
    let body = login(&setup).await;
    let refresh_token = body["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_token.len(), 43, "256 bits of base64url");
    assert!(setup.state.stores.sessions.is_current(refresh_token));
    assert_eq!(setup.state.stores.sessions.len(), 1);
}

#[tokio::test]
async fn a_chain_of_five_rotations_then_reuse_of_the_second_token_revokes_the_family() {
    let setup = setup().await;
    let mut chain = vec![login(&setup).await["refresh_token"].clone()];
    for step in 1..=5 {
        let response = refresh(&setup, chain.last().unwrap()).await;
        assert_eq!(response.status(), 200, "rotation {step}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        let body = response_json(&response);
        let claims = setup
            .verifier
            .verify(body["access_token"].as_str().unwrap())
            .unwrap();
        assert_eq!(claims.sub, alice_id(&setup));
        assert_ne!(
            &body["refresh_token"],
            chain.last().unwrap(),
            "a new token each time"
        );
        chain.push(body["refresh_token"].clone());
    }
    let tokens = &setup.state.stores.sessions;
    for used in &chain[..5] {
        assert!(!tokens.is_current(used.as_str().unwrap()));
    }
    assert!(tokens.is_current(chain[5].as_str().unwrap()));

    let replay = refresh(&setup, &chain[1]).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(response_json(&replay)["error"], "invalid_grant");
    let latest = refresh(&setup, &chain[5]).await;
    assert_eq!(
        latest.status(),
        400,
        "the whole family is revoked, the latest token too"
    );
    assert_eq!(response_json(&latest)["error"], "invalid_grant");
    assert!(!tokens.is_current(chain[5].as_str().unwrap()));
    assert_eq!(
        login(&setup).await["token_type"],
        "bearer",
        "a new login starts a new family"
    );
}

#[tokio::test]
async fn ten_concurrent_exchanges_of_one_token_give_exactly_one_success() {
    let setup = setup().await;
    let token = login(&setup).await["refresh_token"].clone();
    let event = refresh_event(token.as_str().unwrap());
    let exchanges = (0..10).map(|_| call(&setup, &event));
    let responses = futures_util::future::join_all(exchanges).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        9,
        "{statuses:?}"
    );
    let winner = responses.iter().find(|r| r.status() == 200).unwrap();
    let successor = response_json(winner)["refresh_token"].clone();
    assert_eq!(
        refresh(&setup, &successor).await.status(),
        400,
        "the replays revoked the session, the winner's successor too"
    );
}

#[tokio::test]
async fn a_session_ends_thirty_days_after_the_password_login_however_often_it_rotates() {
    let setup = setup().await;
    let mut token = login(&setup).await["refresh_token"].clone();
    for _ in 0..2 {
        setup.time.advance(Duration::from_secs(14 * 24 * 3600));
        let response = refresh(&setup, &token).await;
        assert_eq!(response.status(), 200);
        token = response_json(&response)["refresh_token"].clone();
    }
    setup.time.advance(Duration::from_secs(2 * 24 * 3600 + 1));
    let response = refresh(&setup, &token).await;
    assert_eq!(
        response.status(),
        400,
        "30 days and a second after the login"
    );
    assert_eq!(response_json(&response)["error"], "invalid_grant");
}

#[tokio::test]
async fn refresh_refusals_are_all_invalid_grant() {
    let setup = setup().await;
    let unknown = "A".repeat(43);
    for (name, token) in [
        ("unknown", unknown.as_str()),
        ("wrong shape", "not-a-token"),
        ("an access token", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"),
    ] {
        let response = call(&setup, &refresh_event(token)).await;
        assert_eq!(response.status(), 400, "{name}");
        assert_eq!(
            response_json(&response),
            json!({"error": "invalid_grant", "error_description": "the refresh token is invalid, expired or revoked"}),
            "{name}"
        );
    }

    let expiring = login(&setup).await["refresh_token"].clone();
    setup.time.advance(Duration::from_secs(30 * 24 * 3600 + 1));
    assert_eq!(refresh(&setup, &expiring).await.status(), 400, "expired");
}

#[tokio::test]
async fn a_disabled_user_cannot_refresh() {
    let setup = setup().await;
    let token = login(&setup).await["refresh_token"].clone();
    setup.state.stores.users.disable("alice");
    let response = refresh(&setup, &token).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response_json(&response)["error"], "invalid_grant");
}

#[tokio::test]
async fn a_token_version_bump_ends_every_refresh_family() {
    let setup = setup().await;
    let first = login(&setup).await["refresh_token"].clone();
    let second = login(&setup).await["refresh_token"].clone();
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    setup
        .state
        .stores
        .users
        .bump_token_version(
            &alice,
            shared::identity::users::Revocation::Sessions,
            SystemTime::now(),
        )
        .await
        .unwrap();
    for token in [&first, &second] {
        assert_eq!(refresh(&setup, token).await.status(), 400);
    }
    let fresh = login(&setup).await;
    let claims = setup
        .verifier
        .verify(fresh["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.ver, 1, "new tokens carry the new version");
    assert_eq!(refresh(&setup, &fresh["refresh_token"]).await.status(), 200);
}

#[tokio::test]
async fn revocation_revokes_the_family_and_is_always_200_for_a_well_formed_request() {
    let setup = setup().await;
    let first = login(&setup).await["refresh_token"].clone();
    let rotated = response_json(&refresh(&setup, &first).await)["refresh_token"].clone();
    let other_login = login(&setup).await["refresh_token"].clone();

    for _ in 0..2 {
        let body = format!(
            "token={}&token_type_hint=refresh_token",
            first.as_str().unwrap()
        );
        let response = call(&setup, &revoke_event(&body)).await;
        assert_eq!(response.status(), 200, "idempotent");
        assert_eq!(response_json(&response), json!({}));
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    assert_eq!(
        refresh(&setup, &rotated).await.status(),
        400,
        "the family is revoked"
    );
    assert_eq!(
        refresh(&setup, &other_login).await.status(),
        200,
        "another login is not"
    );

    for body in [
        format!("token={}", "B".repeat(43)),
        "token=not-ours".to_owned(),
        "token=eyJhbGciOiJFZERTQSJ9.e30.c2ln&token_type_hint=access_token".to_owned(),
    ] {
        let response = call(&setup, &revoke_event(&body)).await;
        assert_eq!(response.status(), 200, "{body}");
    }
    for body in ["", "token=", "token=a&token=b"] {
        let response = call(&setup, &revoke_event(body)).await;
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(
            response_json(&response)["error"],
            "invalid_request",
            "{body:?}"
        );
    }
    let mut json_body = revoke_event("");
    json_body["headers"]["Content-Type"] = "application/json".into();
    json_body["multiValueHeaders"]["Content-Type"] = json!(["application/json"]);
    assert_eq!(call(&setup, &json_body).await.status(), 415);
}

#[tokio::test]
async fn a_route_this_function_does_not_serve_is_404_and_issues_nothing() {
    let setup = setup().await;
    for (method, resource) in [("POST", "/tokens"), ("GET", "/token"), ("GET", "/revoke")] {
        let event = shared::testing::event_for_route("token.json", method, resource);
        let response = call(&setup, &event).await;
        assert_eq!(response.status(), 404, "{method} {resource}");
        assert_eq!(response_json(&response)["error"], "not_found");
    }
    assert!(setup.state.stores.sessions.is_empty());
    assert_eq!(
        setup.state.hasher.verifications(),
        0,
        "no password was checked"
    );
}

/// A sha256_crypt hash (535,000 rounds) of the FastAPI app, as its unmigrated users have.
const SHA256_CRYPT: &str =
    "$5$rounds=535000$JuAZ6X4/60L9KkQ4$.kIFE7QvsIhmHDEMKWERG8cebH.8/EBhjPveVZA/FZ0";

#[tokio::test]
async fn a_password_longer_than_any_login_checks_is_a_counted_failure_never_hashed() {
    let setup = setup().await;
    let legacy = Username::parse("legacy").unwrap();
    let users = &setup.state.stores.users;
    users
        .insert(&legacy, SHA256_CRYPT, SystemTime::now())
        .await
        .unwrap();
    let too_long = "p".repeat(16_000);
    let before = setup.state.hasher.verifications();
    for username in ["alice", "legacy", "nobody", "no such name!"] {
        let event = event_with_body(&format!(
            "grant_type=password&username={username}&password={too_long}"
        ));
        let answered = tokio::time::timeout(Duration::from_secs(2), call(&setup, &event));
        let response = answered
            .await
            .expect("answered without hashing 16,000 characters");
        assert_eq!(response.status(), 400, "{username}");
        assert_eq!(response_json(&response)["error"], "invalid_grant");
    }
    assert_eq!(
        setup.state.hasher.verifications(),
        before,
        "no hash was computed"
    );
    let failures = &setup.state.stores.login_failures;
    for counted in ["alice", "legacy", "nobody"] {
        assert_eq!(failures.record_of(counted).failures, 1, "{counted}");
    }

    let at_limit = "p".repeat(shared::identity::credentials::PRESENTED_PASSWORD_MAX_BYTES);
    let event = event_with_body(&format!(
        "grant_type=password&username=alice&password={at_limit}"
    ));
    assert_eq!(call(&setup, &event).await.status(), 400);
    assert_eq!(
        setup.state.hasher.verifications(),
        before + 1,
        "a password of the limit's length is checked"
    );
}

/// md5_crypt of "tutorial password", from the FastAPI app's fallback scheme.
const MD5_CRYPT: &str = "$1$PKNMEx3F$2qW0ghmi/3gyYx69ifb0l/";

#[tokio::test]
async fn legacy_and_unreadable_hashes_cost_an_argon2id_verification_too() {
    let setup = setup().await;
    let users = &setup.state.stores.users;
    for (name, hash) in [
        ("md5user", MD5_CRYPT),
        (
            "bcryptuser",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ),
    ] {
        let username = Username::parse(name).unwrap();
        users
            .insert(&username, hash, SystemTime::now())
            .await
            .unwrap();
    }
    let hasher = &setup.state.hasher;
    for name in ["md5user", "bcryptuser"] {
        let before = hasher.verifications();
        let body = format!("username={name}&password=wrong+password");
        let response = call(&setup, &event_with_body(&body)).await;
        assert_eq!(response.status(), 400, "{name}: like any wrong password");
        assert_eq!(response_json(&response)["error"], "invalid_grant");
        assert_eq!(
            hasher.verifications() - before,
            1,
            "{name}: one argon2id verification"
        );
        let failures = setup.state.stores.login_failures.record_of(name).failures;
        assert_eq!(failures, 1, "{name}: counted");
    }
}

/// The metrics the handler wrote, by name, after checking each line is an EMF document that
/// counts one event of the metric it declares.
fn recorded_metrics(setup: &Setup) -> Vec<String> {
    setup
        .state
        .metrics
        .lines()
        .iter()
        .map(|line| {
            let document: Value = serde_json::from_str(line).expect("one JSON object per line");
            let directive = &document["_aws"]["CloudWatchMetrics"][0];
            assert!(document["_aws"]["Timestamp"].as_u64().is_some(), "{line}");
            assert!(directive["Namespace"].as_str().is_some(), "{line}");
            assert_eq!(directive["Metrics"][0]["Unit"], "Count", "{line}");
            let name = directive["Metrics"][0]["Name"].as_str().unwrap().to_owned();
            assert_eq!(document[&name], 1, "{line}");
            name
        })
        .collect()
}

#[tokio::test]
async fn failed_and_locked_out_logins_and_a_refresh_token_reuse_are_emf_metrics() {
    let setup = setup().await;
    let wrong = "grant_type=password&username=alice&password=not+the+password";
    for _ in 0..6 {
        call(&setup, &event_with_body(wrong)).await;
    }
    let first = login_after_lock(&setup).await;
    assert_eq!(refresh(&setup, &first).await.status(), 200);
    assert_eq!(refresh(&setup, &first).await.status(), 400, "a replay");
    let metrics = recorded_metrics(&setup);
    let count = |name: &str| metrics.iter().filter(|metric| *metric == name).count();
    assert_eq!(count("FailedLogins"), 5, "{metrics:?}");
    assert_eq!(count("LockedOutAttempts"), 1, "{metrics:?}");
    assert_eq!(count("RefreshTokenReuse"), 1, "{metrics:?}");
}

/// Waits out alice's lock (the manual clock) and logs her in; her refresh token.
async fn login_after_lock(setup: &Setup) -> Value {
    setup.time.advance(Duration::from_secs(16 * 60));
    login(setup).await["refresh_token"].clone()
}

#[tokio::test]
async fn tokens_say_how_and_when_the_user_logged_in_and_refreshes_keep_the_login_time() {
    let setup = setup().await;
    let login_time = setup.state.clock.now();
    let body = login(&setup).await;
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    let seconds = |time: SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    assert_eq!(claims.amr, ["pwd"]);
    assert_eq!(claims.auth_time, seconds(login_time));

    setup.time.advance(Duration::from_secs(3600));
    let refreshed = response_json(&refresh(&setup, &body["refresh_token"]).await);
    let claims = setup
        .verifier
        .verify(refreshed["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, ["pwd"]);
    assert_eq!(
        claims.auth_time,
        seconds(login_time),
        "the login's time, not the refresh's"
    );
    assert!(claims.iat >= seconds(login_time) + 3600);
}

/// Turns TOTP on for alice directly in the store; returns the secret and recovery codes.
async fn with_totp(setup: &Setup) -> (TotpSecret, Vec<String>) {
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    let secret = TotpSecret::generate().unwrap();
    let sealed = setup.state.mfa.seal(&alice, &secret).unwrap();
    let factors = &setup.state.stores.second_factors;
    factors
        .begin_enrolment(&alice, &sealed, SystemTime::now())
        .await
        .unwrap();
    let codes = shared::factors::recovery_codes::generate(&alice).unwrap();
    factors
        .confirm(&alice, &sealed, 0, &codes.hashes)
        .await
        .unwrap();
    let shown = codes
        .codes
        .iter()
        .map(|code| secrecy::ExposeSecret::expose_secret(code).to_owned())
        .collect();
    (secret, shown)
}

/// The password step for alice: the `mfa_token` of its `403 mfa_required`.
async fn password_step(setup: &Setup) -> String {
    let response = call(setup, &event_with_body(RIGHT)).await;
    let body = response_json(&response);
    assert_eq!(response.status(), 403, "{body}");
    assert_eq!(body["error"], "mfa_required");
    body["mfa_token"].as_str().unwrap().to_owned()
}

fn mfa_event(mfa_token: &str, factor: &str, code: &str) -> Value {
    event_with_body(&format!(
        "grant_type={}&mfa_token={mfa_token}&{factor}={code}",
        token::form::MFA_GRANT_TYPE
    ))
}

fn now(setup: &Setup) -> SystemTime {
    setup.state.clock.now()
}

#[tokio::test]
async fn with_totp_on_a_right_password_answers_mfa_required_and_the_mfa_grant_issues_tokens() {
    let setup = setup().await;
    let (secret, _) = with_totp(&setup).await;
    let mfa_token = password_step(&setup).await;
    assert_eq!(mfa_token.len(), 43);
    assert_eq!(
        setup.state.stores.sessions.len(),
        0,
        "no session before the second factor"
    );

    let code = secret.code_at(now(&setup)).unwrap();
    let response = call(&setup, &mfa_event(&mfa_token, "otp", &code)).await;
    let body = response_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims.sub, alice_id(&setup));
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0,
        "the whole login succeeded: failures forgotten"
    );
    let refreshed = refresh(&setup, &body["refresh_token"]).await;
    let refreshed = response_json(&refreshed);
    let claims = setup
        .verifier
        .verify(refreshed["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"], "kept across refreshes");

    let again = response_json(&call(&setup, &mfa_event(&mfa_token, "otp", &code)).await);
    assert_eq!(again["error"], "invalid_grant");
    assert!(
        again["error_description"]
            .as_str()
            .unwrap()
            .contains("mfa_token")
    );
    let replay = call(
        &setup,
        &mfa_event(&password_step(&setup).await, "otp", &code),
    )
    .await;
    let replay = response_json(&replay);
    assert_eq!(
        replay["error_description"],
        "the authenticator code or recovery code is wrong or already used",
        "an accepted code is refused for the rest of its window"
    );
}

#[tokio::test]
async fn codes_one_step_away_are_accepted_and_two_steps_away_refused() {
    let setup = setup().await;
    let (secret, _) = with_totp(&setup).await;
    let step = Duration::from_secs(30);
    // Successes in between reset the lockout counter the refusals add to.
    for (offset_steps, accepted) in [(-1_i32, true), (-2, false), (1, true), (2, false)] {
        let at = if offset_steps < 0 {
            now(&setup) - step * offset_steps.unsigned_abs()
        } else {
            now(&setup) + step * offset_steps.unsigned_abs()
        };
        let code = secret.code_at(at).unwrap();
        let token = password_step(&setup).await;
        let status = call(&setup, &mfa_event(&token, "otp", &code))
            .await
            .status();
        assert_eq!(status == 200, accepted, "{offset_steps:+} steps");
        setup.time.advance(step * 3);
    }
}

#[tokio::test]
async fn a_recovery_code_logs_in_once() {
    let setup = setup().await;
    let (_, codes) = with_totp(&setup).await;
    let token = password_step(&setup).await;
    let code = codes[4].replace('-', "").to_lowercase();
    let response = call(&setup, &mfa_event(&token, "recovery_code", &code)).await;
    assert_eq!(response.status(), 200);
    let token = password_step(&setup).await;
    let response = call(&setup, &mfa_event(&token, "recovery_code", &codes[4])).await;
    assert_eq!(response.status(), 400, "spent");
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    let factor = setup
        .state
        .stores
        .second_factors
        .find(&alice)
        .await
        .unwrap();
    assert_eq!(factor.unwrap().recovery_codes.len(), 9);
}

#[tokio::test]
async fn refusals_are_byte_identical_and_cost_one_verification_with_totp_on_or_off() {
    let off = setup().await;
    let on = setup().await;
    with_totp(&on).await;
    let mut answers = Vec::new();
    for setup in [&off, &on] {
        let hasher = &setup.state.hasher;
        for body in [WRONG, "username=mallory&password=wrong+password"] {
            let before = hasher.verifications();
            answers.push(response_text(&call(setup, &event_with_body(body)).await));
            assert_eq!(hasher.verifications() - before, 1);
        }
        setup.state.stores.users.disable("alice");
        let before = hasher.verifications();
        answers.push(response_text(&call(setup, &event_with_body(RIGHT)).await));
        assert_eq!(hasher.verifications() - before, 1);
    }
    assert!(
        answers.iter().all(|answer| answer == &answers[0]),
        "{answers:?}"
    );

    let right = setup().await;
    with_totp(&right).await;
    let before = right.state.hasher.verifications();
    password_step(&right).await;
    assert_eq!(
        right.state.hasher.verifications() - before,
        1,
        "the password step"
    );
}

#[tokio::test]
async fn ten_concurrent_mfa_grants_with_one_token_give_one_success() {
    let setup = std::sync::Arc::new(setup().await);
    let (secret, codes) = with_totp(&setup).await;
    let token = password_step(&setup).await;
    let code = secret.code_at(now(&setup)).unwrap();
    let grants = (0..10).map(|i| {
        let setup = std::sync::Arc::clone(&setup);
        // Half present the code, half a different recovery code each.
        let event = if i % 2 == 0 {
            mfa_event(&token, "otp", &code)
        } else {
            mfa_event(&token, "recovery_code", &codes[i])
        };
        tokio::spawn(async move { call(&setup, &event).await.status() })
    });
    let statuses: Vec<_> = futures_util::future::join_all(grants)
        .await
        .into_iter()
        .map(|status| status.unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(setup.state.stores.sessions.len(), 1, "one session");
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_and_a_right_password_does_not_reset_it() {
    let setup = setup().await;
    let (secret, _) = with_totp(&setup).await;
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    let token = password_step(&setup).await;
    for attempt in 1..=5 {
        let response = call(&setup, &mfa_event(&token, "otp", "000000")).await;
        assert_eq!(response.status(), 400, "attempt {attempt}");
    }
    let failures = &setup.state.stores.login_failures;
    assert_eq!(failures.second_factor_record_of(&alice).failures, 5);
    assert_eq!(
        failures.record_of("alice").failures,
        0,
        "the password was right"
    );
    let code = secret.code_at(now(&setup)).unwrap();
    let response = call(&setup, &mfa_event(&token, "otp", &code)).await;
    assert_eq!(response.status(), 429, "locked: even the right code waits");
    let again = password_step(&setup).await;
    let response = call(&setup, &mfa_event(&again, "otp", &code)).await;
    assert_eq!(
        response.status(),
        429,
        "a new password step buys no guesses"
    );
    setup.time.advance(Duration::from_secs(1));
    let response = call(&setup, &mfa_event(&again, "otp", &code)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(failures.second_factor_record_of(&alice).failures, 0);
}

#[tokio::test]
async fn an_mfa_token_expires_after_five_minutes_and_dies_with_a_sign_out_everywhere() {
    let setup = setup().await;
    let (secret, _) = with_totp(&setup).await;
    let token = password_step(&setup).await;
    setup.time.advance(Duration::from_secs(300));
    let code = secret.code_at(now(&setup)).unwrap();
    let expired = response_json(&call(&setup, &mfa_event(&token, "otp", &code)).await);
    assert_eq!(expired["error"], "invalid_grant");

    let token = password_step(&setup).await;
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    setup
        .state
        .stores
        .users
        .bump_token_version(
            &alice,
            shared::identity::users::Revocation::Sessions,
            now(&setup),
        )
        .await
        .unwrap();
    let voided = call(&setup, &mfa_event(&token, "otp", &code)).await;
    assert_eq!(voided.status(), 400);
    let garbage = call(&setup, &mfa_event("not-a-token", "otp", &code)).await;
    assert_eq!(garbage.status(), 400);
}

#[tokio::test]
async fn the_login_time_of_a_two_factor_login_is_the_password_check() {
    let setup = setup().await;
    let (secret, _) = with_totp(&setup).await;
    let password_at = now(&setup);
    let token = password_step(&setup).await;
    setup.time.advance(Duration::from_secs(90));
    let code = secret.code_at(now(&setup)).unwrap();
    let body = response_json(&call(&setup, &mfa_event(&token, "otp", &code)).await);
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    let expected = password_at.duration_since(std::time::UNIX_EPOCH).unwrap();
    assert_eq!(claims.auth_time, expected.as_secs());
}

#[tokio::test]
async fn logins_are_recorded_for_existing_accounts_only_with_the_lock_they_cause() {
    use shared::identity::account_events::EventKind::{
        LoginFailed, LoginSucceeded, RefreshTokenReused, SecondFactorFailed, SecondFactorRequired,
    };
    let setup = setup().await;
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    let events = &setup.state.stores.events;
    let first = login(&setup).await;
    for _ in 0..5 {
        call(&setup, &event_with_body(WRONG)).await;
    }
    call(
        &setup,
        &event_with_body("username=mallory&password=wrong+password"),
    )
    .await;
    assert_eq!(
        events.kinds_of(&alice),
        [
            LoginSucceeded,
            LoginFailed,
            LoginFailed,
            LoginFailed,
            LoginFailed,
            LoginFailed
        ]
    );
    let recorded = events.all();
    assert_eq!(
        recorded.len(),
        6,
        "nothing recorded against an unknown name"
    );
    assert_eq!(recorded[4].locked_for_seconds, None);
    assert_eq!(
        recorded[5].locked_for_seconds,
        Some(1),
        "the fifth failure locks"
    );

    setup.time.advance(Duration::from_secs(2));
    let rotated = response_json(&refresh(&setup, &first["refresh_token"]).await);
    assert!(rotated["refresh_token"].is_string());
    refresh(&setup, &first["refresh_token"]).await;
    assert_eq!(events.kinds_of(&alice).last(), Some(&RefreshTokenReused));

    let (secret, _) = with_totp(&setup).await;
    let token = password_step(&setup).await;
    call(&setup, &mfa_event(&token, "otp", "000000")).await;
    let code = secret.code_at(now(&setup)).unwrap();
    assert_eq!(
        call(&setup, &mfa_event(&token, "otp", &code))
            .await
            .status(),
        200
    );
    let kinds = events.kinds_of(&alice);
    assert_eq!(
        kinds[kinds.len() - 3..],
        [SecondFactorRequired, SecondFactorFailed, LoginSucceeded]
    );
}

#[tokio::test]
async fn a_failing_event_store_changes_no_answer() {
    let setup = setup().await;
    setup.state.stores.events.fail();
    let response = call(&setup, &event_json("token.json")).await;
    assert_eq!(response.status(), 200);
    let wrong = call(&setup, &event_with_body(WRONG)).await;
    assert_eq!(
        response_json(&wrong),
        json!({"error": "invalid_grant", "error_description": "invalid username or password"})
    );
    assert!(setup.state.stores.events.all().is_empty());
}

#[tokio::test]
async fn a_revocation_is_a_session_end_in_the_accounts_history_once() {
    use shared::identity::account_events::EventKind::{LoginSucceeded, SessionEnded};
    let setup = setup().await;
    let alice = setup.state.stores.users.user("alice").unwrap().id;
    let tokens = login(&setup).await;
    let body = format!("token={}", tokens["refresh_token"].as_str().unwrap());
    for _ in 0..2 {
        let response = call(&setup, &revoke_event(&body)).await;
        assert_eq!(response.status(), 200);
    }
    assert_eq!(
        setup.state.stores.events.kinds_of(&alice),
        [LoginSucceeded, SessionEnded],
        "the second revocation ended nothing"
    );
}

/// The sample token event from `ip`, for `username` with `password`.
fn login_from(ip: &str, username: &str, password: &str) -> Value {
    let body = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ])
    .unwrap();
    shared::testing::from_source_ip(event_with_body(&body), ip)
}

#[tokio::test]
async fn one_address_spraying_passwords_over_many_names_is_refused_unhashed_past_its_limit() {
    let mut setup = setup().await;
    setup.state.password_failures_per_ip = Some(shared::abuse::rate_limits::Limit {
        name: "password-failures-ip",
        max: 3,
        window: Duration::from_secs(3600),
    });
    let hasher = setup.state.hasher.clone();
    let sprayer = "198.51.100.7";
    // Right passwords give their count back: any number of them stay within the limit.
    for _ in 0..5 {
        let response = call(
            &setup,
            &login_from(sprayer, "alice", "correct horse battery staple"),
        )
        .await;
        assert_eq!(response.status(), 200);
    }
    let names = ["bob", "carol", "dave", "%24ne", "erin", "frank"];
    let before = hasher.verifications();
    let mut statuses = Vec::new();
    for name in names {
        let response = call(&setup, &login_from(sprayer, name, "Summer2026!")).await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=3600).contains(&retry_after), "{retry_after}");
            let body = shared::testing::response_json(&response);
            assert_eq!(body["error"], "too_many_attempts", "{body}");
        }
    }
    assert_eq!(statuses, [400, 400, 400, 429, 429, 429]);
    assert_eq!(
        hasher.verifications() - before,
        3,
        "nothing is hashed past the limit"
    );

    // The address's own right password waits too (the documented bound: until the hour
    // ends); another address, and the same account from it, are not affected.
    let right = call(
        &setup,
        &login_from(sprayer, "alice", "correct horse battery staple"),
    )
    .await;
    assert_eq!(right.status(), 429);
    let elsewhere = call(
        &setup,
        &login_from("203.0.113.99", "alice", "correct horse battery staple"),
    )
    .await;
    assert_eq!(elsewhere.status(), 200);
    // IPv6 addresses count by their /56.
    for (n, ip) in [
        "2001:db8:1:200::1",
        "2001:db8:1:2ff::9",
        "2001:db8:1:2aa::5",
        "2001:db8:1:201::7",
    ]
    .iter()
    .enumerate()
    {
        let response = call(&setup, &login_from(ip, "nobody", "Summer2026!")).await;
        let expected = if n < 3 { 400 } else { 429 };
        assert_eq!(response.status(), expected, "{ip}");
    }
    setup.time.advance(Duration::from_secs(3600));
    let next_hour = call(
        &setup,
        &login_from(sprayer, "alice", "correct horse battery staple"),
    )
    .await;
    assert_eq!(next_hour.status(), 200);
}

#[tokio::test]
async fn an_argon2_hash_at_other_costs_spends_at_least_ours_and_is_rehashed_at_the_next_login() {
    let other_costs = PasswordHasher::new(HashingParams {
        memory_kib: 32,
        iterations: 1,
        parallelism: 2,
    })
    .unwrap();
    let foreign = other_costs
        .hash(&Password::parse("correct horse battery staple").unwrap())
        .await
        .unwrap();
    let store = MemoryUserStore::with_user("alice", &foreign, SystemTime::now());
    let setup = setup_with(store).await;
    let hasher = &setup.state.hasher;
    assert!(!hasher.is_current(&foreign) && hasher.costs_less(&foreign));

    let before = hasher.verifications();
    let response = call(&setup, &event_with_body(WRONG)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        hasher.verifications() - before,
        2,
        "the lighter hash, then the dummy at our costs"
    );
    let stored = || {
        setup
            .state
            .stores
            .users
            .user("alice")
            .unwrap()
            .password_hash
    };
    assert_eq!(stored(), foreign, "a failure changes nothing");

    let response = call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(response.status(), 200);
    assert!(hasher.is_current(&stored()), "{}", stored());
    let before = hasher.verifications();
    call(&setup, &event_with_body(WRONG)).await;
    assert_eq!(
        hasher.verifications() - before,
        1,
        "one verification, as for any account"
    );
    let response = call(&setup, &event_with_body(RIGHT)).await;
    assert_eq!(
        response.status(),
        200,
        "the new hash holds the same password"
    );
}

#[tokio::test]
async fn with_the_password_grant_off_a_password_login_is_an_unsupported_grant_and_nothing_is_checked()
 {
    let mut setup = setup().await;
    setup.state.password_grant = false;
    let response = call(&setup, &event_json("token.json")).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response_json(&response)["error"], "unsupported_grant_type");
    assert!(setup.state.stores.sessions.is_empty());
    assert_eq!(
        setup
            .state
            .stores
            .login_failures
            .record_of("alice")
            .failures,
        0,
        "no password was checked or counted"
    );
}

#[tokio::test]
async fn a_federated_sign_in_to_an_account_with_totp_needs_its_code_and_says_fed_otp_mfa() {
    let setup = setup().await;
    let alice = setup.state.stores.users.user("alice").unwrap();
    let source = shared::platform::http::RequestSource::default();
    let step = token::sign_in::federated(&setup.state, alice.clone(), now(&setup), &source)
        .await
        .unwrap();
    assert!(
        matches!(step, token::sign_in::PasswordStep::Complete(_)),
        "no second factor: complete"
    );

    let (secret, _) = with_totp(&setup).await;
    // An hour ago at the provider (its session there): the code step still has its five minutes.
    let signed_in_there = now(&setup) - std::time::Duration::from_secs(3600);
    let step = token::sign_in::federated(&setup.state, alice, signed_in_there, &source)
        .await
        .unwrap();
    let token::sign_in::PasswordStep::SecondFactor { mfa_token, .. } = step else {
        panic!("with TOTP on, the provider's sign-in is only the first step: {step:?}");
    };
    let code = secret.code_at(now(&setup)).unwrap();
    let response = call(&setup, &mfa_event(&mfa_token, "otp", &code)).await;
    let body = response_json(&response);
    assert_eq!(response.status(), 200, "{body}");
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, ["fed", "otp", "mfa"]);
    assert_eq!(
        claims.auth_time,
        signed_in_there
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        "the login happened at the provider"
    );
}
