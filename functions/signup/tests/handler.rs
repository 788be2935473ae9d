//! The signup handler on the sample event and on every error case, with an in-memory store.

use base64::Engine as _;
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::mail::sender::{MailSettings, Mailer};
use shared::platform::clock::Clock;
use shared::testing::RecordingMailer;
use shared::testing::{MemoryStores, MemoryUserStore, event_json, request_from, response_json};
use signup::State;

/// The function's state on `users` (a handle: the test sees what the request stored).
fn state(users: &MemoryUserStore) -> State<MemoryStores> {
    state_with_mailer(users, Mailer::Recording(RecordingMailer::default()))
}

fn state_with_mailer(users: &MemoryUserStore, mailer: Mailer) -> State<MemoryStores> {
    State {
        stores: MemoryStores::with_users(users),
        hasher: PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap(),
        clock: Clock::system(),
        mailer,
        mail: MailSettings::from_source(&[]).unwrap(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        breached: shared::factors::breached_passwords::BreachedPasswords::off(),
        hooks: shared::hooks::Hooks::none(),
    }
}

fn event_with_body(body: &str) -> Value {
    shared::testing::event_with_body("signup.json", body)
}

fn event_with_content_type(content_type: Option<&str>) -> Value {
    let mut event = event_json("signup.json");
    for headers in ["headers", "multiValueHeaders"] {
        event[headers]
            .as_object_mut()
            .unwrap()
            .remove("Content-Type");
    }
    if let Some(value) = content_type {
        event["headers"]["Content-Type"] = value.into();
        event["multiValueHeaders"]["Content-Type"] = json!([value]);
    }
    event
}

async fn call(store: &MemoryUserStore, event: &Value) -> (u16, Value) {
    let response = signup::handle(&state(store), request_from(event)).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    (response.status().as_u16(), response_json(&response))
}

#[tokio::test]
async fn the_sample_event_creates_the_user() {
    let store = MemoryUserStore::default();
    let (status, body) = call(&store, &event_json("signup.json")).await;
    assert_eq!(status, 201);
    assert_eq!(
        body,
        json!({"message": "Created user successfully!", "username": "alice"})
    );
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2id_hash() {
    use shared::identity::users::UserStore as _;
    let store = MemoryUserStore::default();
    call(&store, &event_json("signup.json")).await;
    let alice = shared::identity::credentials::Username::parse("alice").unwrap();
    let user = store.find(&alice).await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    assert!(!user.password_hash.contains("correct horse"));
}

#[tokio::test]
async fn a_taken_username_is_a_conflict_in_any_letter_case() {
    let store = MemoryUserStore::default();
    call(&store, &event_json("signup.json")).await;
    for username in ["alice", "ALICE", "Alice"] {
        let body = json!({"username": username, "password": "another good password"}).to_string();
        let (status, body) = call(&store, &event_with_body(&body)).await;
        assert_eq!(status, 409, "{username}");
        assert_eq!(body["error"], "username_taken");
    }
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn invalid_fields_are_422_naming_the_field_and_store_nothing() {
    let cases = [
        (
            json!({"username": "al", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "al ice", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "alice", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "alice", "password": "p".repeat(129)}),
            "password",
        ),
        (json!({"password": "long enough"}), "username"),
        (json!({"username": "alice"}), "password"),
        (
            json!({"username": null, "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": {"$ne": null}, "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "alice", "password": 12345678}),
            "password",
        ),
        (json!(["alice", "long enough"]), "body"),
        (json!("alice"), "body"),
    ];
    for (body, field) in cases {
        let store = MemoryUserStore::default();
        let (status, response) = call(&store, &event_with_body(&body.to_string())).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(response["error"], "validation_failed", "{body}");
        assert_eq!(response["field"], field, "{body}");
        assert!(store.is_empty(), "{body} stored nothing");
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    for body in [
        "{",
        "",
        "{\"username\": \"alice\",}",
        "username=alice&password=x",
    ] {
        let store = MemoryUserStore::default();
        let (status, response) = call(&store, &event_with_body(body)).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(response["error"], "malformed_body");
        assert!(store.is_empty());
    }
}

#[tokio::test]
async fn a_wrong_or_missing_content_type_is_415() {
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let store = MemoryUserStore::default();
        let (status, response) = call(&store, &event_with_content_type(content_type)).await;
        assert_eq!(status, 415, "{content_type:?}");
        assert_eq!(response["error"], "unsupported_media_type");
        assert!(store.is_empty());
    }
    let store = MemoryUserStore::default();
    let (status, _) = call(
        &store,
        &event_with_content_type(Some("application/json; charset=utf-8")),
    )
    .await;
    assert_eq!(status, 201, "parameters on the media type are fine");
}

#[tokio::test]
async fn a_body_over_16_kib_is_413() {
    let store = MemoryUserStore::default();
    let padding = "x".repeat(16 * 1024);
    let body =
        json!({"username": "alice", "password": "long enough", "padding": padding}).to_string();
    let (status, response) = call(&store, &event_with_body(&body)).await;
    assert_eq!(status, 413);
    assert_eq!(response["error"], "payload_too_large");
    assert!(store.is_empty());
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded() {
    let store = MemoryUserStore::default();
    let mut event = event_json("signup.json");
    let raw = event["body"].as_str().unwrap().to_owned();
    event["body"] = base64::engine::general_purpose::STANDARD.encode(raw).into();
    event["isBase64Encoded"] = true.into();
    let (status, _) = call(&store, &event).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn a_store_failure_is_a_500_that_reveals_nothing() {
    let store = MemoryUserStore::failing();
    let (status, body) = call(&store, &event_json("signup.json")).await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": "internal_error", "message": "internal server error"})
    );
}

#[tokio::test]
async fn an_unreachable_database_is_a_503_with_retry_after() {
    let store = MemoryUserStore::unreachable();
    let response = signup::handle(&state(&store), request_from(&event_json("signup.json"))).await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(response_json(&response)["error"], "service_unavailable");
}

#[tokio::test]
async fn weak_passwords_are_422_naming_the_reason() {
    let cases = [
        (
            json!({"username": "alice", "password": "iloveyou1"}),
            "too common",
        ),
        (
            json!({"username": "alice", "password": "Password"}),
            "too common",
        ),
        (
            json!({"username": "alice.smith", "password": "ALICE.SMITH"}),
            "must not be the username",
        ),
        (
            json!({"username": "bob", "password": "e\u{301}e\u{301}e\u{301}e\u{301}"}),
            "8 to 128",
        ),
    ];
    for (body, reason) in cases {
        let store = MemoryUserStore::default();
        let (status, response) = call(&store, &event_with_body(&body.to_string())).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(response["field"], "password", "{body}");
        let message = response["message"].as_str().unwrap();
        assert!(message.contains(reason), "{body}: {message}");
        assert!(store.is_empty(), "{body} stored nothing");
    }
}

#[tokio::test]
async fn usernames_that_only_differ_by_full_case_folding_conflict() {
    let store = MemoryUserStore::default();
    let first = json!({"username": "straße", "password": "another good password"});
    assert_eq!(
        call(&store, &event_with_body(&first.to_string())).await.0,
        201
    );
    let second = json!({"username": "STRASSE", "password": "another good password"});
    let (status, body) = call(&store, &event_with_body(&second.to_string())).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "username_taken");
    assert_eq!(store.len(), 1);
}

fn arbitrary_body() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let text = "\\PC{0,120}".prop_map(String::from);
    let fields = ("\\PC{0,70}", "\\PC{0,140}").prop_map(|(username, password)| {
        json!({"username": username, "password": password}).to_string()
    });
    prop_oneof![text, fields]
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(128))]

    /// Arbitrary bodies, JSON-shaped or not: never a panic, always a documented 4xx or 201
    /// with a JSON body, and a refusal stores nothing.
    #[test]
    fn any_body_gets_a_documented_answer(body in arbitrary_body()) {
        use proptest::prop_assert;
        use proptest::prop_assert_eq;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let store = MemoryUserStore::default();
        let (status, response) = runtime.block_on(call(&store, &event_with_body(&body)));
        prop_assert!([201, 400, 409, 413, 422].contains(&status), "{status} for {body:?}");
        prop_assert!(response["error"].is_string() || status == 201);
        prop_assert_eq!(store.len(), usize::from(status == 201));
    }
}

fn signup_body(username: &str) -> String {
    json!({"username": username, "password": "correct horse battery staple"}).to_string()
}

#[tokio::test]
async fn look_alike_usernames_are_422_and_store_nothing() {
    let store = MemoryUserStore::default();
    for (username, reason) in [
        ("alice\u{3164}", "invisible"),
        ("alice\u{FFA0}", "invisible"),
        ("al\u{200D}ice", "only letters"),
        ("\u{0430}lice", "one script"),
        ("p\u{0430}yp\u{0430}l", "one script"),
    ] {
        let (status, body) = call(&store, &event_with_body(&signup_body(username))).await;
        assert_eq!(status, 422, "{username:?}: {body}");
        assert_eq!(body["error"], "validation_failed");
        assert_eq!(body["field"], "username");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(reason), "{username:?}: {message}");
    }
    assert!(store.is_empty());
}

#[tokio::test]
async fn names_in_any_one_script_sign_up_and_full_width_forms_of_a_taken_name_conflict() {
    let store = MemoryUserStore::default();
    for username in ["Ölçer", "Иван", "山田太郎", "alice"] {
        let (status, body) = call(&store, &event_with_body(&signup_body(username))).await;
        assert_eq!(status, 201, "{username}: {body}");
    }
    for taken in ["ａｌｉｃｅ", "ALICE", "ИВАН"] {
        let (status, _) = call(&store, &event_with_body(&signup_body(taken))).await;
        assert_eq!(status, 409, "{taken}");
    }
}

#[tokio::test]
async fn an_address_at_sign_up_waits_for_its_code() {
    let store = MemoryUserStore::default();
    let outbox = RecordingMailer::default();
    let state = state_with_mailer(&store, Mailer::Recording(outbox.clone()));
    let body = json!({"username": "alice", "password": "correct horse battery staple", "email": "Alice@Example.COM"});
    let response = signup::handle(&state, request_from(&event_with_body(&body.to_string()))).await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response_json(&response)["email"],
        json!({"address": "Alice@example.com", "verified": false, "verification_sent": true})
    );
    let user = store.user("alice").unwrap();
    assert_eq!(user.email, None);
    assert_eq!(
        user.pending_email.map(|a| a.key().to_owned()),
        Some("alice@example.com".to_owned())
    );
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject, "Verify your email address");
    assert_eq!(state.stores.email_codes.len(), 1);
}

