//! The whole API on a real MongoDB-compatible server (`MONGODB_TEST_URI`; `make test` starts
//! one), calling each function's handler as Lambda would and passing the authorizer's
//! decision on the way API Gateway does.

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::platform::clock::Clock;
use shared::stores::MongoStores;
use shared::testing::{event_json, request_from, response_json, token_pair};
use std::sync::Arc;

/// Every function's state on one test database, as their cold starts build it.
struct Api {
    database: mongodb::Database,
    signup: signup::State<MongoStores>,
    token: token::State<MongoStores>,
    me: me::State<MongoStores>,
    products: products::State<MongoStores>,
    authorizer: authorizer::State,
}

async fn api() -> Api {
    let (database, stores) = shared::testing::mongo_stores().await;
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let (issuer, verifier, _) = token_pair();
    Api {
        database,
        signup: signup::State {
            stores: stores.clone(),
            hasher: hasher.clone(),
            clock: Clock::system(),
            mailer: shared::mail::sender::Mailer::Off,
            mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            breached: shared::factors::breached_passwords::BreachedPasswords::off(),
            hooks: shared::hooks::Hooks::none(),
        },
        token: token::State {
            stores: stores.clone(),
            hasher,
            issuer,
            mfa: shared::testing::mfa_settings(),
            clock: Clock::system(),
            metrics: shared::platform::metrics::Metrics::default(),
            roles: shared::access::roles::Roles::default(),
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
                .unwrap(),
            id_token_key: None,
            password_grant: true,
            upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
            hooks: shared::hooks::Hooks::none(),
            hook_scopes_beyond_roles: false,
        },
        me: me::State {
            stores: stores.clone(),
            clock: Clock::system(),
            recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
        },
        products: products::State::new(&[], stores, Clock::system()).unwrap(),
        authorizer: authorizer::State::new(verifier, shared::testing::token_settings()),
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
        serde_json::to_value(authorizer::authorize(&api.authorizer, &request).ok()?).unwrap();
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
    let response = signup::handle(&api.signup, request_from(&event_json("signup.json"))).await;
    assert_eq!(response.status(), 201);

    let response = token::handle(&api.token, request_from(&event_json("token.json"))).await;
    assert_eq!(response.status(), 200);
    let access_token = response_json(&response)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let context = authorize(&api, &format!("Bearer {access_token}")).expect("allowed");
    let stored = api.database.collection::<mongodb::bson::Document>("users");
    let alice = stored
        .find_one(mongodb::bson::doc! { "username_canonical": "alice" })
        .await
        .unwrap()
        .unwrap();
    let alice_id = alice.get_object_id("_id").unwrap().to_hex();
    assert_eq!(
        context["principalId"],
        alice_id.as_str(),
        "tokens name the account id"
    );

    let response = me::handle(
        &api.me,
        request_from(&protected_event("me.json", context.clone())),
    )
    .await;
    assert_eq!(response.status(), 200);
    let me = response_json(&response);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["disabled"], false);
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let event = protected_event("products.json", context);
    let response = products::handle(&api.products, request_from(&event)).await;
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
    signup::handle(&api.signup, request_from(&event_json("signup.json"))).await;
    let mut event = event_json("token.json");
    event["body"] = "grant_type=password&username=alice&password=guess1234".into();
    let response = token::handle(&api.token, request_from(&event)).await;
    assert_eq!(response.status(), 400);
    assert_eq!(response_json(&response)["error"], "invalid_grant");

    let (stranger, _, _) = token_pair();
    let forged = stranger
        .issue("alice", 0, std::time::SystemTime::now())
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
            signup::handle(&api.signup, request_from(&event))
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
        &api.signup,
        request_from(&signup_event("Alice", "first password")),
    )
    .await;
    assert_eq!(first.status(), 201);
    let second = signup::handle(
        &api.signup,
        request_from(&signup_event("aLICE", "second password")),
    )
    .await;
    assert_eq!(second.status(), 409);

    let mut event = event_json("token.json");
    event["body"] = "username=aLICE&password=second+password".into();
    assert_eq!(
        token::handle(&api.token, request_from(&event))
            .await
            .status(),
        400
    );
    event["body"] = "username=aLICE&password=first+password".into();
    assert_eq!(
        token::handle(&api.token, request_from(&event))
            .await
            .status(),
        200
    );
}

