//! The admin API, for accounts whose token carries `users:admin` (the authorizer enforces the
//! scope, as `openapi.yaml` declares it), after a recent login with a second factor:
//!
//! - `GET /admin/users`: accounts by name, a page at a time, filtered by name prefix, role
//!   and disabled;
//! - `GET /admin/users/{id}`: one account with its latest security events;
//! - `POST /admin/users/{id}/disable`, `/enable`, `/unlock`, `/logout`;
//! - `DELETE /admin/users/{id}/mfa`: removes the second factor;
//! - `DELETE /admin/users/{id}/email`: removes the email address;
//! - `PUT /admin/users/{id}/roles`;
//! - `DELETE /admin/users/{id}`;
//! - `POST /admin/users/{id}/password-reset`: a single-use reset code to pass on;
//! - `GET /admin/clients`, `POST /admin/clients`, `POST /admin/clients/{id}/secrets`,
//!   `DELETE /admin/clients/{id}/secrets/{secret_id}`, `DELETE /admin/clients/{id}` (scope
//!   `clients:admin`): machine clients.
//!
//! Every action is recorded in the account's security events with the administrator's id
//! (`actor`) and logged as `audit = "admin"` with `action`, `actor` and `target`.

mod accounts;
mod clients;
mod guard;
mod view;

use lambda_http::{Body, Request, Response};
use shared::access::roles::Roles;
use shared::factors::hashing::PasswordHasher;
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{ApiError, Route, not_found, route};
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
    /// Hashes new client secrets (argon2id, the `ARGON2_*` settings).
    pub hasher: PasswordHasher,
    /// How long a password-reset code an administrator issues stays valid
    /// (`ADMIN_RESET_CODE_TTL_SECONDS`).
    pub reset_code_ttl: Duration,
}

impl<S> State<S> {
    /// The state from the environment (`ROLES`, `RECENT_AUTHENTICATION_SECONDS`).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            roles: Roles::from_source(env)?,
            recent_authentication: shared::factors::mfa::recent_authentication_from(env)?,
            clock: Clock::system(),
            hasher: PasswordHasher::from_source(env)?,
            reset_code_ttl: reset_code_ttl(env)?,
        })
    }
}

/// `ADMIN_RESET_CODE_TTL_SECONDS`: 300 to 604800 (a week), default 86400 (a day).
pub fn reset_code_ttl(env: &impl Source) -> Result<Duration, ConfigError> {
    let seconds: u64 =
        shared::platform::config::parsed_or(env, "ADMIN_RESET_CODE_TTL_SECONDS", 86_400)?;
    if !(300..=604_800).contains(&seconds) {
        return Err(ConfigError::Invalid {
            var: "ADMIN_RESET_CODE_TTL_SECONDS",
            reason: "must be between 300 and 604800".to_owned(),
        });
    }
    Ok(Duration::from_secs(seconds))
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
    /// Remove an account's email address.
    RemoveEmail,
    /// Replace an account's roles.
    SetRoles,
    /// Delete an account.
    Delete,
    /// A password-reset code to pass on.
    IssueResetCode,
    /// The machine clients.
    ListClients,
    /// A new machine client.
    CreateClient,
    /// A new secret beside the client's current one.
    RotateClientSecret,
    /// A secret removed, ending a rotation.
    RemoveClientSecret,
    /// A client deleted.
    DeleteClient,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 16] = [
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
    (
        Route::delete("/admin/users/{id}/email"),
        Endpoint::RemoveEmail,
    ),
    (Route::put("/admin/users/{id}/roles"), Endpoint::SetRoles),
    (Route::delete("/admin/users/{id}"), Endpoint::Delete),
    (
        Route::post("/admin/users/{id}/password-reset"),
        Endpoint::IssueResetCode,
    ),
    (Route::get("/admin/clients"), Endpoint::ListClients),
    (Route::post("/admin/clients"), Endpoint::CreateClient),
    (
        Route::post("/admin/clients/{id}/secrets"),
        Endpoint::RotateClientSecret,
    ),
    (
        Route::delete("/admin/clients/{id}/secrets/{secret_id}"),
        Endpoint::RemoveClientSecret,
    ),
    (Route::delete("/admin/clients/{id}"), Endpoint::DeleteClient),
];

/// Handles one request; any route but this function's is a `404`. Every outcome is a
/// response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let Some(endpoint) = route(&request, &ROUTES) else {
        return not_found(&request);
    };
    let outcome = match guard::administrator(state, &request).await {
        Ok(admin) => answer(state, &admin, endpoint, &request).await,
        Err(error) => Err(error),
    };
    outcome.unwrap_or_else(ApiError::into_response)
}

async fn answer<S: Stores>(
    state: &State<S>,
    admin: &guard::Administrator,
    endpoint: Endpoint,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    use accounts::Action;
    let action = match endpoint {
        Endpoint::List => return accounts::list(state, admin, request).await,
        Endpoint::Read => return accounts::read_one(state, admin, request).await,
        Endpoint::ListClients => return clients::list(state, admin, request).await,
        Endpoint::CreateClient => return clients::create(state, admin, request).await,
        Endpoint::RotateClientSecret => return clients::rotate(state, admin, request).await,
        Endpoint::RemoveClientSecret => return clients::remove_secret(state, admin, request).await,
        Endpoint::DeleteClient => return clients::delete(state, admin, request).await,
        Endpoint::Disable => Action::Disable,
        Endpoint::Enable => Action::Enable,
        Endpoint::Unlock => Action::Unlock,
        Endpoint::Logout => Action::Logout,
        Endpoint::ResetSecondFactor => Action::ResetSecondFactor,
        Endpoint::RemoveEmail => Action::RemoveEmail,
        Endpoint::SetRoles => Action::SetRoles,
        Endpoint::Delete => Action::Delete,
        Endpoint::IssueResetCode => Action::IssueResetCode,
    };
    accounts::act(state, admin, action, request).await
}
