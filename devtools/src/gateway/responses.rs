//! Gateway responses (API Gateway's own answers, customisable in the template) and the
//! conversion of a Lambda proxy result into an HTTP response.

use crate::template::{Cors, GatewayResponse};
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;

/// API Gateway's response types used by the local API, with their default status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No route for the method and path.
    MissingAuthenticationToken,
    /// No or invalid token (the authorizer said `Unauthorized`).
    Unauthorized,
    /// The policy denied the call explicitly.
    ExplicitDeny,
    /// The policy did not allow the call.
    ImplicitDeny,
    /// The authorizer failed or answered nonsense.
    AuthorizerFailure,
    /// The function failed or answered an invalid proxy result.
    IntegrationFailure,
    /// The function ran past its timeout.
    IntegrationTimeout,
    /// The request body is over API Gateway's 10 MB limit.
    RequestTooLarge,
}

impl Kind {
    fn defaults(self) -> (&'static str, u16, Option<&'static str>) {
        match self {
            Self::MissingAuthenticationToken => (
                "MISSING_AUTHENTICATION_TOKEN",
                403,
                Some("Missing Authentication Token"),
            ),
            Self::Unauthorized => ("UNAUTHORIZED", 401, Some("Unauthorized")),
            Self::ExplicitDeny => (
                "ACCESS_DENIED",
                403,
                Some("User is not authorized to access this resource with an explicit deny"),
            ),
            Self::ImplicitDeny => (
                "ACCESS_DENIED",
                403,
                Some("User is not authorized to access this resource"),
            ),
            Self::AuthorizerFailure => ("AUTHORIZER_FAILURE", 500, None),
            Self::IntegrationFailure => ("INTEGRATION_FAILURE", 502, Some("Internal server error")),
            Self::IntegrationTimeout => (
                "INTEGRATION_TIMEOUT",
                504,
                Some("Endpoint request timed out"),
            ),
            Self::RequestTooLarge => ("REQUEST_TOO_LARGE", 413, Some("Request Too Long")),
        }
    }
}

/// The gateway's response of `kind`, customised by the template's `GatewayResponses` (the
/// type itself, else `DEFAULT_4XX`/`DEFAULT_5XX`).
pub fn gateway_response(
    kind: Kind,
    configured: &BTreeMap<String, GatewayResponse>,
) -> Response<Body> {
    let (name, default_status, message) = kind.defaults();
    let fallback = if default_status < 500 {
        "DEFAULT_4XX"
    } else {
        "DEFAULT_5XX"
    };
    let custom = configured
        .get(name)
        .or_else(|| configured.get(fallback))
        .cloned()
        .unwrap_or_default();
    let message_json = message
        .map_or(Value::Null, |m| Value::String(m.to_owned()))
        .to_string();
    let body = match &custom.body_template {
        Some(template) => template
            .replace("$context.error.messageString", &message_json)
            .replace("$context.error.message", message.unwrap_or("")),
        None => format!("{{\"message\":{message_json}}}"),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(custom.status.unwrap_or(default_status))
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "x-amzn-errortype",
        HeaderValue::from_static(error_type(kind)),
    );
    for (header, value) in &custom.headers {
        if let (Ok(header), Ok(value)) = (
            HeaderName::try_from(header.as_str()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(header, value);
        }
    }
    response
}

fn error_type(kind: Kind) -> &'static str {
    match kind {
        Kind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
        Kind::Unauthorized => "UnauthorizedException",
        Kind::ExplicitDeny | Kind::ImplicitDeny => "AccessDeniedException",
        Kind::AuthorizerFailure => "AuthorizerConfigurationException",
        Kind::IntegrationFailure => "InternalServerErrorException",
        Kind::IntegrationTimeout => "IntegrationTimeoutException",
        Kind::RequestTooLarge => "RequestTooLongException",
    }
}

