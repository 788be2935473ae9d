//! End to end through the local API: the real function binaries under the Runtime API
//! emulator, the TOKEN authorizer from `template.yaml` in front, a real HTTP client, and a
//! real MongoDB-compatible server (`MONGODB_TEST_URI`; `make test` starts one). The function
//! binaries must be built first (`cargo build --workspace --bins`; `make test` does).

use crate::support;

use devtools::stack::{Stack, StackOptions};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::tokens::TokenIssuer;
use shared::tokens::TokenSettings;
use std::path::PathBuf;
use std::time::SystemTime;

/// A running local API with its database, for the tests here and in the sibling modules.
pub(super) struct Local {
    pub(super) stack: Stack,
    pub(super) database: mongodb::Database,
    pub(super) url: String,
    pub(super) http: reqwest::Client,
    pub(super) private_pem: String,
    /// Where the functions write mail.
    pub(super) outbox: PathBuf,
}

use support::workspace;

fn bin_dir() -> PathBuf {
    support::bin_dir_with_functions()
}

/// The claims of an access token, decoded (its signature is the authorizer's business).
pub(super) fn access_claims(access_token: &Value) -> Value {
    use base64::Engine as _;
    let payload = access_token.as_str().unwrap().split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(super) async fn start() -> Local {
    start_logging_to(std::env::var_os("FUNCTION_LOG_DIR").map(PathBuf::from)).await
}

/// A stack with `template.yaml`'s parameters overridden.
pub(super) async fn start_with_parameters(parameters: &[(&str, &str)]) -> Local {
    let overrides = parameters
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    start_with(None, overrides).await
}

/// A stack whose functions append their output to `<log_dir>/<function>.log`.
/// A stack whose functions append their output to `<log_dir>/<function>.log`.
async fn start_logging_to(log_dir: Option<PathBuf>) -> Local {
    start_with(log_dir, Default::default()).await
}

async fn start_with(
    log_dir: Option<PathBuf>,
    parameter_overrides: std::collections::BTreeMap<String, String>,
) -> Local {
    let settings = shared::testing::test_database_settings();
    let database = shared::platform::database::connect(&settings)
        .await
        .unwrap();
    let keys = shared::tokens::keys::generate_ed25519().unwrap();
    let private_pem = keys.private_pem.expose_secret().to_owned();
    let data_dir =
        std::env::temp_dir().join(format!("local-api-{}", uuid::Uuid::new_v4().simple()));
    let outbox = data_dir.join("outbox");
    let options = StackOptions {
        template: workspace().join("template.yaml"),
        bin_dir: bin_dir(),
        data_dir,
        port: 0,
        instances: 2,
        mongodb_uri: Some(settings.uri),
        database_name: settings.name,
        secantusd: None,
        // The signing keys as `make dev` writes them: Ed25519, and RSA for RS256 id_tokens.
        keys: Some((
            format!("{private_pem}{}", shared::testing::id_token_key_pems().0),
            format!(
                "{}{}",
                keys.public_pem,
                shared::testing::id_token_key_pems().1
            ),
        )),
        function_log_dir: log_dir,
        log_requests: true,
        parameter_overrides,
        outbox_dir: Some(outbox.clone()),
        public_host: None,
        federation_secrets: None,
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    };
    let stack = Stack::start(options).await.expect("the local stack starts");
    let url = format!("http://{}", stack.address);
    Local {
        stack,
        database,
        url,
        http: reqwest::Client::new(),
        private_pem,
        outbox,
    }
}

impl Local {
    pub(super) async fn signup(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/signup", self.url))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub(super) async fn token(&self, username: &str, password: &str) -> reqwest::Response {
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

    pub(super) async fn get(&self, path: &str, authorization: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        request.send().await.unwrap()
    }

    pub(super) async fn access_token(&self, username: &str, password: &str) -> String {
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

    pub(super) fn authorizer_invocations(&self) -> u64 {
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
        ("PUT", "/users/me"),
        ("GET", "/signup"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let unknown = local
            .http
            .request(method, format!("{}{path}", local.url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            unknown.json::<Value>().await.unwrap(),
            json!({"error": "not_found", "message": "no such route"})
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
        "GET,POST,PUT,DELETE,OPTIONS"
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
    let exposed = "Retry-After,WWW-Authenticate";
    assert_eq!(created.headers()["access-control-expose-headers"], exposed);
    let refused = local.get("/users/me", None).await;
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        "*",
        "gateway responses carry it too"
    );
    assert_eq!(refused.headers()["access-control-expose-headers"], exposed);
    local.stack.stop().await;
}

#[tokio::test]
async fn with_a_list_of_origins_an_answer_names_a_listed_origin_and_no_other() {
    let local =
        start_with_parameters(&[("CorsAllowedOrigins", "https://a.example,https://b.example")])
            .await;
    for (origin, allowed) in [
        ("https://a.example", true),
        ("https://b.example", true),
        ("https://evil.example", false),
    ] {
        let response = local
            .http
            .post(format!("{}/signup", local.url))
            .header("Origin", origin)
            .json(&json!({"username": "x", "password": "y"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let headers = response.headers();
        assert_eq!(headers["vary"], "Origin", "{origin}");
        let named = headers.get("access-control-allow-origin");
        assert_eq!(
            named.map(|value| value.to_str().unwrap()),
            allowed.then_some(origin)
        );
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn the_gateways_own_answers_have_the_functions_error_shape() {
    let local = start().await;
    for method in [
        reqwest::Method::GET,
        reqwest::Method::OPTIONS,
        reqwest::Method::DELETE,
    ] {
        let unknown = local
            .http
            .request(method.clone(), format!("{}/nowhere", local.url))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND, "{method}");
        assert_eq!(
            unknown.headers()["access-control-expose-headers"],
            "Retry-After,WWW-Authenticate"
        );
        let body: Value = unknown.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": "not_found", "message": "no such route"}),
            "{method}"
        );
    }
    let refused: Value = local.get("/users/me", None).await.json().await.unwrap();
    assert_eq!(refused["error"], "unauthenticated");
    assert!(refused["message"].is_string(), "{refused}");
    local.stack.stop().await;
}

#[tokio::test]
async fn an_explicit_deny_from_the_authorizer_is_403() {
    let local = start().await;
    let settings = TokenSettings {
        issuer: local.url.clone(),
        ..TokenSettings::from_source(&[]).unwrap()
    };
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
    pub(super) async fn users(&self) -> Vec<mongodb::bson::Document> {
        shared::testing::all_documents(&self.database, "users").await
    }

    pub(super) async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: String,
    ) -> reqwest::Response {
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
    // A password typed into the username field names no account: it is never logged, not
    // when refused and not when its counter locks.
    let typed_as_username = format!("pw{}", uuid::Uuid::new_v4().simple());
    for _ in 0..6 {
        local.token(&typed_as_username, &wrong).await;
    }
    secrets.push(typed_as_username);
    let bearer = format!("Bearer {token}");
    assert_eq!(
        local.get("/users/me", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.get("/products", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    let tampered = tamper(&token);
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

impl Local {
    pub(super) async fn form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    pub(super) async fn login(&self, username: &str, password: &str) -> Value {
        let response = self.token(username, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub(super) async fn refresh(&self, refresh_token: &Value) -> (StatusCode, Value) {
        let token = refresh_token.as_str().unwrap();
        self.form(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
        )
        .await
    }

    pub(super) async fn me_status(&self, access_token: &Value) -> StatusCode {
        let bearer = format!("Bearer {}", access_token.as_str().unwrap());
        self.get("/users/me", Some(&bearer)).await.status()
    }

    pub(super) async fn post_with_token(
        &self,
        path: &str,
        access_token: &Value,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(access_token.as_str().unwrap());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

/// The session flows end to end: rotation and reuse detection, revocation, JWKS, and
/// logout-everywhere and password change invalidating older access tokens.
#[tokio::test]
async fn the_token_lifecycle_over_http() {
    let local = start().await;
    let password = "correct horse battery staple";
    local.access_token("carol", password).await;

    // Rotation: a chain of three, then replaying the first revokes the family.
    let first = local.login("carol", password).await;
    let (status, second) = local.refresh(&first["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let (status, third) = local.refresh(&second["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let (status, replay) = local.refresh(&first["refresh_token"]).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = local.refresh(&third["refresh_token"]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the family died with the replay"
    );

    // Revocation (RFC 7009): 200 whatever the token, and the family stops working.
    let other = local.login("carol", password).await;
    let token = other["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let (status, body) = local.form("/revoke", &[("token", token)]).await;
        assert_eq!((status, body), (StatusCode::OK, json!({})));
    }
    let (status, _) = local.form("/revoke", &[("token", "never-issued")]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = local
        .form("/revoke", &[("token_type_hint", "refresh_token")])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(
        local.refresh(&other["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );

    // JWKS: public, cacheable, and it verifies the access tokens we issue.
    let response = local
        .http
        .get(format!("{}/.well-known/jwks.json", local.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let jwks: Value = response.json().await.unwrap();
    let access = first["access_token"].as_str().unwrap();
    let header: Value = {
        use base64::Engine as _;
        let part = access.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    let published = jwks["keys"].as_array().unwrap();
    assert!(
        published
            .iter()
            .any(|key| key["kid"] == header["kid"] && key["kty"] == "OKP")
    );

    // Logout-everywhere: every older access token is refused by the protected functions
    // (the authorizer's cached Allow notwithstanding), every refresh token dies.
    let before = local.login("carol", password).await;
    assert_eq!(
        local.me_status(&before["access_token"]).await,
        StatusCode::OK
    );
    let (status, body) = local
        .post_with_token("/users/me/logout", &before["access_token"], None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        local.me_status(&before["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.refresh(&before["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );

    // Password change: the old password and older tokens stop working, the new one works.
    let session = local.login("carol", password).await;
    let new_password = "a brand new passphrase";
    let change = json!({"current_password": password, "new_password": new_password});
    let (status, body) = local
        .post_with_token("/users/me/password", &session["access_token"], Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        local.me_status(&session["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.token("carol", password).await.status(),
        StatusCode::BAD_REQUEST
    );
    let fresh = local.login("carol", new_password).await;
    assert_eq!(
        local.me_status(&fresh["access_token"]).await,
        StatusCode::OK
    );
    local.stack.stop().await;
}

/// The token with one signature character changed (never the last one, whose low bits
/// carry no signature data, so a change there could leave the signature valid).
fn tamper(token: &str) -> String {
    let at = token.len() - 10;
    let replacement = if &token[at..=at] == "A" { "B" } else { "A" };
    format!("{}{replacement}{}", &token[..at], &token[at + 1..])
}
