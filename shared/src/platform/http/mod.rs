//! The HTTP edge of the functions behind API Gateway proxy integrations: responses and the
//! one JSON error shape ([`errors`]), reading requests ([`request`]) and listing queries ([`paging`]), and dispatching on the
//! route the request matched ([`routing`]).

mod errors;
mod paging;
mod request;
mod routing;
mod source;

pub use errors::ApiError;
pub use paging::{PageQuery, page_query, query_parameter};
pub use request::{
    BodyError, body_bytes, body_text, has_content_type, json_fields, json_object,
    optional_json_fields, optional_string_field, string_field,
};
pub use routing::{Route, not_found, resource_path, route};
pub use source::{RequestSource, USER_AGENT_MAX_CHARS};

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// The largest request body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

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
    response
}
