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
//!   `clients:admin`): machine clients;
//! - `GET /admin/relying-parties`, `POST /admin/relying-parties`,
//!   `GET`/`DELETE /admin/relying-parties/{id}`, `POST /admin/relying-parties/{id}/secrets`,
//!   `DELETE /admin/relying-parties/{id}/secrets/{secret_id}` (scope `clients:admin`): the
//!   applications users sign in to through `/authorize`.
//!
//! Every action is recorded in the account's security events with the administrator's id
//! (`actor`) and logged as `audit = "admin"` with `action`, `actor` and `target`.

mod accounts;
mod clients;
mod guard;
mod relying_parties;
mod view;

pub use accounts::AccountAction;

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
    /// Something done to one account.
    Account(AccountAction),
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
    /// The relying parties.
    ListRelyingParties,
    /// One relying party.
    ReadRelyingParty,
    /// A new relying party.
    CreateRelyingParty,
    /// A new secret beside a confidential relying party's current one.
    RotateRelyingPartySecret,
    /// A relying party's secret removed, ending a rotation.
    RemoveRelyingPartySecret,
    /// A relying party deleted.
    DeleteRelyingParty,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 23] = [
    (Route::get("/admin/users"), Endpoint::List),
    (Route::get("/admin/users/{id}"), Endpoint::Read),
    (
        Route::post("/admin/users/{id}/disable"),
        Endpoint::Account(AccountAction::Disable),
    ),
    (
        Route::post("/admin/users/{id}/enable"),
        Endpoint::Account(AccountAction::Enable),
    ),
    (
        Route::post("/admin/users/{id}/unlock"),
        Endpoint::Account(AccountAction::Unlock),
    ),
    (
        Route::post("/admin/users/{id}/logout"),
        Endpoint::Account(AccountAction::Logout),
    ),
    (
        Route::delete("/admin/users/{id}/mfa"),
        Endpoint::Account(AccountAction::ResetSecondFactor),
    ),
    (
        Route::delete("/admin/users/{id}/email"),
        Endpoint::Account(AccountAction::RemoveEmail),
    ),
    (
        Route::put("/admin/users/{id}/roles"),
        Endpoint::Account(AccountAction::SetRoles),
    ),
    (
        Route::delete("/admin/users/{id}"),
        Endpoint::Account(AccountAction::Delete),
    ),
    (
        Route::post("/admin/users/{id}/password-reset"),
        Endpoint::Account(AccountAction::IssueResetCode),
    ),
    (
        Route::delete("/admin/users/{id}/identities/{identity_id}"),
        Endpoint::Account(AccountAction::UnlinkIdentity),
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
    (
        Route::get("/admin/relying-parties"),
        Endpoint::ListRelyingParties,
    ),
    (
        Route::post("/admin/relying-parties"),
        Endpoint::CreateRelyingParty,
    ),
    (
        Route::get("/admin/relying-parties/{id}"),
        Endpoint::ReadRelyingParty,
    ),
    (
        Route::post("/admin/relying-parties/{id}/secrets"),
        Endpoint::RotateRelyingPartySecret,
    ),
    (
        Route::delete("/admin/relying-parties/{id}/secrets/{secret_id}"),
        Endpoint::RemoveRelyingPartySecret,
    ),
    (
        Route::delete("/admin/relying-parties/{id}"),
        Endpoint::DeleteRelyingParty,
    ),
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
    match endpoint {
        Endpoint::List => accounts::list(state, admin, request).await,
        Endpoint::Read => accounts::read_one(state, admin, request).await,
        Endpoint::Account(action) => accounts::act(state, admin, action, request).await,
        Endpoint::ListClients => clients::list(state, admin, request).await,
        Endpoint::CreateClient => clients::create(state, admin, request).await,
        Endpoint::RotateClientSecret => clients::rotate(state, admin, request).await,
        Endpoint::RemoveClientSecret => clients::remove_secret(state, admin, request).await,
        Endpoint::DeleteClient => clients::delete(state, admin, request).await,
        Endpoint::ListRelyingParties => relying_parties::list(state, admin, request).await,
        Endpoint::ReadRelyingParty => relying_parties::read(state, admin, request).await,
        Endpoint::CreateRelyingParty => relying_parties::create(state, admin, request).await,
        Endpoint::RotateRelyingPartySecret => relying_parties::rotate(state, admin, request).await,
        Endpoint::RemoveRelyingPartySecret => {
            relying_parties::remove_secret(state, admin, request).await
        }
        Endpoint::DeleteRelyingParty => relying_parties::delete(state, admin, request).await,
    }
}
