//! The public documents token consumers configure themselves from, public and cacheable:
//!
//! - `GET /.well-known/jwks.json`: the public keys of `JWT_PUBLIC_KEY` as an RFC 7517 JWK
//!   Set, so other services verify our access tokens (Ed25519) and relying parties our
//!   id_tokens (RSA) without sharing a secret;
//! - `GET /.well-known/oauth-authorization-server`: RFC 8414 metadata (issuer, endpoints,
//!   grant types, authentication methods), built on the issuer tokens carry;
//! - `GET /.well-known/openid-configuration`: OpenID Connect Discovery 1.0, the same
//!   document with the OpenID Provider's fields, so the two never disagree.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::platform::http::{ApiError, Route, json_response, not_found, route};
use shared::tokens::TokenSettings;
use shared::tokens::TokenVerifier;

/// How long clients and caches may keep either document. A rotation publishes the new key
/// well before signing with it, so a cached copy is never missing a key in use.
pub const MAX_AGE_SECONDS: u32 = 300;

/// The grant types `/token` answers.
pub const GRANT_TYPES: [&str; 7] = [
    "authorization_code",
    "password",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:lambda-auth:params:oauth:grant-type:mfa",
    "urn:lambda-auth:params:oauth:grant-type:passkey",
];

/// What the function serves, built once per execution environment.
pub struct State {
    keys: serde_json::Value,
    settings: TokenSettings,
    password_grant: bool,
}

impl State {
    /// The key set for every key `verifier` accepts and the id_token keys `id_token_keys`,
    /// and the metadata for `settings`' issuer.
    pub fn new(
        verifier: &TokenVerifier,
        id_token_keys: Vec<shared::tokens::id_tokens::Jwk>,
        settings: TokenSettings,
    ) -> Self {
        let mut set = verifier.jwks();
        set.keys.extend(id_token_keys);
        Self {
            keys: serde_json::to_value(set).unwrap_or_default(),
            settings,
            password_grant: true,
        }
    }

    /// The same, for a deployment whose `/token` refuses the password grant
    /// (`PASSWORD_GRANT=false`): the metadata does not list it.
    pub fn without_password_grant(mut self) -> Self {
        self.password_grant = false;
        self
    }
}

/// What a route of this function answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The JWK Set.
    Keys,
    /// The RFC 8414 metadata.
    Metadata,
    /// The OpenID Connect Discovery document.
    OpenIdConfiguration,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 3] = [
    (Route::get("/.well-known/jwks.json"), Endpoint::Keys),
    (
        Route::get("/.well-known/oauth-authorization-server"),
        Endpoint::Metadata,
    ),
    (
        Route::get("/.well-known/openid-configuration"),
        Endpoint::OpenIdConfiguration,
    ),
];

/// Answers either document with `Cache-Control: public, max-age=300`.
pub async fn handle(state: &State, request: Request) -> Response<Body> {
    let mut response = match route(&request, &ROUTES) {
        Some(Endpoint::Keys) => json_response(StatusCode::OK, &state.keys),
        Some(endpoint @ (Endpoint::Metadata | Endpoint::OpenIdConfiguration)) => {
            match metadata(state, &request, endpoint == Endpoint::OpenIdConfiguration) {
                Some(document) => json_response(StatusCode::OK, &document),
                None => {
                    tracing::error!("no issuer: set JWT_ISSUER, or call through API Gateway");
                    return ApiError::Internal.into_response();
                }
            }
        }
        None => return not_found(&request),
    };
    let cache = format!("public, max-age={MAX_AGE_SECONDS}");
    if let Ok(value) = HeaderValue::from_str(&cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// RFC 8414 section 2 metadata, and with `openid` OpenID Connect Discovery 1.0 section 3's
/// fields beside it; every endpoint is under the issuer URL.
fn metadata(state: &State, request: &Request, openid: bool) -> Option<serde_json::Value> {
    let issuer = state
        .settings
        .issuer_for(shared::tokens::issuer::of_request(request))?;
    let mut scopes: Vec<&str> = shared::access::scopes::USER_GRANTED_SCOPES.to_vec();
    scopes.extend(
        shared::access::scopes::SCOPES
            .iter()
            .map(|(scope, _)| *scope),
    );
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "service_documentation": format!("{issuer}/docs"),
        "grant_types_supported": GRANT_TYPES
            .iter()
            .filter(|grant| state.password_grant || **grant != "password")
            .collect::<Vec<_>>(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        // Browser and native apps are public clients (PKCE alone); servers and machine
        // clients authenticate with their secret.
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": true,
        "prompt_values_supported": ["none", "login", "consent", "create"],
    });
    if openid {
        let extra = json!({
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
            "userinfo_signing_alg_values_supported": ["none"],
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "azp",
                "at_hash", "sid", "preferred_username", "email", "email_verified"
            ],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
        });
        if let (Some(document), Some(extra)) = (document.as_object_mut(), extra.as_object()) {
            document.extend(extra.clone());
        }
    }
    Some(document)
}
