//! HTTP responses for API Gateway proxy integrations: one JSON error shape for every
//! endpoint except `/token` (which speaks RFC 6749), and request body checks.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use serde_json::json;
use std::sync::OnceLock;

/// The largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Every error a non-`/token` endpoint can answer, with its status and public message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not well-formed (not UTF-8, not JSON).
    #[error("{0}")]
    MalformedBody(String),
    /// 401: the request reached the function without an authenticated caller.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: the caller is authenticated but may not use the API (unknown or disabled account).
    #[error("access denied")]
    Forbidden,
    /// 403: the current password given to confirm a sensitive change is wrong.
    #[error("current password is wrong")]
    WrongPassword,
    /// 409: the username is already registered.
    #[error("username is already taken")]
    UsernameTaken,
    /// 413: the body exceeds [`MAX_BODY_BYTES`].
    #[error("request body exceeds {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    /// 415: the body is not of the one media type the endpoint accepts.
    #[error("Content-Type must be {0}")]
    UnsupportedMediaType(&'static str),
    /// 422: a field is missing or breaks its rules.
    #[error("{message}")]
    InvalidField {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// 429: repeated wrong passwords locked the username; `Retry-After` says for how long.
    #[error("too many failed attempts; retry in {retry_after_seconds} seconds")]
    TooManyAttempts {
        /// Whole seconds until the lock ends.
        retry_after_seconds: u64,
    },
    /// 500: a failure on our side. The cause goes to the log, never to the caller.
    #[error("internal server error")]
    Internal,
    /// 503: the database cannot be reached right now; retrying later will work.
    #[error("the service is temporarily unavailable; retry shortly")]
    ServiceUnavailable,
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::WrongPassword => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::UsernameTaken => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable error code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedBody(_) => "malformed_body",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::WrongPassword => "wrong_password",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::UsernameTaken => "username_taken",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::InvalidField { .. } => "validation_failed",
            Self::Internal => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The answer for a failed store call: 503 when the database is unreachable, else 500.
    /// The cause is logged here, once.
    pub fn from_store(error: &crate::db::StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "database unavailable");
            Self::ServiceUnavailable
        } else {
            tracing::error!(%error, "database operation failed");
            Self::Internal
        }
    }

    /// `{"error": code, "message": text}` plus `"field"` for validation errors.
    pub fn into_response(self) -> Response<Body> {
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        if let Self::InvalidField { field, .. } = &self {
            body["field"] = json!(field);
        }
        let mut response = json_response(self.status(), &body);
        if self == Self::Unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self == Self::ServiceUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let Self::TooManyAttempts {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

/// A JSON response that no cache may keep (every answer here is per-user or an error).
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text =
        serde_json::to_string(body).unwrap_or_else(|_| r#"{"error":"internal_error"}"#.to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(origin) = cors_allowed_origin() {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
    response
}

/// The `Access-Control-Allow-Origin` value from `CORS_ALLOWED_ORIGIN`, read once. With a
/// Lambda proxy integration API Gateway adds no CORS headers itself: the function must.
fn cors_allowed_origin() -> Option<&'static HeaderValue> {
    static ORIGIN: OnceLock<Option<HeaderValue>> = OnceLock::new();
    ORIGIN
        .get_or_init(|| parse_origin(std::env::var("CORS_ALLOWED_ORIGIN").ok().as_deref()))
        .as_ref()
}

fn parse_origin(configured: Option<&str>) -> Option<HeaderValue> {
    configured
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .and_then(|origin| HeaderValue::from_str(origin).ok())
}

/// Whether the request's `Content-Type` has the media type `expected` (parameters such as
/// `charset` are allowed; the comparison ignores case).
pub fn has_content_type(request: &Request, expected: &str) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
        .is_some_and(|mime| mime.essence_str().eq_ignore_ascii_case(expected))
}

