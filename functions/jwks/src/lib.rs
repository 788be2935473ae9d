//! `GET /.well-known/jwks.json`: the public keys of `JWT_PUBLIC_KEY` as an RFC 7517 JWK Set,
//! so other services verify our access tokens without sharing a secret. Public and cacheable.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use shared::http::{Route, json_response, not_found, route};
use shared::tokens::TokenVerifier;

/// How long clients and caches may keep the key set. A rotation publishes the new key well
/// before signing with it, so a cached copy is never missing a key in use.
pub const MAX_AGE_SECONDS: u32 = 300;

/// The JWK Set, serialised once per execution environment.
pub struct State(serde_json::Value);

impl State {
    /// The set for every key `verifier` accepts.
    pub fn new(verifier: &TokenVerifier) -> Self {
        Self(serde_json::to_value(verifier.jwks()).unwrap_or_default())
    }
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, ()); 1] = [(Route::get("/.well-known/jwks.json"), ())];

/// Answers the key set with `Cache-Control: public, max-age=300`.
pub async fn handle(keys: &State, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    let mut response = json_response(StatusCode::OK, &keys.0);
    let cache = format!("public, max-age={MAX_AGE_SECONDS}");
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
