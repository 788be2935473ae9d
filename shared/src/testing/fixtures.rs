//! Fixtures: key pairs and token settings, the sample events as requests, and reading
//! handler responses.

use crate::identity::account_id::AccountId;
use crate::tokens::TokenSettings;
use crate::tokens::keys::generate_ed25519;
use crate::tokens::{TokenIssuer, TokenVerifier};
use secrecy::ExposeSecret;
use std::time::Duration;

/// The id [`crate::testing::MemoryUserStore::with_user`] gives the account it seeds: the
/// first 24 hex digits of the SHA-256 of the canonical username, so the sample events in
/// `events/` can name the seeded `alice` (`2bd806c97f0e00af1a1fc332`).
pub fn seeded_account_id(username: &str) -> AccountId {
    use sha2::{Digest, Sha256};
    let canonical =
        crate::identity::credentials::Username::parse(username).expect("a valid username");
    let digest = Sha256::digest(canonical.canonical().as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    AccountId::parse(&hex[..24]).expect("24 hex digits")
}

/// Token settings used throughout the tests.
pub fn token_settings() -> TokenSettings {
    TokenSettings {
        issuer: "https://auth.test".to_owned(),
        audience: "test-api".to_owned(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
        session_ttl: Duration::from_secs(30 * 24 * 3600),
    }
}

/// A fresh issuer and the verifier that trusts it, plus the public key PEM.
pub fn token_pair() -> (TokenIssuer, TokenVerifier, String) {
    let keys = generate_ed25519().expect("key generation");
    let issuer =
        TokenIssuer::from_pem(keys.private_pem.expose_secret(), token_settings()).expect("issuer");
    let verifier = TokenVerifier::from_pem(&keys.public_pem, &token_settings()).expect("verifier");
    (issuer, verifier, keys.public_pem)
}

/// A sample event from the workspace's `events/` folder, as JSON to adjust before use.
pub fn event_json(file_name: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(file_name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("parsing {}: {error}", path.display()))
}

/// The sample event `file_name` sent to another route: `method` and `resource` replace its
/// own, as API Gateway would set them for a route pointed at the same function.
pub fn event_for_route(file_name: &str, method: &str, resource: &str) -> serde_json::Value {
    let mut event = event_json(file_name);
    event["httpMethod"] = method.into();
    event["resource"] = resource.into();
    event["requestContext"]["httpMethod"] = method.into();
    event["requestContext"]["resourcePath"] = resource.into();
    event
}

/// `event` with `body` as its body, as a client sends it.
pub fn with_body(mut event: serde_json::Value, body: &str) -> serde_json::Value {
    event["body"] = body.into();
    event
}

/// `event` with `body` serialised as its JSON body.
pub fn with_json_body(event: serde_json::Value, body: &serde_json::Value) -> serde_json::Value {
    with_body(event, &body.to_string())
}

/// The sample event `file_name` with `body` as its body.
pub fn event_with_body(file_name: &str, body: &str) -> serde_json::Value {
    with_body(event_json(file_name), body)
}

/// The sample event `file_name` with `body` serialised as its JSON body.
pub fn event_with_json(file_name: &str, body: &serde_json::Value) -> serde_json::Value {
    with_json_body(event_json(file_name), body)
}

/// `event` as if sent from `ip` (API Gateway's `requestContext.identity.sourceIp`).
pub fn from_source_ip(mut event: serde_json::Value, ip: &str) -> serde_json::Value {
    event["requestContext"]["identity"]["sourceIp"] = ip.into();
    event
}

/// `event` with the query `parameters` (an object of strings), in both the single and the
/// multi-value form API Gateway sends.
pub fn with_query(
    mut event: serde_json::Value,
    parameters: serde_json::Value,
) -> serde_json::Value {
    let multi: serde_json::Map<String, serde_json::Value> = parameters
        .as_object()
        .expect("query parameters as an object")
        .iter()
        .map(|(key, value)| (key.clone(), serde_json::Value::Array(vec![value.clone()])))
        .collect();
    event["queryStringParameters"] = parameters;
    event["multiValueQueryStringParameters"] = serde_json::Value::Object(multi);
    event
}

/// A `lambda_http` request from an API Gateway REST proxy event, as the runtime builds it.
pub fn request_from(event: &serde_json::Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway proxy event")
}

/// The JSON body of a handler's response.
pub fn response_json(response: &lambda_http::Response<lambda_http::Body>) -> serde_json::Value {
    match response.body() {
        lambda_http::Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// The raw text body of a handler's response.
pub fn response_text(response: &lambda_http::Response<lambda_http::Body>) -> String {
    match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// A random data key entry `id:base64`, as `SECOND_FACTOR_KEYS` lists them.
pub fn data_key(id: &str) -> String {
    use base64::Engine as _;
    let mut bytes = [0_u8; crate::factors::secret_box::KEY_BYTES];
    getrandom::fill(&mut bytes).expect("randomness for a test data key");
    format!(
        "{id}:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Second-factor settings with one random data key and the defaults.
pub fn mfa_settings() -> crate::factors::mfa::MfaSettings {
    let keys = data_key("test");
    crate::factors::mfa::MfaSettings::from_source(&[(
        crate::factors::mfa::SECOND_FACTOR_KEYS,
        keys.as_str(),
    )])
    .expect("test second-factor settings")
}

/// An RSA id_token key pair (2048 bits) generated once per test process: the private PEM
/// and the public PEM.
pub fn id_token_key_pems() -> (String, String) {
    static PAIR: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PAIR.get_or_init(|| {
        let pair = crate::tokens::keys::generate_rsa(2048).unwrap();
        (pair.private_pem.expose_secret().to_owned(), pair.public_pem)
    })
    .clone()
}

/// The id_token signing key of [`id_token_key_pems`].
pub fn id_token_key() -> crate::tokens::id_tokens::IdTokenKey {
    crate::tokens::id_tokens::IdTokenKey::from_pem(&id_token_key_pems().0)
        .unwrap()
        .unwrap()
}
