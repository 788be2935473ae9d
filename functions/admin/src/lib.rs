//! The admin API, for accounts whose token carries `users:admin` (the authorizer enforces the
//! scope, as `openapi.yaml` declares it), after a recent login with a second factor:
//!
//! - `GET /admin/users`: accounts by name, a page at a time, filtered by name prefix, role
//!   and disabled;
//! - `GET /admin/users/{id}`: one account with its latest security events;
//! - `POST /admin/users/{id}/disable`, `/enable`, `/unlock`, `/logout`;
//! - `DELETE /admin/users/{id}/mfa`: removes the second factor;
//! - `PUT /admin/users/{id}/roles`;
//! - `DELETE /admin/users/{id}`.
//!
//! Every action is recorded in the account's security events with the administrator's id
//! (`actor`) and logged as `audit = "admin"` with `action`, `actor` and `target`.

mod accounts;
mod guard;
mod view;

use lambda_http::{Body, Request, Response};
use shared::clock::Clock;
use shared::config::{ConfigError, Source};
use shared::http::{ApiError, Route, not_found, route};
use shared::roles::Roles;
use shared::stores::Stores;
use std::time::Duration;

/// What the admin function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts and everything keyed to them.
    pub stores: S,
    /// The roles that can be given (`ROLES`).
    pub roles: Roles,
    /// How recent an administrator's login must be (`RECENT_AUTHENTICATION_SECONDS`).
    pub recent_authentication: Duration,
    /// The time tokens and events are checked and stamped against.
    pub clock: Clock,
}

impl<S> State<S> {
    /// The state from the environment (`ROLES`, `RECENT_AUTHENTICATION_SECONDS`).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            roles: Roles::from_source(env)?,
            recent_authentication: shared::mfa::recent_authentication_from(env)?,
            clock: Clock::system(),
        })
    }
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// A page of accounts.
    List,
    /// One account.
    Read,
    /// Disable an account and end its sessions.
    Disable,
    /// Enable an account again.
    Enable,
    /// Clear an account's failure counters.
    Unlock,
    /// End every session of an account.
    Logout,
    /// Remove an account's second factor.
    ResetSecondFactor,
    /// Replace an account's roles.
    SetRoles,
    /// Delete an account.
    Delete,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 9] = [
    (Route::get("/admin/users"), Endpoint::List),
    (Route::get("/admin/users/{id}"), Endpoint::Read),
    (Route::post("/admin/users/{id}/disable"), Endpoint::Disable),
    (Route::post("/admin/users/{id}/enable"), Endpoint::Enable),
    (Route::post("/admin/users/{id}/unlock"), Endpoint::Unlock),
    (Route::post("/admin/users/{id}/logout"), Endpoint::Logout),
    (
        Route::delete("/admin/users/{id}/mfa"),
        Endpoint::ResetSecondFactor,
    ),
    (Route::put("/admin/users/{id}/roles"), Endpoint::SetRoles),
    (Route::delete("/admin/users/{id}"), Endpoint::Delete),
];

/// Handles one request; any route but this function's is a `404`. Every outcome is a
/// response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let Some(endpoint) = route(&request, &ROUTES) else {
        return not_found(&request);
    };
    let outcome = match guard::administrator(state, &request).await {
        Ok(admin) => accounts::act(state, &admin, endpoint, &request).await,
        Err(error) => Err(error),
    };
    outcome.unwrap_or_else(ApiError::into_response)
}
