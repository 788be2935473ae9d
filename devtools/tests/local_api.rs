//! End to end through the local API: the real function binaries under the Runtime API
//! emulator, the TOKEN authorizer from `template.yaml` in front, a real HTTP client, and a
//! real MongoDB-compatible server (`MONGODB_TEST_URI`; `make test` starts one). The function
//! binaries must be built first (`cargo build --workspace --bins`; `make test` does).

use devtools::stack::{Stack, StackOptions};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::config::TokenSettings;
use shared::tokens::TokenIssuer;
use std::path::PathBuf;
use std::time::SystemTime;

struct Local {
    stack: Stack,
    database: mongodb::Database,
    url: String,
    http: reqwest::Client,
    private_pem: String,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/<profile>`, where cargo put this test and the function binaries.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf();
    for function in [
        "signup",
        "token",
        "authorizer",
        "me",
        "products",
        "account",
        "jwks",
    ] {
        assert!(
            dir.join(function).is_file(),
            "{} is missing: build the functions first with `cargo build --workspace --bins` (make test does)",
            dir.join(function).display()
        );
    }
    dir
}

async fn start() -> Local {
    start_logging_to(std::env::var_os("FUNCTION_LOG_DIR").map(PathBuf::from)).await
}

/// A stack whose functions append their output to `<log_dir>/<function>.log`.
async fn start_logging_to(log_dir: Option<PathBuf>) -> Local {
    let settings = shared::testing::test_database_settings();
    let database = shared::db::connect(&settings).await.unwrap();
    let keys = shared::keys::generate_ed25519().unwrap();
    let private_pem = keys.private_pem.expose_secret().to_owned();
    let options = StackOptions {
        template: workspace().join("template.yaml"),
        bin_dir: bin_dir(),
        data_dir: std::env::temp_dir().join(format!("local-api-{}", uuid::Uuid::new_v4().simple())),
        port: 0,
        instances: 2,
        mongodb_uri: Some(settings.uri),
        database_name: settings.name,
        secantusd: None,
        keys: Some((private_pem.clone(), keys.public_pem)),
        function_log_dir: log_dir,
    };
    let stack = Stack::start(options).await.expect("the local stack starts");
    let url = format!("http://{}", stack.address);
    Local {
        stack,
        database,
        url,
        http: reqwest::Client::new(),
        private_pem,
    }
}

impl Local {
    async fn signup(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/signup", self.url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    async fn token(&self, username: &str, password: &str) -> reqwest::Response {
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        self.http
            .post(format!("{}/token", self.url))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send().await.unwrap()
    }

    async fn access_token(&self, username: &str, password: &str) -> String {
        assert_eq!(
            self.signup(username, password).await.status(),
            StatusCode::CREATED
        );
        let body: Value = self.token(username, password).await.json().await.unwrap();
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    fn authorizer_invocations(&self) -> u64 {
        self.stack
            .gateway
            .pool("authorizer")
            .unwrap()
            .invocation_count()
    }
}

#[tokio::test]
async fn the_whole_flow_and_every_refusal_over_http() {
    let local = start().await;
    let created = local.signup("alice", "correct horse battery staple").await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["username"], "alice");
    let duplicate = local.signup("Alice", "another password").await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);

    let wrong = local.token("alice", "wrong password").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let issued = local.token("alice", "correct horse battery staple").await;
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let token = issued.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");

    let me = local.get("/users/me", Some(&bearer)).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "alice");
    let products = local.get("/products", Some(&bearer)).await;
    assert_eq!(products.status(), StatusCode::OK);
    assert_eq!(
        products.json::<Value>().await.unwrap()["products"]
            .as_array()
            .unwrap()
            .len(),
        4
    );

    for (name, header) in [
        ("no token", None),
        ("bad token", Some("Bearer abc.def.ghi")),
        ("not bearer", Some("Basic YTpi")),
    ] {
        let refused = local.get("/users/me", header).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(refused.headers()["www-authenticate"], "Bearer", "{name}");
        assert_eq!(
            refused.json::<Value>().await.unwrap(),
            json!({"error": "unauthenticated", "message": "Unauthorized"})
        );
    }

    for (method, path) in [
        ("GET", "/nowhere"),
        ("DELETE", "/users/me"),
        ("GET", "/signup"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let unknown = local
            .http
            .request(method, format!("{}{path}", local.url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            unknown.json::<Value>().await.unwrap(),
            json!({"message": "Missing Authentication Token"})
        );
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn cors_follows_the_template() {
    let local = start().await;
    let before = local.authorizer_invocations();
    let preflight = local
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/users/me", local.url))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        preflight.headers()["access-control-allow-headers"],
        "Authorization,Content-Type"
    );
    assert_eq!(
        preflight.headers()["access-control-allow-methods"],
        "GET,POST,OPTIONS"
    );
    assert_eq!(
        local.authorizer_invocations(),
        before,
        "preflights do not meet the authorizer"
    );

    let created = local.signup("erin", "correct horse battery staple").await;
    assert_eq!(
        created.headers()["access-control-allow-origin"],
        "*",
        "functions add it themselves"
    );
    let refused = local.get("/users/me", None).await;
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        "*",
        "gateway responses carry it too"
    );
    let unknown = local
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/nowhere", local.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::FORBIDDEN);
    local.stack.stop().await;
}

#[tokio::test]
async fn an_explicit_deny_from_the_authorizer_is_403() {
    let local = start().await;
    let settings = TokenSettings::from_source(&[]).unwrap();
    let issuer = TokenIssuer::from_pem(&local.private_pem, settings).unwrap();
    let token = issuer
        .issue("not a username!", 0, SystemTime::now())
        .unwrap()
        .token;
    let denied = local
        .get("/users/me", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    assert_eq!(denied.json::<Value>().await.unwrap()["error"], "forbidden");
    local.stack.stop().await;
}

#[tokio::test]
async fn the_authorizer_decision_is_cached_per_token_for_the_templates_ttl() {
    let local = start().await;
    let token = local
        .access_token("carol", "correct horse battery staple")
        .await;
    let bearer = format!("Bearer {token}");
    let before = local.authorizer_invocations();
    assert_eq!(
        local.get("/users/me", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.get("/products", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.authorizer_invocations(),
        before + 1,
        "two calls with one token: one authorizer run"
    );

    let other = local
        .token("carol", "correct horse battery staple")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let other = format!("Bearer {}", other["access_token"].as_str().unwrap());
    assert_eq!(
        local.get("/users/me", Some(&other)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.authorizer_invocations(),
        before + 2,
        "another token is authorized afresh"
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn a_header_failing_the_validation_expression_never_reaches_the_authorizer() {
    let local = start().await;
    let before = local.authorizer_invocations();
    for header in ["Token abc", "Bearer", "Bearer a b"] {
        assert_eq!(
            local.get("/users/me", Some(header)).await.status(),
            StatusCode::UNAUTHORIZED,
            "{header}"
        );
    }
    assert_eq!(local.authorizer_invocations(), before);
    local.stack.stop().await;
}

impl Local {
    async fn users(&self) -> Vec<mongodb::bson::Document> {
        use futures_util::TryStreamExt;
        self.database
            .collection::<mongodb::bson::Document>("users")
            .find(mongodb::bson::doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, content_type: &str, body: String) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// A subset of the hostile-input table in `flow.rs`, over real HTTP through the gateway.
#[tokio::test]
async fn hostile_requests_over_http_get_their_documented_answer_and_store_nothing() {
    let local = start().await;
    local
        .access_token("alice", "correct horse battery staple")
        .await;
    let before = local.users().await;
    let json = "application/json";
    let form = "application/x-www-form-urlencoded";
    let cases = [
        (
            "/signup",
            json,
            json!({"username": {"$ne": null}, "password": "long enough pass"}).to_string(),
            422,
            "validation_failed",
        ),
        (
            "/signup",
            json,
            json!({"username": "mallory", "password": "iloveyou1"}).to_string(),
            422,
            "validation_failed",
        ),
        (
            "/signup",
            json,
            json!({"username": "ALICE", "password": "long enough pass"}).to_string(),
            409,
            "username_taken",
        ),
        (
            "/signup",
            form,
            "username=mallory&password=long+enough+pass".to_owned(),
            415,
            "unsupported_media_type",
        ),
        (
            "/signup",
            json,
            json!({"username": "mallory", "password": "p".repeat(17 * 1024)}).to_string(),
            413,
            "payload_too_large",
        ),
        (
            "/signup",
            json,
            "{\"username\":".to_owned(),
            400,
            "malformed_body",
        ),
        (
            "/token",
            form,
            "username[$ne]=x&password=y".to_owned(),
            400,
            "invalid_request",
        ),
        (
            "/token",
            form,
            "username=alice&username=bob&password=y".to_owned(),
            400,
            "invalid_request",
        ),
        (
            "/token",
            json,
            json!({"username": "alice", "password": "x"}).to_string(),
            415,
            "invalid_request",
        ),
    ];
    for (path, content_type, body, status, error) in cases {
        let response = local.post(path, content_type, body.clone()).await;
        assert_eq!(response.status().as_u16(), status, "{path} {body:.80}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"], error, "{path} {body:.80}");
        assert_eq!(
            local.users().await,
            before,
            "{path} {body:.80} stored nothing"
        );
    }
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9.";
    let refused = local
        .get("/users/me", Some(&format!("Bearer {none}")))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    local.stack.stop().await;
}

/// Every line the functions write, for one scenario that submits unique passwords and
/// receives unique tokens: none of them may appear in any line.
#[tokio::test]
async fn no_log_line_holds_a_submitted_password_or_a_token() {
    let log_dir =
        std::env::temp_dir().join(format!("function-logs-{}", uuid::Uuid::new_v4().simple()));
    let local = start_logging_to(Some(log_dir.clone())).await;
    let unique = || format!("pw-{}", uuid::Uuid::new_v4().simple());
    let (password, wrong, refused_password) = (unique(), unique(), unique());
    let mut secrets = vec![password.clone(), wrong.clone(), refused_password.clone()];

    let token = local.access_token("logger", &password).await;
    assert_eq!(local.signup("logger2", &"x".repeat(7)).await.status(), 422);
    assert_eq!(
        local.signup("logger", &refused_password).await.status(),
        StatusCode::CONFLICT
    );
    for _ in 0..6 {
        local.token("logger", &wrong).await;
    }
    assert_eq!(
        local.token("logger", &password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let bearer = format!("Bearer {token}");
    assert_eq!(
        local.get("/users/me", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.get("/products", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    let tampered = format!("{}A", &token[..token.len() - 1]);
    let refused = local
        .get("/users/me", Some(&format!("Bearer {tampered}")))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    local.stack.stop().await;

    let signature = token.rsplit('.').next().unwrap().to_owned();
    secrets.extend([token.clone(), tampered, signature]);
    let mut lines = 0;
    for function in ["signup", "token", "authorizer", "me", "products"] {
        let path = log_dir.join(format!("{function}.log"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        if ["signup", "token", "authorizer"].contains(&function) {
            assert!(
                !text.is_empty(),
                "{function} logged nothing: the scan would be vacuous"
            );
        }
        for line in text.lines() {
            lines += 1;
            for secret in &secrets {
                assert!(
                    !line.contains(secret.as_str()),
                    "{function} logged a secret: {line}"
                );
            }
        }
    }
    assert!(lines >= 10, "only {lines} lines captured");
    let _ = std::fs::remove_dir_all(&log_dir);
}