/// The answer SAM's generated `OPTIONS` method gives a CORS preflight.
pub fn preflight(cors: &Cors) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: Option<&str>| {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    };
    set("access-control-allow-origin", Some(&cors.allow_origin));
    set(
        "access-control-allow-headers",
        cors.allow_headers.as_deref(),
    );
    set(
        "access-control-allow-methods",
        cors.allow_methods.as_deref(),
    );
    set("access-control-max-age", cors.max_age.as_deref());
    set(
        "access-control-allow-credentials",
        cors.allow_credentials.then_some("true"),
    );
    response
}

/// The HTTP response for a Lambda proxy result, or `None` when the result is not a valid
/// proxy response (API Gateway then answers 502).
pub fn from_proxy_result(payload: &[u8]) -> Option<Response<Body>> {
    let result: Value = serde_json::from_slice(payload).ok()?;
    let status = result
        .get("statusCode")?
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())?;
    let status = StatusCode::from_u16(status).ok()?;
    let body = match result.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text))
            if result.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) =>
        {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => return None,
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(single) = result.get("headers").and_then(Value::as_object) {
        for (name, value) in single {
            let value = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            headers.insert(
                HeaderName::try_from(name.as_str()).ok()?,
                HeaderValue::from_str(&value).ok()?,
            );
        }
    }
    if let Some(multi) = result.get("multiValueHeaders").and_then(Value::as_object) {
        for (name, values) in multi {
            let name = HeaderName::try_from(name.as_str()).ok()?;
            headers.remove(&name);
            for value in values.as_array()? {
                headers.append(name.clone(), HeaderValue::from_str(value.as_str()?).ok()?);
            }
        }
    }
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn text(response: Response<Body>) -> String {
        String::from_utf8(
            to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn default_gateway_responses_match_api_gateway() {
        let none = BTreeMap::new();
        let response = gateway_response(Kind::MissingAuthenticationToken, &none);
        assert_eq!(response.status(), 403);
        assert_eq!(
            text(response).await,
            r#"{"message":"Missing Authentication Token"}"#
        );
        let response = gateway_response(Kind::IntegrationFailure, &none);
        assert_eq!(response.status(), 502);
        assert_eq!(
            text(response).await,
            r#"{"message":"Internal server error"}"#
        );
        assert_eq!(
            gateway_response(Kind::IntegrationTimeout, &none).status(),
            504
        );
        assert_eq!(
            text(gateway_response(Kind::AuthorizerFailure, &none)).await,
            r#"{"message":null}"#
        );
    }

    #[tokio::test]
    async fn configured_gateway_responses_override_status_headers_and_body() {
        let configured = BTreeMap::from([(
            "UNAUTHORIZED".to_owned(),
            GatewayResponse {
                status: Some(401),
                headers: vec![("WWW-Authenticate".to_owned(), "Bearer".to_owned())],
                body_template: Some(
                    r#"{"error":"unauthenticated","message":$context.error.messageString}"#
                        .to_owned(),
                ),
            },
        )]);
        let response = gateway_response(Kind::Unauthorized, &configured);
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            text(response).await,
            r#"{"error":"unauthenticated","message":"Unauthorized"}"#
        );
    }

    #[tokio::test]
    async fn proxy_results_become_responses() {
        let payload = br#"{"statusCode":201,"headers":{"content-type":"application/json"},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"{\"ok\":true}","isBase64Encoded":false}"#;
        let response = from_proxy_result(payload).unwrap();
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers().get_all("set-cookie").iter().count(), 2);
        assert_eq!(text(response).await, r#"{"ok":true}"#);
        let binary =
            from_proxy_result(br#"{"statusCode":200,"body":"/wAQ","isBase64Encoded":true}"#)
                .unwrap();
        assert_eq!(
            to_bytes(binary.into_body(), 10).await.unwrap().as_ref(),
            &[0xff, 0x00, 0x10]
        );
    }

    #[test]
    fn invalid_proxy_results_are_refused() {
        for payload in [
            &b"null"[..],
            b"{}",
            b"{\"statusCode\":\"200\"}",
            b"{\"statusCode\":99}",
            b"not json",
            b"{\"statusCode\":200,\"body\":{}}",
        ] {
            assert!(
                from_proxy_result(payload).is_none(),
                "{}",
                String::from_utf8_lossy(payload)
            );
        }
    }
}
