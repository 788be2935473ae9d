//! The Lambda event loop of every HTTP function: each request goes to the function's
//! `handle(&State, Request)`, whose response is always an answer (never an `Err`, which API
//! Gateway would show as a bare 502), with the CORS header added.

use crate::config::{ConfigError, Source};
use crate::telemetry::or_exit;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response, run, service_fn};
use std::convert::Infallible;
use std::future::Future;

/// Response headers cross-origin browser code may read: how long to wait after a `429` or
/// `503`, and the scheme a `401` asks for. The gateway's own answers carry the same list.
pub const EXPOSED_HEADERS: &str = "Retry-After,WWW-Authenticate";

/// The `Access-Control-Allow-Origin` every response carries (`CORS_ALLOWED_ORIGIN`; none when
/// unset), with [`EXPOSED_HEADERS`]. With a Lambda proxy integration API Gateway adds no CORS
/// headers itself: the function must.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    allow_origin: Option<HeaderValue>,
}

impl Cors {
    /// Reads `CORS_ALLOWED_ORIGIN` (unset or blank: no header). A value that cannot be a
    /// header is a configuration error, so the function refuses to start rather than
    /// silently answering without CORS.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let origin = source.get("CORS_ALLOWED_ORIGIN").unwrap_or_default();
        let origin = origin.trim();
        if origin.is_empty() {
            return Ok(Self::default());
        }
        let allow_origin = HeaderValue::from_str(origin).map_err(|_| ConfigError::Invalid {
            var: "CORS_ALLOWED_ORIGIN",
            reason: "not a valid header value".to_owned(),
        })?;
        Ok(Self {
            allow_origin: Some(allow_origin),
        })
    }

    /// `response` with the configured origin, if any, and the headers browsers may read.
    pub fn apply(&self, mut response: Response<Body>) -> Response<Body> {
        if let Some(origin) = &self.allow_origin {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
        response
    }
}

/// Serves requests with `handler` and `state` until the runtime stops. The CORS setting is
/// read from `source` (exiting, as every cold-start step does, when it is invalid).
pub async fn http<'a, State, Handler, Answer>(
    source: &impl Source,
    state: &'a State,
    handler: Handler,
) -> Result<(), lambda_http::Error>
where
    State: Sync,
    Handler: Fn(&'a State, Request) -> Answer + Copy + Send + 'a,
    Answer: Future<Output = Response<Body>> + Send + 'a,
{
    let cors = or_exit(Cors::from_source(source), "CORS settings");
    let cors = &cors;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(cors.apply(handler(state, request).await))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin_of(cors: &Cors) -> Option<String> {
        let response = cors.apply(Response::new(Body::Empty));
        response
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|value| value.to_str().unwrap().to_owned())
    }

    #[test]
    fn the_cors_origin_is_added_as_configured() {
        let configured = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "https://app.example.com")]);
        assert_eq!(
            origin_of(&configured.unwrap()).as_deref(),
            Some("https://app.example.com")
        );
        let any = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "*")]).unwrap();
        assert_eq!(origin_of(&any).as_deref(), Some("*"));
        assert_eq!(origin_of(&Cors::from_source(&[]).unwrap()), None);
        let blank = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "  ")]).unwrap();
        assert_eq!(origin_of(&blank), None);
    }

    #[test]
    fn retry_after_and_www_authenticate_are_readable_cross_origin() {
        let cors = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "*")]).unwrap();
        let response = cors.apply(Response::new(Body::Empty));
        let exposed = &response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS];
        assert_eq!(exposed, "Retry-After,WWW-Authenticate");
    }

    #[test]
    fn an_origin_that_cannot_be_a_header_is_a_configuration_error() {
        let error = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "https://a\nb")]).unwrap_err();
        assert!(error.to_string().contains("CORS_ALLOWED_ORIGIN"), "{error}");
    }
}