#[tokio::test]
async fn a_bad_address_or_no_mail_service_stores_nothing_and_a_failed_send_says_so() {
    let store = MemoryUserStore::default();
    let with = |email: Value| {
        json!({"username": "alice", "password": "correct horse battery staple", "email": email})
            .to_string()
    };
    let (status, body) = call(&store, &event_with_body(&with(json!("not-an-address")))).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("email")));
    let off = state_with_mailer(&store, Mailer::Off);
    let response = signup::handle(
        &off,
        request_from(&event_with_body(&with(json!("a@example.com")))),
    )
    .await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response_json(&response)["error"], "email_unavailable");
    assert_eq!(store.len(), 0);

    let failing = RecordingMailer::default();
    failing.fail(true);
    let state = state_with_mailer(&store, Mailer::Recording(failing));
    let response = signup::handle(
        &state,
        request_from(&event_with_body(&with(json!("a@example.com")))),
    )
    .await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "the account exists; another code can be asked for"
    );
    assert_eq!(
        response_json(&response)["email"]["verification_sent"],
        false
    );
    assert!(state.stores.email_codes.is_empty());
}

#[tokio::test]
async fn sign_ups_with_an_address_are_limited_per_ip() {
    let store = MemoryUserStore::default();
    let state = state(&store);
    let max = shared::abuse::rate_limits::VERIFICATION_MAILS_PER_IP.max;
    for n in 0..=max {
        let body = json!({"username": format!("user{n}"), "password": "correct horse battery staple", "email": format!("user{n}@example.com")});
        let response =
            signup::handle(&state, request_from(&event_with_body(&body.to_string()))).await;
        let expected = if n < max { 201 } else { 429 };
        assert_eq!(response.status().as_u16(), expected, "sign-up {n}");
    }
    assert_eq!(
        store.len(),
        usize::try_from(max).unwrap(),
        "the refused one stored nothing"
    );
    let without = json!({"username": "plain", "password": "correct horse battery staple"});
    let response =
        signup::handle(&state, request_from(&event_with_body(&without.to_string()))).await;
    assert_eq!(
        response.status().as_u16(),
        201,
        "sign-ups without an address are not limited"
    );
}
