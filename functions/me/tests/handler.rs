//! `GET /users/me` on the sample event and on every refusal, with an in-memory store.

use serde_json::Value;
use shared::credentials::Username;
use shared::testing::{MemoryStores, MemoryUserStore, event_json, request_from, response_json};
use shared::users::UserStore as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn store_with_alice() -> MemoryUserStore {
    let created = UNIX_EPOCH + Duration::from_millis(1_795_926_600_123);
    MemoryUserStore::with_user("alice", "$argon2id$v=19$stored-hash", created)
}

async fn call(store: &MemoryUserStore, event: &Value) -> (u16, Value) {
    let state = me::State {
        stores: MemoryStores::with_users(store),
    };
    let response = me::handle(&state, request_from(event)).await;
    (response.status().as_u16(), response_json(&response))
}

#[tokio::test]
async fn the_sample_event_returns_the_callers_own_record_without_the_hash() {
    let store = store_with_alice();
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"username": "alice", "created_at": "2026-11-29T04:30:00.123Z", "disabled": false})
    );
    assert!(!body.to_string().contains("argon2"));
}

#[tokio::test]
async fn the_record_is_the_callers_not_a_fixed_user() {
    let store = store_with_alice();
    store
        .insert(
            &Username::parse("Bob.Smith").unwrap(),
            "$argon2id$x",
            SystemTime::now(),
        )
        .await
        .unwrap();
    let mut event = event_json("me.json");
    event["requestContext"]["authorizer"]["principalId"] = "bob.smith".into();
    let (status, body) = call(&store, &event).await;
    assert_eq!(status, 200);
    assert_eq!(body["username"], "Bob.Smith");
}

#[tokio::test]
async fn a_request_without_an_authorizer_principal_is_401() {
    let store = store_with_alice();
    let mut event = event_json("me.json");
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, body) = call(&store, &event).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn an_unknown_or_disabled_caller_is_403() {
    let store = store_with_alice();
    let mut event = event_json("me.json");
    event["requestContext"]["authorizer"]["principalId"] = "ghost".into();
    assert_eq!(call(&store, &event).await.0, 403, "unknown user");

    store.disable("alice");
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 403, "disabled user");
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn a_store_failure_is_500() {
    let (status, body) = call(&MemoryUserStore::failing(), &event_json("me.json")).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"], "internal_error");
}

#[tokio::test]
async fn an_unreachable_database_is_503() {
    let (status, body) = call(&MemoryUserStore::unreachable(), &event_json("me.json")).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "service_unavailable");
}

#[tokio::test]
async fn a_token_older_than_the_accounts_token_version_is_401() {
    let store = store_with_alice();
    let alice = Username::parse("alice").unwrap();
    store
        .bump_token_version(&alice, SystemTime::now())
        .await
        .unwrap();
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 401, "ver 0 after a logout-everywhere");
    assert_eq!(body["error"], "unauthenticated");

    for version in [serde_json::json!("1"), serde_json::json!(1)] {
        let mut event = event_json("me.json");
        event["requestContext"]["authorizer"]["ver"] = version.clone();
        assert_eq!(call(&store, &event).await.0, 200, "ver {version}");
    }
}
