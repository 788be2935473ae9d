//! `GET /users/me`: the caller's own account, read fresh from the store (never the hash).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::Clock;
use shared::http::{Route, json_response, not_found, route};
use shared::principal::authenticated_user;
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

/// Handles one request: `{"username","created_at","disabled"}` for the authorizer's principal.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    match authenticated_user(state.stores.users(), &request, state.clock.now()).await {
        Ok(user) => json_response(
            StatusCode::OK,
            &json!({
                "username": user.username.as_str(),
                "created_at": humantime::format_rfc3339_millis(user.created_at).to_string(),
                "disabled": user.disabled,
            }),
        ),
        Err(error) => error.into_response(),
    }
}
