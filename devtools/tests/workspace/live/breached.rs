//! Passwords known from data breaches over HTTP, against a local range server in the Pwned
//! Passwords format (`devtools::range_server`): refused at sign-up, password change and reset
//! with a `422` naming the field, while only a 5-digit prefix of each password's SHA-1 (with
//! padding asked for) leaves the functions, and never at login; an unreachable endpoint
//! fails open.

use super::local_api::start_with_parameters;
use devtools::outbox::messages;
use devtools::range_server::RangeServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const GOOD: &str = "correct horse battery staple";
const BREACHED: &str = "Tr0ub4dor&3-horse";

async fn post(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn assert_refused(answer: &(StatusCode, Value), field: &str) {
    assert_eq!(answer.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.1);
    assert_eq!(answer.1["field"], field, "{}", answer.1);
    assert!(
        answer.1["message"]
            .as_str()
            .unwrap()
            .contains("known data breaches"),
        "{}",
        answer.1
    );
}

#[tokio::test]
async fn breached_passwords_are_refused_where_a_password_is_chosen_and_only_a_prefix_leaves() {
    let range = RangeServer::start(&[BREACHED]).await.unwrap();
    let local = start_with_parameters(&[("BreachCheckRangeUrl", range.endpoint.as_str())]).await;
    let http = &local.http;
    let url = |path: &str| format!("{}{path}", local.url);

    let refused = post(
        http,
        &url("/signup"),
        None,
        json!({"username": "pat", "password": BREACHED}),
    )
    .await;
    assert_refused(&refused, "password");
    let created = post(
        http,
        &url("/signup"),
        None,
        json!({"username": "pat", "password": GOOD, "email": "pat@example.com"}),
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);

    let login = local.login("pat", GOOD).await;
    let token = login["access_token"].as_str().unwrap();
    let change = json!({"current_password": GOOD, "new_password": BREACHED});
    assert_refused(
        &post(http, &url("/users/me/password"), Some(token), change).await,
        "new_password",
    );

    let verify_code = messages(&local.outbox)
        .last()
        .unwrap()
        .code()
        .unwrap()
        .to_owned();
    let verified = post(
        http,
        &url("/email/verify"),
        None,
        json!({"code": verify_code}),
    )
    .await;
    assert_eq!(verified.0, StatusCode::OK, "{}", verified.1);
    let asked = post(
        http,
        &url("/password-reset"),
        None,
        json!({"username": "pat"}),
    )
    .await;
    assert_eq!(asked.0, StatusCode::ACCEPTED);
    let reset_code = messages(&local.outbox)
        .last()
        .unwrap()
        .code()
        .unwrap()
        .to_owned();
    let reset = json!({"code": reset_code, "new_password": BREACHED});
    assert_refused(
        &post(http, &url("/password-reset/confirm"), None, reset).await,
        "new_password",
    );

    let requests = range.requests();
    assert_eq!(
        requests.len(),
        4,
        "sign-up (twice), change, reset: {requests:?}"
    );
    let breached_prefix = &shared::factors::breached_passwords::sha1_hex(BREACHED)[..5];
    for request in &requests {
        assert_eq!(request.prefix.len(), 5, "{request:?}");
        assert!(
            request.prefix.chars().all(|c| c.is_ascii_hexdigit()),
            "{request:?}"
        );
        assert!(request.padded, "{request:?}");
    }
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.prefix == breached_prefix)
            .count(),
        3
    );

    // Logins never ask: the old password still signs in, unchecked.
    local.login("pat", GOOD).await;
    assert_eq!(range.requests().len(), 4, "no lookup on the login path");
}

#[tokio::test]
async fn an_unreachable_range_endpoint_accepts_the_password() {
    let local =
        start_with_parameters(&[("BreachCheckRangeUrl", "http://127.0.0.1:9/range/")]).await;
    let created = post(
        &local.http,
        &format!("{}/signup", local.url),
        None,
        json!({"username": "offline", "password": BREACHED}),
    )
    .await;
    assert_eq!(created.0, StatusCode::CREATED, "{}", created.1);
}
