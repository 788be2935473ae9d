//! The whole API on a real MongoDB-compatible server (`MONGODB_TEST_URI`; `make test` starts
//! one), calling each function's handler as Lambda would and passing the authorizer's
//! decision on the way API Gateway does.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use serde_json::{Value, json};
use shared::clock::Clock;
use shared::hashing::{HashingParams, PasswordHasher};
use shared::lockout::MongoLoginAttempts;
use shared::products::MongoProductStore;
use shared::testing::{
    event_json, request_from, response_json, test_database_settings, token_pair,
};
use shared::tokens::TokenVerifier;
use shared::users::MongoUserStore;
use std::sync::Arc;
use token::TokenService;

struct Api {
    users: MongoUserStore,
    products: MongoProductStore,
    hasher: PasswordHasher,
    tokens: TokenService<MongoUserStore, MongoLoginAttempts>,
    verifier: TokenVerifier,
}

async fn api() -> Api {
    let database = shared::db::connect(&test_database_settings())
        .await
        .unwrap();
    let users = MongoUserStore::new(&database);
    users.ensure_indexes().await.unwrap();
    let products = MongoProductStore::new(&database);
    products.seed().await.unwrap();
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let (issuer, verifier, _) = token_pair();
    let tokens = TokenService {
        store: users.clone(),
        attempts: MongoLoginAttempts::new(&database),
        hasher: hasher.clone(),
        issuer,
        clock: Clock::system(),
    };
    Api {
        users,
        products,
        hasher,
        tokens,
        verifier,
    }
}

fn signup_event(username: &str, password: &str) -> Value {
    let mut event = event_json("signup.json");
    event["body"] = json!({"username": username, "password": password})
        .to_string()
        .into();
    event
}

/// Runs the authorizer on `authorization` and, when it allows, returns the request context
/// `authorizer` object API Gateway would hand to the protected function.
fn authorize(api: &Api, authorization: &str) -> Option<Value> {
    let mut event = event_json("authorizer.json");
    event["authorizationToken"] = authorization.into();
    let request: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(event).unwrap();
    let decision =
        serde_json::to_value(authorizer::authorize(&api.verifier, &request).ok()?).unwrap();
    assert_eq!(
        decision["policyDocument"]["Statement"][0]["Effect"],
        "Allow"
    );
    let mut context = decision["context"].clone();
    context["principalId"] = decision["principalId"].clone();
    Some(context)
}

fn protected_event(file: &str, authorizer_context: Value) -> Value {
    let mut event = event_json(file);
    event["requestContext"]["authorizer"] = authorizer_context;
    event
}

#[tokio::test]
async fn signup_then_token_then_authorizer_then_me_and_products() {
    let api = api().await;
    let response = signup::handle(
        &api.users,
        &api.hasher,
        request_from(&event_json("signup.json")),
    )
    .await;
    assert_eq!(response.status(), 201);

    let response = token::handle(&api.tokens, request_from(&event_json("token.json"))).await;
    assert_eq!(response.status(), 200);
    let access_token = response_json(&response)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let context = authorize(&api, &format!("Bearer {access_token}")).expect("allowed");
    assert_eq!(context["principalId"], "alice");

    let response = me::handle(
        &api.users,
        request_from(&protected_event("me.json", context.clone())),
    )
    .await;
    assert_eq!(response.status(), 200);
    let me = response_json(&response);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["disabled"], false);
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let event = protected_event("products.json", context);
    let response = products::handle(&api.users, &api.products, request_from(&event)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response_json(&response)["products"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn a_wrong_password_gets_no_token_and_a_forged_token_no_access() {
    let api = api().await;
    signup::handle(
        &api.users,
        &api.hasher,
        request_from(&event_json("signup.json")),
    )
    .await;
    let mut event = event_json("token.json");
    event["body"] = "grant_type=password&username=alice&password=guess1234".into();
    let response = token::handle(&api.tokens, request_from(&event)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response_json(&response)["error"], "invalid_grant");

    let (stranger, _, _) = token_pair();
    let forged = stranger
        .issue("alice", std::time::SystemTime::now())
        .unwrap()
        .token;
    assert!(authorize(&api, &format!("Bearer {forged}")).is_none());
}

#[tokio::test]
async fn twenty_concurrent_signups_of_one_username_give_one_201_and_nineteen_409s() {
    let api = Arc::new(api().await);
    let attempts = (0..20).map(|i| {
        let api = Arc::clone(&api);
        let username = if i % 3 == 0 { "Racer" } else { "racer" };
        tokio::spawn(async move {
            let event = signup_event(username, "a long enough password");
            signup::handle(&api.users, &api.hasher, request_from(&event))
                .await
                .status()
                .as_u16()
        })
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [vec![201], vec![409; 19]].concat());
}

#[tokio::test]
async fn a_case_variant_of_a_taken_username_is_refused_and_cannot_log_in_as_a_new_account() {
    let api = api().await;
    let first = signup::handle(
        &api.users,
        &api.hasher,
        request_from(&signup_event("Alice", "first password")),
    )
    .await;
    assert_eq!(first.status(), 201);
    let second = signup::handle(
        &api.users,
        &api.hasher,
        request_from(&signup_event("aLICE", "second password")),
    )
    .await;
    assert_eq!(second.status(), 409);

    let mut event = event_json("token.json");
    event["body"] = "username=aLICE&password=second+password".into();
    assert_eq!(
        token::handle(&api.tokens, request_from(&event))
            .await
            .status(),
        400
    );
    event["body"] = "username=aLICE&password=first+password".into();
    assert_eq!(
        token::handle(&api.tokens, request_from(&event))
            .await
            .status(),
        200
    );
}
