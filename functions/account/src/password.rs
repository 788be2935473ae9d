//! Password change and logout-everywhere.

use crate::reauthentication::{self, RecentCaller};
use crate::{State, internal};
use lambda_http::Request;
use serde_json::{Value, json};
use shared::edge::principal::authenticated_user;
use shared::identity::account_events::EventKind;
use shared::identity::account_id::AccountId;
use shared::identity::credentials::{CredentialError, Password};
use shared::identity::users::{Revocation, UserStore};
use shared::platform::http::{ApiError, string_field};
use shared::stores::Stores;

/// Bumps the token version and revokes every session: every token issued so far stops
/// working.
pub(crate) async fn logout_everywhere<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let user = authenticated_user(state.stores.users(), request, state.clock.now()).await?;
    state
        .stores
        .users()
        .bump_token_version(&user.id, Revocation::Sessions, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    revoke_sessions(&state.stores, &user.id).await?;
    crate::record(state, &user.id, EventKind::LoggedOutEverywhere, request).await;
    tracing::info!(username = %user.username, "signed out everywhere");
    Ok(message(
        "signed out everywhere: every access and refresh token issued so far is revoked",
    ))
}

/// Changes the password after a recent login, the current password and (with a second
/// factor on) a code, each checked under its own lockout claim. An account without one
/// (created through another provider) sets its first password after its recent login alone
/// (and its code).
pub(crate) async fn change_password<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let (caller, fields) = reauthentication::sensitive_request(state, request).await?;
    let RecentCaller { user, .. } = &caller;
    let username = &user.username;
    // An account without a password sets its first one here, after its recent login.
    let current = if user.has_password() {
        Some(string_field(&fields, "current_password")?)
    } else {
        None
    };
    let new_password = Password::for_new_account(string_field(&fields, "new_password")?, username)
        .map_err(|error| new_password_refused(&error))?;
    reauthentication::confirm_password_and_factor(state, &caller, current, &fields, request)
        .await?;
    shared::factors::breached_passwords::refuse_if_breached(
        &state.breached,
        &new_password,
        &state.metrics,
        "new_password",
    )
    .await?;

    let now = state.clock.now();
    let new_hash = state.hasher.hash(&new_password).await.map_err(internal)?;
    let changed = state
        .stores
        .users()
        .change_password(&user.id, &user.password_hash, &new_hash, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !changed {
        // The stored hash moved since we read it: a concurrent change won.
        tracing::info!(username = %username, "password change lost a race");
        return Err(ApiError::WrongPassword);
    }
    revoke_sessions(&state.stores, &user.id).await?;
    crate::record(state, &user.id, EventKind::PasswordChanged, request).await;
    tracing::info!(username = %username, "password changed");
    if let Some(address) = &user.email {
        let to = shared::mail::flows::Recipient {
            account: &user.id,
            username,
            address,
        };
        let what = "The password of your account was changed, and every device was signed out.";
        state.outgoing().send_notice(&to, what).await;
    }
    Ok(message("password changed: sign in again on every device"))
}

pub(crate) fn message(text: &str) -> Value {
    json!({ "message": text })
}

/// Ends every session, code and ceremony started before the token version moved: a reset
/// code or address change asked for before must not undo what this change is for.
async fn revoke_sessions<S: Stores>(stores: &S, account: &AccountId) -> Result<(), ApiError> {
    shared::lifecycle::revocation::end_started_before(stores, account)
        .await
        .map_err(|error| ApiError::from_store(&error))
}

fn new_password_refused(error: &CredentialError) -> ApiError {
    ApiError::InvalidField {
        field: "new_password",
        message: format!("new {error}"),
    }
}
