//! `GET /products` on the sample event and on every refusal, with in-memory stores.

use serde_json::Value;
use shared::platform::clock::Clock;
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

async fn call_with(state: &products::State<MemoryStores>, event: &Value) -> (u16, Value) {
    let response = products::handle(state, request_from(event)).await;
    let body = match response.body() {
        lambda_http::Body::Empty => Value::Null,
        _ => response_json(&response),
    };
    (response.status().as_u16(), body)
}

fn writer_state(ttl_seconds: &str) -> products::State<MemoryStores> {
    let users = store_with_alice();
    users.grant("alice", &["admin"]);
    let stores = MemoryStores::with_users(&users);
    products::State::new(
        &[("PRODUCT_CACHE_SECONDS", ttl_seconds)],
        stores,
        Clock::system(),
    )
    .unwrap()
}

fn with_body(name: &str, body: Value) -> Value {
    shared::testing::event_with_json(name, &body)
}

#[tokio::test]
async fn products_are_created_replaced_and_deleted_and_the_instance_sees_each_change_at_once() {
    let state = writer_state("3600");
    let ids = |body: &Value| -> Vec<String> {
        body["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, before) = call_with(&state, &event_json("products.json")).await;
    assert!(
        !ids(&before).contains(&"prod-005".to_owned()),
        "cached for an hour"
    );

    let response =
        products::handle(&state, request_from(&event_json("products-create.json"))).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/products/prod-005");
    assert_eq!(response_json(&response)["currency"], "EUR");
    let (_, listed) = call_with(&state, &event_json("products.json")).await;
    assert!(
        ids(&listed).contains(&"prod-005".to_owned()),
        "a write clears this instance's copy"
    );

    let (status, body) = call_with(&state, &event_json("products-create.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("product_exists"))
    );

    let (status, body) = call_with(&state, &event_json("products-replace.json")).await;
    assert_eq!((status, body["price_cents"].as_i64()), (200, Some(9400)));
    let (_, listed) = call_with(&state, &event_json("products.json")).await;
    assert_eq!(listed["products"][0]["price_cents"], 9400);

    let (status, _) = call_with(&state, &event_json("products-delete.json")).await;
    assert_eq!(status, 204);
    let (status, body) = call_with(&state, &event_json("products-delete.json")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("product_not_found"))
    );
    let (_, listed) = call_with(&state, &event_json("products.json")).await;
    assert!(!ids(&listed).contains(&"prod-004".to_owned()));
}

#[tokio::test]
async fn a_product_without_an_id_gets_one() {
    let state = writer_state("0");
    let (status, body) = call_with(
        &state,
        &with_body(
            "products-create.json",
            serde_json::json!({"name": "Cable", "price_cents": 900, "currency": "USD"}),
        ),
    )
    .await;
    assert_eq!(status, 201);
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("prod-") && id.len() == 17, "{id}");
    assert_eq!(body["description"], "");
}

#[tokio::test]
async fn invalid_product_bodies_are_refused_naming_the_field_and_change_nothing() {
    let state = writer_state("0");
    let valid = serde_json::json!({"name": "Cable", "description": "", "price_cents": 900, "currency": "USD"});
    let cases = [
        ("name", serde_json::json!({"name": "   "})),
        ("name", serde_json::json!({"name": "x".repeat(201)})),
        ("name", serde_json::json!({"name": "a\u{0007}b"})),
        ("name", serde_json::json!({"name": 5})),
        (
            "description",
            serde_json::json!({"description": "d".repeat(2001)}),
        ),
        ("price_cents", serde_json::json!({"price_cents": -1})),
        ("price_cents", serde_json::json!({"price_cents": 9.5})),
        ("price_cents", serde_json::json!({"price_cents": "900"})),
        (
            "price_cents",
            serde_json::json!({"price_cents": 100_000_000_001_i64}),
        ),
        ("currency", serde_json::json!({"currency": "usd"})),
        ("currency", serde_json::json!({"currency": "EURO"})),
        ("body", serde_json::json!({"colour": "red"})),
        ("id", serde_json::json!({"id": "Prod 1"})),
        ("id", serde_json::json!({"id": {"$ne": null}})),
    ];
    for (field, change) in cases {
        let mut body = valid.clone();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, answer) =
            call_with(&state, &with_body("products-create.json", body.clone())).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let (status, _) = call_with(
        &state,
        &with_body(
            "products-replace.json",
            serde_json::json!({"id": "prod-009", "name": "x", "price_cents": 1, "currency": "USD"}),
        ),
    )
    .await;
    assert_eq!(status, 422, "the id is the path's, not the body's");
    let (_, listed) = call_with(&state, &event_json("products.json")).await;
    assert_eq!(
        listed["products"].as_array().unwrap().len(),
        4,
        "nothing stored"
    );

    let mut wrong_type = event_json("products-create.json");
    wrong_type["headers"]["Content-Type"] = "text/plain".into();
    wrong_type["multiValueHeaders"]["Content-Type"] = serde_json::json!(["text/plain"]);
    assert_eq!(call_with(&state, &wrong_type).await.0, 415);
    assert_eq!(
        call_with(&state, &with_body("products-create.json", "[".into()))
            .await
            .0,
        422
    );
}

#[tokio::test]
async fn replacing_a_product_that_does_not_exist_is_404() {
    let state = writer_state("0");
    let mut event = event_json("products-replace.json");
    event["pathParameters"]["id"] = "prod-404".into();
    let (status, body) = call_with(&state, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("product_not_found"))
    );
    event["pathParameters"]["id"] = "../etc".into();
    assert_eq!(call_with(&state, &event).await.0, 404);
}

#[tokio::test]
async fn a_write_scope_the_accounts_roles_no_longer_grant_is_refused() {
    let users = store_with_alice();
    let state =
        products::State::new(&[], MemoryStores::with_users(&users), Clock::system()).unwrap();
    let (status, _) = call_with(&state, &event_json("products-create.json")).await;
    assert_eq!(
        status, 401,
        "the token says products:write, alice's roles do not"
    );
    let (_, listed) = call_with(&state, &event_json("products.json")).await;
    assert_eq!(
        listed["products"].as_array().unwrap().len(),
        4,
        "nothing stored"
    );
}
