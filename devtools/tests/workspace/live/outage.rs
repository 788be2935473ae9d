//! A database outage through the local API: the MongoDB-compatible server is stopped while
//! the function binaries keep running, every database-backed endpoint answers
//! `503 service_unavailable` within its function timeout, and once the server is back on the
//! same port and data the same processes serve again (no restarts). Needs `SECANTUSD` (the
//! server binary) and the function binaries (`make test` provides both).

use super::database_server::Database;
use crate::support;

use devtools::stack::{Stack, StackOptions};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn bin_dir() -> PathBuf {
    support::bin_dir_with_functions()
}

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    async fn signup(&self, username: &str) -> (StatusCode, Value) {
        let body = json!({"username": username, "password": "outage-proof passphrase"});
        let request = self.http.post(format!("{}/signup", self.url)).json(&body);
        answer(request).await
    }

    async fn token(&self, username: &str) -> (StatusCode, Value) {
        let form = [
            ("username", username),
            ("password", "outage-proof passphrase"),
        ];
        let request = self.http.post(format!("{}/token", self.url)).form(&form);
        answer(request).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let request = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token);
        answer(request).await
    }
}

async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// How many processes each function has started so far.
fn starts(stack: &Stack) -> Vec<u64> {
    support::function_crates()
        .iter()
        .map(|name| stack.gateway.pool(name).unwrap().process_starts())
        .collect()
}

#[tokio::test]
async fn an_outage_is_503_and_the_same_processes_serve_again_when_the_database_returns() {
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let scratch = std::env::temp_dir().join(format!("outage-{}", uuid::Uuid::new_v4().simple()));
    let mut database = Database::start(secantusd.into(), scratch.join("db"), &[]);
    let keys = shared::tokens::keys::generate_ed25519().unwrap();
    let stack = Stack::start(StackOptions {
        template: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")),
        bin_dir: bin_dir(),
        data_dir: scratch.join("stack"),
        port: 0,
        instances: 1,
        mongodb_uri: Some(database.uri()),
        database_name: "outage".to_owned(),
        secantusd: None,
        keys: Some((keys.private_pem.expose_secret().to_owned(), keys.public_pem)),
        function_log_dir: std::env::var_os("FUNCTION_LOG_DIR").map(PathBuf::from),
        log_requests: true,
        parameter_overrides: Default::default(),
        outbox_dir: None,
        public_host: None,
        federation_secrets: None,
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    })
    .await
    .expect("the local stack starts");
    let client = Client {
        http: reqwest::Client::new(),
        url: format!("http://{}", stack.address),
    };

    assert_eq!(client.signup("before").await.0, StatusCode::CREATED);
    let (status, body) = client.token("before").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(client.get("/users/me", &token).await.0, StatusCode::OK);
    let processes = starts(&stack);
    let functions = support::function_crates().len();
    assert_eq!(
        processes,
        vec![1; functions],
        "one process per function so far"
    );

    database.stop();
    let started = Instant::now();
    let (signup, login, me, products) = tokio::join!(
        client.signup("during"),
        client.token("before"),
        client.get("/users/me", &token),
        client.get("/products", &token),
    );
    let elapsed = started.elapsed();
    for (name, (status, body), timeout) in [
        ("signup", signup, 10),
        ("token", login, 10),
        ("me", me, 6),
        ("products", products, 6),
    ] {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{name}: {body}");
        assert_eq!(body["error"], "service_unavailable", "{name}: {body}");
        assert!(
            elapsed < Duration::from_secs(timeout),
            "{name} answered within its {timeout} s function timeout ({elapsed:?})"
        );
    }

    database.launch();
    let deadline = Instant::now() + Duration::from_secs(30);
    let (status, body) = loop {
        let (status, body) = client.token("before").await;
        if status != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        status,
        StatusCode::OK,
        "the user made before the outage logs in: {body}"
    );
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(client.get("/users/me", &token).await.0, StatusCode::OK);
    assert_eq!(client.get("/products", &token).await.0, StatusCode::OK);
    assert_eq!(client.signup("after").await.0, StatusCode::CREATED);
    assert_eq!(
        client.signup("during").await.0,
        StatusCode::CREATED,
        "the sign-up refused during the outage stored nothing"
    );
    assert_eq!(
        starts(&stack),
        processes,
        "no function process was restarted: the same instances recovered by themselves"
    );
    stack.stop().await;
}
