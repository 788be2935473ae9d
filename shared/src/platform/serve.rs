//! The Lambda event loop of every HTTP function: each request goes to the function's
//! `handle(&State, Request)`, whose response is always an answer (never an `Err`, which API
//! Gateway would show as a bare 502), with the CORS header added.

use crate::platform::config::{ConfigError, Source};
use crate::platform::telemetry::or_exit;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, RequestExt as _, Response, run, service_fn};
use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Response headers cross-origin browser code may read: how long to wait after a `429` or
/// `503`, and the scheme a `401` asks for. The gateway's own answers carry the same list.
pub const EXPOSED_HEADERS: &str = "Retry-After,WWW-Authenticate";

/// Which origins may read the API's responses. With a Lambda proxy integration API Gateway
/// adds no CORS headers itself: the function must.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    allowed: AllowedOrigins,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum AllowedOrigins {
    /// No CORS headers.
    #[default]
    None,
    /// One value for every response (`*` or one origin).
    Fixed(HeaderValue),
    /// The request's `Origin`, when it is one of these (with `Vary: Origin`).
    Listed(Vec<HeaderValue>),
}

impl Cors {
    /// Reads `CORS_ALLOWED_ORIGINS` (a comma-separated list: each response names the
    /// request's origin when it is listed) or else `CORS_ALLOWED_ORIGIN` (one value for every
    /// response, `*` included); neither set: no header. A value that cannot be a header is a
    /// configuration error, so the function refuses to start rather than silently answering
    /// without CORS.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let header_value = |var: &'static str, text: &str| {
            HeaderValue::from_str(text).map_err(|_| ConfigError::Invalid {
                var,
                reason: "not a valid header value".to_owned(),
            })
        };
        let list = source.get("CORS_ALLOWED_ORIGINS").unwrap_or_default();
        let listed = list
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| header_value("CORS_ALLOWED_ORIGINS", origin))
            .collect::<Result<Vec<_>, _>>()?;
        if !listed.is_empty() {
            return Ok(Self {
                allowed: AllowedOrigins::Listed(listed),
            });
        }
        let origin = source.get("CORS_ALLOWED_ORIGIN").unwrap_or_default();
        let origin = origin.trim();
        if origin.is_empty() {
            return Ok(Self::default());
        }
        Ok(Self {
            allowed: AllowedOrigins::Fixed(header_value("CORS_ALLOWED_ORIGIN", origin)?),
        })
    }

    /// `response` to a request from `origin` (its `Origin` header), with the allowed origin,
    /// if any, and the headers browsers may read ([`EXPOSED_HEADERS`]).
    pub fn apply(
        &self,
        origin: Option<&HeaderValue>,
        mut response: Response<Body>,
    ) -> Response<Body> {
        let allow = match &self.allowed {
            AllowedOrigins::None => None,
            AllowedOrigins::Fixed(value) => Some(value.clone()),
            AllowedOrigins::Listed(listed) => {
                response
                    .headers_mut()
                    .append(header::VARY, HeaderValue::from_static("Origin"));
                origin.filter(|origin| listed.contains(origin)).cloned()
            }
        };
        if let Some(allow) = allow {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSED_HEADERS),
            );
        }
        response
    }
}

tokio::task_local! {
    /// When the invocation being handled must have answered (Lambda's deadline).
    static DEADLINE: SystemTime;
}

/// How long the invocation being handled has left before Lambda ends it; `None` outside one
/// (tests).
pub fn remaining_time() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
        .ok()
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
    run(service_fn(move |request: Request| async move {
        let origin = request.headers().get(header::ORIGIN).cloned();
        let deadline = request
            .lambda_context_ref()
            .map_or(SystemTime::now() + Duration::from_secs(30), |context| {
                context.deadline()
            });
        let response = DEADLINE.scope(deadline, handler(state, request)).await;
        Ok::<_, Infallible>(cors.apply(origin.as_ref(), response))
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin_of(cors: &Cors) -> Option<String> {
        let response = cors.apply(None, Response::new(Body::Empty));
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
        let response = cors.apply(None, Response::new(Body::Empty));
        let exposed = &response.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS];
        assert_eq!(exposed, "Retry-After,WWW-Authenticate");
    }

    #[test]
    fn a_listed_origin_is_named_back_and_any_other_gets_no_header() {
        let cors = Cors::from_source(&[
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example, https://b.example",
            ),
            ("CORS_ALLOWED_ORIGIN", "*"),
        ])
        .unwrap();
        let answer = |origin: Option<&str>| {
            let origin = origin.map(|origin| HeaderValue::from_str(origin).unwrap());
            cors.apply(origin.as_ref(), Response::new(Body::Empty))
        };
        for listed in ["https://a.example", "https://b.example"] {
            let response = answer(Some(listed));
            assert_eq!(
                response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
                listed
            );
            assert_eq!(response.headers()[header::VARY], "Origin");
            assert!(
                response
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            );
        }
        for other in [
            Some("https://evil.example"),
            Some("https://a.example.evil"),
            None,
        ] {
            let response = answer(other);
            assert!(
                !response
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN),
                "{other:?}"
            );
            assert_eq!(
                response.headers()[header::VARY],
                "Origin",
                "caches keep answers apart"
            );
        }
        let invalid = Cors::from_source(&[("CORS_ALLOWED_ORIGINS", "https://a\nb")]);
        assert!(
            invalid
                .unwrap_err()
                .to_string()
                .contains("CORS_ALLOWED_ORIGINS")
        );
    }

    #[test]
    fn an_origin_that_cannot_be_a_header_is_a_configuration_error() {
        let error = Cors::from_source(&[("CORS_ALLOWED_ORIGIN", "https://a\nb")]).unwrap_err();
        assert!(error.to_string().contains("CORS_ALLOWED_ORIGIN"), "{error}");
    }
}