/// The raw body bytes (API Gateway's base64 bodies are already decoded by `lambda_http`).
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The body as UTF-8 text, refusing bodies over [`MAX_BODY_BYTES`] and invalid UTF-8.
pub fn body_text(request: &Request) -> Result<&str, BodyError> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge);
    }
    std::str::from_utf8(bytes).map_err(|_| BodyError::NotUtf8)
}

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Over [`MAX_BODY_BYTES`].
    #[error("request body exceeds {MAX_BODY_BYTES} bytes")]
    TooLarge,
    /// Not valid UTF-8.
    #[error("request body is not valid UTF-8")]
    NotUtf8,
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::NotUtf8 => Self::MalformedBody(error.to_string()),
        }
    }
}

/// The API Gateway resource path the request matched (`/users/me/password`), falling back
/// to the URI path outside API Gateway; functions serving several routes dispatch on it.
pub fn resource_path(request: &Request) -> String {
    use lambda_http::RequestExt as _;
    use lambda_http::request::RequestContext;
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    }
    .unwrap_or_else(|| request.uri().path().to_owned())
}

/// The body as a JSON object: `400` when it is not JSON, `422` (field `body`) when it is JSON
/// but not an object.
pub fn json_object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(ApiError::InvalidField {
            field: "body",
            message: "body must be a JSON object".to_owned(),
        }),
        Err(error) => Err(ApiError::MalformedBody(format!(
            "body is not valid JSON: {error}"
        ))),
    }
}

/// A required string field: `422` naming it when missing, `null` or not a string (so a
/// query operator such as `{"$ne": null}` never gets further).
pub fn string_field<'a>(
    fields: &'a serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<&'a str, ApiError> {
    match fields.get(field) {
        Some(serde_json::Value::String(text)) => Ok(text),
        None | Some(serde_json::Value::Null) => Err(ApiError::InvalidField {
            field,
            message: format!("{field} is required"),
        }),
        Some(_) => Err(ApiError::InvalidField {
            field,
            message: format!("{field} must be a string"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request_with(content_type: Option<&str>, body: Body) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/x");
        if let Some(value) = content_type {
            builder = builder.header("content-type", value);
        }
        builder.body(body).unwrap()
    }

    #[test]
    fn content_type_matching_ignores_parameters_and_case() {
        let cases = [
            (Some("application/json"), true),
            (Some("application/json; charset=utf-8"), true),
            (Some("Application/JSON"), true),
            (Some("text/plain"), false),
            (Some("application/jsonp"), false),
            (Some("not a media type"), false),
            (None, false),
        ];
        for (header, expected) in cases {
            let request = request_with(header, Body::Empty);
            assert_eq!(
                has_content_type(&request, "application/json"),
                expected,
                "{header:?}"
            );
        }
    }

    #[test]
    fn oversized_and_non_utf8_bodies_are_refused() {
        let big = request_with(None, Body::Text("x".repeat(MAX_BODY_BYTES + 1)));
        assert_eq!(body_text(&big), Err(BodyError::TooLarge));
        let exact = request_with(None, Body::Text("x".repeat(MAX_BODY_BYTES)));
        assert!(body_text(&exact).is_ok());
        let binary = request_with(None, Body::Binary(vec![0xff, 0xfe]));
        assert_eq!(body_text(&binary), Err(BodyError::NotUtf8));
    }

    #[test]
    fn errors_have_one_json_shape_and_their_status() {
        let response = ApiError::InvalidField {
            field: "username",
            message: "too short".into(),
        }
        .into_response();
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()["content-type"], "application/json");
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            body,
            json!({"error": "validation_failed", "message": "too short", "field": "username"})
        );
    }

    #[test]
    fn unauthenticated_answers_carry_a_bearer_challenge() {
        let response = ApiError::Unauthenticated.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }

    #[test]
    fn the_cors_origin_is_taken_as_configured() {
        assert_eq!(
            parse_origin(Some("https://app.example.com")).unwrap(),
            "https://app.example.com"
        );
        assert_eq!(parse_origin(Some("*")).unwrap(), "*");
        assert!(parse_origin(Some("  ")).is_none());
        assert!(parse_origin(None).is_none());
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        let response = ApiError::Internal.into_response();
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert_eq!(
            text,
            r#"{"error":"internal_error","message":"internal server error"}"#
        );
    }
}
