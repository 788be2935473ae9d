//! Reading a request: its media type, its body within [`MAX_BODY_BYTES`], and JSON fields.

use super::{ApiError, MAX_BODY_BYTES};
use lambda_http::http::header;
use lambda_http::{Body, Request};

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

/// The fields of a JSON object body: `415` unless the content type is `application/json`,
/// then as [`json_object`].
pub fn json_fields(
    request: &Request,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    json_object(body_text(request)?)
}

/// As [`json_fields`], but an empty body is no fields, whatever its content type.
pub fn optional_json_fields(
    request: &Request,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    if body_text(request)?.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    json_fields(request)
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

/// An optional string field: `None` when missing or `null`, `422` naming it when it is not a
/// string.
pub fn optional_string_field(
    fields: &serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<Option<String>, ApiError> {
    match fields.get(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => Ok(Some(text.clone())),
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
}
