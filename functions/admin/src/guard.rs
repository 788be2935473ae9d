//! Who may use the admin API: an enabled account whose token carries `users:admin` (the
//! authorizer already refused any other), whose login is recent, and who signed in with the
//! second factor their account has.

use crate::State;
use lambda_http::Request;
use shared::identity::users::User;
use shared::platform::http::ApiError;
use shared::stores::Stores;

/// The administrator making the request.
pub struct Administrator {
    /// Their account, read fresh.
    pub user: User,
}

/// The caller, if they may administer accounts now:
///
/// - `401`/`403` as for any protected route (no principal, expired or revoked token,
///   account disabled or gone);
/// - `403 insufficient_user_authentication` when the login is older than
///   `RECENT_AUTHENTICATION_SECONDS`;
/// - `403 second_factor_required` when the account has no second factor, or has one and the
///   token's login did not use it (`amr` without `mfa`);
/// - `401` when the token carries a scope the account's roles no longer grant (`ROLES`
///   changed since it was issued).
pub async fn administrator<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Administrator, ApiError> {
    let now = state.clock.now();
    let (caller, user, factor) =
        shared::edge::principal::caller_with_second_factor(&state.stores, request, now).await?;
    if !shared::factors::mfa::is_recent(caller.authenticated_at, now, state.recent_authentication) {
        tracing::info!(actor = %user.id, "admin request refused: login not recent");
        return Err(ApiError::InsufficientUserAuthentication {
            max_age_seconds: state.recent_authentication.as_secs(),
            second_factor_missing: false,
        });
    }
    // What the user grants an application they signed in to (OpenID Connect's scopes,
    // `account`) is no role's to grant.
    let role_scopes: shared::access::scopes::Scopes = caller
        .scopes
        .iter()
        .filter(|scope| !shared::access::scopes::USER_GRANTED_SCOPES.contains(scope))
        .map(str::to_owned)
        .collect();
    if !role_scopes.is_subset(&state.roles.scopes_for(&user.roles)) {
        tracing::info!(actor = %user.id, "admin request refused: the token has scopes the account's roles no longer grant");
        return Err(ApiError::Unauthenticated);
    }
    let has_factor = factor.is_some_and(|factor| factor.confirmed);
    // The password and a second factor: a passkey alone does not do (one registered before
    // TOTP was on would otherwise stand in for it).
    let used = |method: &str| caller.methods.iter().any(|used| used == method);
    if !has_factor || !used("pwd") || !used("mfa") {
        tracing::info!(actor = %user.id, has_factor, "admin request refused: no second factor in this login");
        return Err(ApiError::Refused {
            code: "second_factor_required",
            message: "administrators must have two-factor authentication on and log in with it",
        });
    }
    Ok(Administrator { user })
}
