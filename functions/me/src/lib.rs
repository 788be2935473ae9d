//! The caller's own account, read fresh from the store:
//!
//! - `GET /users/me`: the account (never the hash or any second-factor secret);
//! - `GET /users/me/sessions`: the sessions that can still refresh, the caller's marked.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::Clock;
use shared::http::{ApiError, Route, json_response, not_found, route};
use shared::principal::{authenticated_user, principal};
use shared::refresh::RefreshTokenStore;
use shared::second_factors::SecondFactorStore;
use shared::stores::Stores;

/// What the me function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts.
    pub stores: S,
    /// The time an access token's expiry is checked against.
    pub clock: Clock,
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The account.
    Account,
    /// Its active sessions.
    Sessions,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 2] = [
    (Route::get("/users/me"), Endpoint::Account),
    (Route::get("/users/me/sessions"), Endpoint::Sessions),
];

/// Handles one request for the authorizer's principal: the account as
/// `{"username","created_at","disabled","two_factor"}` (`two_factor` is
/// `{"enabled","recovery_codes_remaining"}`), or its sessions.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::Account) => account(state, &request).await,
        Some(Endpoint::Sessions) => sessions(state, &request).await,
        None => return not_found(&request),
    };
    outcome.unwrap_or_else(ApiError::into_response)
}

/// `{"sessions": [...]}`, most recently used first: each with its id, when it began (the
/// login) and was last used, when it ends, how it was authenticated, the IP and user agent
/// that logged in, and whether it is the one the caller's access token belongs to.
async fn sessions<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let caller = principal(request, now)?;
    let (user, sessions) = tokio::join!(
        authenticated_user(state.stores.users(), request, now),
        state
            .stores
            .refresh_tokens()
            .active_sessions(&caller.account, now)
    );
    user?;
    let sessions = sessions.map_err(|error| ApiError::from_store(&error))?;
    let listed: Vec<serde_json::Value> = sessions
        .iter()
        .map(|active| {
            let session = &active.session;
            json!({
                "id": session.family,
                "created_at": timestamp(session.authenticated_at),
                "last_used_at": timestamp(active.last_used_at),
                "expires_at": timestamp(session.expires_at),
                "amr": session.amr,
                "ip": session.client.ip,
                "user_agent": session.client.user_agent,
                "current": caller.session.as_deref() == Some(session.family.as_str()),
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sessions": listed }),
    ))
}

fn timestamp(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

async fn account<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let caller = principal(request, now)?;
    // One round trip: the account and its second factor are read together.
    let (user, factor) = tokio::join!(
        authenticated_user(state.stores.users(), request, now),
        state.stores.second_factors().find(&caller.account)
    );
    let user = user?;
    let confirmed = factor
        .map_err(|error| ApiError::from_store(&error))?
        .filter(|factor| factor.confirmed);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "username": user.username.as_str(),
            "created_at": timestamp(user.created_at),
            "disabled": user.disabled,
            "two_factor": {
                "enabled": confirmed.is_some(),
                "recovery_codes_remaining": confirmed.map_or(0, |factor| factor.recovery_codes.len()),
            },
        }),
    ))
}
