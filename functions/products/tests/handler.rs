//! `GET /products` on the sample event and on every refusal, with in-memory stores.

use serde_json::Value;
use shared::clock::Clock;
use shared::testing::{MemoryStores, MemoryUserStore, event_json, request_from, response_json};
use std::time::SystemTime;

fn store_with_alice() -> MemoryUserStore {
    MemoryUserStore::with_user("alice", "$argon2id$x", SystemTime::now())
}

async fn call(users: &MemoryUserStore, event: &Value) -> (u16, Value) {
    let stores = MemoryStores::with_users(users);
    let state = products::State::new(&[], stores, Clock::system()).unwrap();
    let response = products::handle(&state, request_from(event)).await;
    (response.status().as_u16(), response_json(&response))
}

#[tokio::test]
async fn the_sample_event_lists_the_products() {
    let (status, body) = call(&store_with_alice(), &event_json("products.json")).await;
    assert_eq!(status, 200);
    let products = body["products"].as_array().unwrap();
    assert_eq!(products.len(), 4);
    assert_eq!(products[0]["id"], "prod-001");
    assert_eq!(products[0]["price_cents"], 8900);
    assert_eq!(products[0]["currency"], "USD");
}

#[tokio::test]
async fn no_principal_is_401_and_a_disabled_caller_is_403() {
    let users = store_with_alice();
    let mut event = event_json("products.json");
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    assert_eq!(call(&users, &event).await.0, 401);

    users.disable("alice");
    let (status, body) = call(&users, &event_json("products.json")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "forbidden");
}