/// Every user document, in insertion order: what a refused request must leave unchanged.
async fn users_snapshot(api: &Api) -> Vec<mongodb::bson::Document> {
    shared::testing::all_documents(&api.database, "users").await
}

/// One hostile request and the answer it must get.
struct Hostile {
    name: &'static str,
    call: Call,
    status: u16,
    error: &'static str,
}

enum Call {
    /// `POST /signup` with this content type and body.
    Signup(&'static str, String),
    /// `POST /token` with this content type and body.
    Token(&'static str, String),
    /// `POST /signup` with this body marked `isBase64Encoded` but not valid base64 text.
    SignupBase64(String),
    /// `GET /users/me` with this `Authorization` header, through the authorizer.
    Me(String),
}

fn hostile_inputs(valid_token: &str, forge: impl Fn(Value, Value) -> String) -> Vec<Hostile> {
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": "alice", "iss": "https://auth.test", "aud": "test-api",
        "iat": now, "exp": now + 600, "jti": "x"});
    let header = |extra: Value| {
        let mut header = json!({"alg": "EdDSA", "typ": "JWT"});
        header
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        header
    };
    let row = |name, call, status, error| Hostile {
        name,
        call,
        status,
        error,
    };
    vec![
        row(
            "operator as username",
            Call::Signup(
                json,
                json!({"username": {"$ne": null}, "password": "long enough pass"}).to_string(),
            ),
            422,
            "validation_failed",
        ),
        row(
            "operator as password",
            Call::Signup(
                json,
                json!({"username": "mallory", "password": {"$gt": ""}}).to_string(),
            ),
            422,
            "validation_failed",
        ),
        row(
            "array body",
            Call::Signup(json, json!(["alice", "pw"]).to_string()),
            422,
            "validation_failed",
        ),
        row(
            "truncated JSON",
            Call::Signup(json, "{\"username\": \"mallory\"".into()),
            400,
            "malformed_body",
        ),
        row(
            "invalid UTF-8 as base64",
            Call::SignupBase64("/w==".into()),
            400,
            "malformed_body",
        ),
        row(
            "form body to signup",
            Call::Signup(form, "username=mallory&password=long+enough+pass".into()),
            415,
            "unsupported_media_type",
        ),
        row(
            "no content type",
            Call::Signup(
                "",
                json!({"username": "mallory", "password": "long enough pass"}).to_string(),
            ),
            415,
            "unsupported_media_type",
        ),
        row(
            "17 KiB body",
            Call::Signup(
                json,
                json!({"username": "mallory", "password": "p".repeat(17 * 1024)}).to_string(),
            ),
            413,
            "payload_too_large",
        ),
        row(
            "common password",
            Call::Signup(
                json,
                json!({"username": "mallory", "password": "iloveyou1"}).to_string(),
            ),
            422,
            "validation_failed",
        ),
        row(
            "password is the username",
            Call::Signup(
                json,
                json!({"username": "mallory.m", "password": "MALLORY.M"}).to_string(),
            ),
            422,
            "validation_failed",
        ),
        row(
            "username with NUL",
            Call::Signup(
                json,
                json!({"username": "mal\u{0}lory", "password": "long enough pass"}).to_string(),
            ),
            422,
            "validation_failed",
        ),
        row(
            "case variant of a taken name",
            Call::Signup(
                json,
                json!({"username": "ALICE", "password": "long enough pass"}).to_string(),
            ),
            409,
            "username_taken",
        ),
        row(
            "full-width variant of a taken name",
            Call::Signup(
                json,
                json!({"username": "ａｌｉｃｅ", "password": "long enough pass"}).to_string(),
            ),
            409,
            "username_taken",
        ),
        row(
            "bracket operator in a form",
            Call::Token(form, "username[$ne]=x&password=y".into()),
            400,
            "invalid_request",
        ),
        row(
            "duplicate form field",
            Call::Token(form, "username=alice&username=bob&password=y".into()),
            400,
            "invalid_request",
        ),
        row(
            "JSON to the token endpoint",
            Call::Token(
                json,
                json!({"username": "alice", "password": "x"}).to_string(),
            ),
            415,
            "invalid_request",
        ),
        row(
            "unsupported grant",
            Call::Token(form, "grant_type=implicit&code=x".into()),
            400,
            "unsupported_grant_type",
        ),
        row(
            "oversized form",
            Call::Token(
                form,
                format!("username=alice&password={}", "x".repeat(17 * 1024)),
            ),
            413,
            "invalid_request",
        ),
        row(
            "alg none",
            Call::Me(format!(
                "Bearer {}",
                forge(json!({"alg": "none", "typ": "JWT"}), claims.clone())
            )),
            401,
            "unauthenticated",
        ),
        row(
            "embedded jwk",
            Call::Me(format!(
                "Bearer {}",
                forge(header(json!({"jwk": {"kty": "OKP"}})), claims.clone())
            )),
            401,
            "unauthenticated",
        ),
        row(
            "jku header",
            Call::Me(format!(
                "Bearer {}",
                forge(
                    header(json!({"jku": "https://evil.example/jwks"})),
                    claims.clone()
                )
            )),
            401,
            "unauthenticated",
        ),
        row(
            "crit header",
            Call::Me(format!(
                "Bearer {}",
                forge(header(json!({"crit": ["exp"]})), claims.clone())
            )),
            401,
            "unauthenticated",
        ),
        row(
            "token over 8 KiB",
            Call::Me(format!("Bearer {valid_token}{}", "A".repeat(8 * 1024))),
            401,
            "unauthenticated",
        ),
        row(
            "tampered signature",
            Call::Me(format!("Bearer {}x", &valid_token[..valid_token.len() - 1])),
            401,
            "unauthenticated",
        ),
    ]
}

