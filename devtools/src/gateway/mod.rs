//! The local API Gateway: serves the template's routes over HTTP, runs the TOKEN authorizer
//! in front of protected routes, invokes the functions with REST proxy events and applies
//! gateway responses, as a deployed REST API would.

pub mod authorizer;
pub mod event;
pub mod responses;
pub mod routing;

use crate::runtime::{FunctionPool, InvokeError};
use crate::template::ApiModel;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, Request, Response};
use responses::Kind;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// API Gateway's request payload limit.
const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// The routes, function pools and authorizer cache behind the local API.
pub struct Gateway {
    model: ApiModel,
    pools: BTreeMap<String, Arc<FunctionPool>>,
    cache: authorizer::DecisionCache,
    log_requests: bool,
}

impl Gateway {
    /// A gateway for `model` whose functions (by logical id) run in `pools`; it prints one
    /// line per request when `log_requests` is set.
    pub fn new(
        model: ApiModel,
        pools: BTreeMap<String, Arc<FunctionPool>>,
        log_requests: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            model,
            pools,
            cache: authorizer::DecisionCache::default(),
            log_requests,
        })
    }

    /// The pool running the function with this binary name.
    pub fn pool(&self, binary: &str) -> Option<&Arc<FunctionPool>> {
        self.pools.values().find(|pool| pool.name() == binary)
    }

    /// The axum router that serves every request through [`Gateway::handle`].
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .fallback(serve)
            .with_state(Arc::clone(self))
    }

    /// Answers one HTTP request.
    pub async fn handle(&self, request: Request<Body>, client: SocketAddr) -> Response<Body> {
        let started = Instant::now();
        let request_id = uuid::Uuid::new_v4().to_string();
        let method = request.method().as_str().to_owned();
        let path = request.uri().path().to_owned();
        let (mut response, function) = self.dispatch(request, client, &request_id).await;
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-requestid", value);
        }
        if self.log_requests {
            println!(
                "local-api {method} {path} -> {} ({}, {} ms)",
                response.status().as_u16(),
                function.unwrap_or("gateway"),
                started.elapsed().as_millis()
            );
        }
        response
    }

    async fn dispatch(
        &self,
        request: Request<Body>,
        client: SocketAddr,
        request_id: &str,
    ) -> (Response<Body>, Option<&str>) {
        let responses = &self.model.gateway_responses;
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await else {
            return (
                responses::gateway_response(Kind::RequestTooLarge, responses),
                None,
            );
        };
        let incoming = event::IncomingRequest {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            body: body.to_vec(),
            source_ip: client.ip().to_string(),
        };
        if incoming.method == "OPTIONS"
            && let Some(cors) = &self.model.cors
            && routing::path_exists(&self.model.routes, &incoming.path)
        {
            if let Some(name) = &self.model.preflight_authorizer
                && let Some(refusal) = self.refuse_unless_allowed(name, &incoming).await
            {
                return (refusal, None);
            }
            return (responses::preflight(cors), None);
        }
        let Some(matched) = routing::find(&self.model.routes, &incoming.method, &incoming.path)
        else {
            return (
                responses::gateway_response(Kind::MissingAuthenticationToken, responses),
                None,
            );
        };
        let route = matched.route;
        let Some(pool) = self.pools.get(&route.function) else {
            return (
                responses::gateway_response(Kind::IntegrationFailure, responses),
                None,
            );
        };

        let mut principal = None;
        if let Some(name) = &route.authorizer {
            let spec = &self.model.authorizers[name];
            let Some(authorizer_pool) = self.pools.get(&spec.function) else {
                return (
                    responses::gateway_response(Kind::AuthorizerFailure, responses),
                    None,
                );
            };
            let method_arn = event::method_arn(&self.model.stage, &incoming.method, &incoming.path);
            match authorizer::authorize(
                name,
                spec,
                authorizer_pool,
                &self.cache,
                &incoming.headers,
                &method_arn,
            )
            .await
            {
                authorizer::Outcome::Allow(context) => principal = Some(context),
                authorizer::Outcome::Unauthorized => {
                    return (
                        responses::gateway_response(Kind::Unauthorized, responses),
                        Some(authorizer_pool.name()),
                    );
                }
                authorizer::Outcome::Denied { explicit } => {
                    let kind = if explicit {
                        Kind::ExplicitDeny
                    } else {
                        Kind::ImplicitDeny
                    };
                    return (
                        responses::gateway_response(kind, responses),
                        Some(authorizer_pool.name()),
                    );
                }
                authorizer::Outcome::Failure => {
                    return (
                        responses::gateway_response(Kind::AuthorizerFailure, responses),
                        Some(authorizer_pool.name()),
                    );
                }
            }
        }

        let target = event::Target {
            resource: &route.path,
            path_parameters: &matched.path_parameters,
            stage: &self.model.stage,
            request_id,
            authorizer: principal.as_ref(),
        };
        let proxy_event = event::proxy_event(&incoming, &target, SystemTime::now());
        let response = match pool.invoke(proxy_event.to_string().into_bytes()).await {
            Ok(payload) => responses::from_proxy_result(&payload).unwrap_or_else(|| {
                eprintln!(
                    "local-api: {} returned an invalid proxy response",
                    pool.name()
                );
                responses::gateway_response(Kind::IntegrationFailure, responses)
            }),
            Err(InvokeError::TimedOut) => {
                responses::gateway_response(Kind::IntegrationTimeout, responses)
            }
            Err(error) => {
                eprintln!("local-api: {} failed: {error}", pool.name());
                responses::gateway_response(Kind::IntegrationFailure, responses)
            }
        };
        (response, Some(pool.name()))
    }
}

impl Gateway {
    /// Runs authorizer `name` for a request with no function behind it (a guarded preflight).
    async fn refuse_unless_allowed(
        &self,
        name: &str,
        incoming: &event::IncomingRequest,
    ) -> Option<Response<Body>> {
        let responses = &self.model.gateway_responses;
        let spec = &self.model.authorizers[name];
        let pool = self.pools.get(&spec.function)?;
        let method_arn = event::method_arn(&self.model.stage, &incoming.method, &incoming.path);
        let kind = match authorizer::authorize(
            name,
            spec,
            pool,
            &self.cache,
            &incoming.headers,
            &method_arn,
        )
        .await
        {
            authorizer::Outcome::Allow(_) => return None,
            authorizer::Outcome::Unauthorized => Kind::Unauthorized,
            authorizer::Outcome::Denied { explicit: true } => Kind::ExplicitDeny,
            authorizer::Outcome::Denied { explicit: false } => Kind::ImplicitDeny,
            authorizer::Outcome::Failure => Kind::AuthorizerFailure,
        };
        Some(responses::gateway_response(kind, responses))
    }
}

async fn serve(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    request: Request<Body>,
) -> Response<Body> {
    gateway.handle(request, client).await
}
