//! Where a request came from: the source address and user agent.

use serde::{Deserialize, Serialize};

/// Where a request came from, as API Gateway saw it (`sourceIp` is the TCP peer API Gateway
/// saw, not a header a client can set): for the user's list of sessions and security
/// history, and for the per-address rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestSource {
    /// The source IP (`requestContext.identity.sourceIp`).
    pub ip: Option<String>,
    /// The `User-Agent` header, cut to [`USER_AGENT_MAX_CHARS`] characters.
    pub user_agent: Option<String>,
}

/// The longest user agent kept.
pub const USER_AGENT_MAX_CHARS: usize = 256;

impl RequestSource {
    /// The source of `request`.
    pub fn of(request: &lambda_http::Request) -> Self {
        use lambda_http::RequestExt as _;
        use lambda_http::request::RequestContext;
        let ip = match request.request_context_ref() {
            Some(RequestContext::ApiGatewayV1(context)) => context.identity.source_ip.clone(),
            _ => None,
        };
        let user_agent = request
            .headers()
            .get(lambda_http::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|text| text.chars().take(USER_AGENT_MAX_CHARS).collect());
        Self { ip, user_agent }
    }
}
