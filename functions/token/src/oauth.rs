//! RFC 6749 section 5 responses: the token body and the error body, both `no-store`.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use shared::http::json_response;

/// An error answered in RFC 6749 section 5.2 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// 400 `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest(String),
    /// 400 `invalid_grant`: unknown user, wrong password or disabled account, indistinguishably.
    InvalidGrant,
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 413 `invalid_request`: the body is too large to read.
    PayloadTooLarge,
    /// 415 `invalid_request`: the body is not form-encoded.
    UnsupportedMediaType,
    /// 500 `server_error`: our failure; details only in the log.
    ServerError,
    /// 503 `service_unavailable`: the database cannot be reached right now.
    ServiceUnavailable,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    /// The status and `{"error","error_description"}` body.
    pub fn into_response(self) -> Response<Body> {
        let (status, error, description) = match &self {
            Self::InvalidRequest(description) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                description.as_str(),
            ),
            Self::InvalidGrant => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "invalid username or password",
            ),
            Self::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=password is supported",
            ),
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "request body is too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded",
            ),
            Self::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal server error",
            ),
            Self::ServiceUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "the service is temporarily unavailable; retry shortly",
            ),
        };
        no_store(json_response(
            status,
            &ErrorBody {
                error,
                error_description: description,
            },
        ))
    }
}

/// The successful token response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The signed JWT.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl TokenResponse {
    /// `200` with the token, never cached.
    pub fn into_response(self) -> Response<Body> {
        no_store(json_response(StatusCode::OK, &self))
    }
}

fn no_store(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
