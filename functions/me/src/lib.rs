//! `GET /users/me`: the caller's own account, read fresh from the store (never the hash or
//! any second-factor secret).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::Clock;
use shared::http::{ApiError, Route, json_response, not_found, route};
use shared::principal::{authenticated_user, principal};
use shared::second_factors::SecondFactorStore;
use shared::stores::Stores;

/// What the me function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts.
    pub stores: S,
    /// The time an access token's expiry is checked against.
    pub clock: Clock,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, ()); 1] = [(Route::get("/users/me"), ())];

/// Handles one request: `{"username","created_at","disabled","two_factor"}` for the
/// authorizer's principal, where `two_factor` is `{"enabled","recovery_codes_remaining"}`.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    account(state, &request)
        .await
        .unwrap_or_else(ApiError::into_response)
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
            "created_at": humantime::format_rfc3339_millis(user.created_at).to_string(),
            "disabled": user.disabled,
            "two_factor": {
                "enabled": confirmed.is_some(),
                "recovery_codes_remaining": confirmed.map_or(0, |factor| factor.recovery_codes.len()),
            },
        }),
    ))
}