#[tokio::test]
async fn hostile_inputs_get_their_documented_answer_and_store_nothing() {
    use base64::Engine as _;
    let api = api().await;
    let created = signup::handle(&api.signup, request_from(&event_json("signup.json"))).await;
    assert_eq!(created.status(), 201);
    let issued = token::handle(&api.token, request_from(&event_json("token.json"))).await;
    let valid_token = response_json(&issued)["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let encode =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let forge = |header: Value, claims: Value| {
        format!("{}.{}.{}", encode(&header), encode(&claims), "c2ln")
    };

    let before = users_snapshot(&api).await;
    for row in hostile_inputs(&valid_token, forge) {
        let response = match row.call {
            Call::Signup(content_type, body) => {
                signup::handle(
                    &api.signup,
                    request_from(&with_body("signup.json", content_type, body, false)),
                )
                .await
            }
            Call::SignupBase64(body) => {
                signup::handle(
                    &api.signup,
                    request_from(&with_body("signup.json", "application/json", body, true)),
                )
                .await
            }
            Call::Token(content_type, body) => {
                token::handle(
                    &api.token,
                    request_from(&with_body("token.json", content_type, body, false)),
                )
                .await
            }
            Call::Me(authorization) => match authorize(&api, &authorization) {
                Some(context) => {
                    me::handle(&api.me, request_from(&protected_event("me.json", context))).await
                }
                None => {
                    // What API Gateway answers when the authorizer refuses (the template's
                    // UNAUTHORIZED gateway response).
                    assert_eq!(users_snapshot(&api).await, before, "{}", row.name);
                    assert_eq!(row.status, 401, "{}", row.name);
                    continue;
                }
            },
        };
        assert_eq!(response.status(), row.status, "{}", row.name);
        assert_eq!(response_json(&response)["error"], row.error, "{}", row.name);
        assert_eq!(
            users_snapshot(&api).await,
            before,
            "{}: the users collection is unchanged",
            row.name
        );
    }
}

/// A sample event with its content type and body replaced.
fn with_body(file: &str, content_type: &str, body: String, base64: bool) -> Value {
    let mut event = event_json(file);
    for headers in ["headers", "multiValueHeaders"] {
        event[headers]
            .as_object_mut()
            .unwrap()
            .remove("Content-Type");
    }
    if !content_type.is_empty() {
        event["headers"]["Content-Type"] = content_type.into();
        event["multiValueHeaders"]["Content-Type"] = json!([content_type]);
    }
    event["body"] = body.into();
    event["isBase64Encoded"] = base64.into();
    event
}
