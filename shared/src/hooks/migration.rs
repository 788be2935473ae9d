//! The user-migration hook: for a name this service does not know, the operator's function
//! (Cognito's `UserMigration_Authentication` with the typed password, or
//! `UserMigration_ForgotPassword` without one) says whether the old system knows it, and
//! returns its attributes; the account is then created here in the one insert its unique name
//! allows, so parallel first requests create one account.

use super::cognito::{UserMigrationRequest, UserMigrationResponse};
use super::{HookError, Hooks, Trigger};
use crate::identity::account_events::{self, AccountEvent, AccountEventStore, EventKind};
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::identity::users::{Insertion, User, UserStore};
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use std::time::SystemTime;

/// Why the old system was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked<'a> {
    /// A password sign-in, with the typed password.
    SignIn(&'a str),
    /// A password-reset request.
    ForgotPassword,
}

/// The hook failed (not a refusal): whether the old system knows the name is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the user-migration hook failed")]
pub struct Undecided;

/// What the old system says about `username`: its attributes, or `None` when the hook is
/// off or refuses (an unknown name, a wrong password).
pub async fn ask(
    hooks: &Hooks,
    username: &Username,
    asked: Asked<'_>,
) -> Result<Option<UserMigrationResponse>, Undecided> {
    if !hooks.is_on(Trigger::UserMigration) {
        return Ok(None);
    }
    let (trigger_source, password) = match asked {
        Asked::SignIn(password) => ("UserMigration_Authentication", Some(password.to_owned())),
        Asked::ForgotPassword => ("UserMigration_ForgotPassword", None),
    };
    let request = UserMigrationRequest {
        password,
        ..UserMigrationRequest::default()
    };
    let event = hooks.event::<_, UserMigrationResponse>(
        trigger_source,
        "1",
        username.as_str(),
        None,
        request,
    );
    match hooks
        .call::<_, UserMigrationResponse>(Trigger::UserMigration, &event)
        .await
    {
        Ok(response) => Ok(response),
        Err(HookError::Raised { .. }) => {
            tracing::info!("the user-migration hook refused the name");
            Ok(None)
        }
        Err(HookError::Failed(_)) => Err(Undecided),
    }
}

/// Creates the account the old system vouched for, with `password_hash` (or none) and the
/// old system's address when it was verified there (marked as vouched for); when a parallel
/// request created it first, that account. `None` when the name may not be a new account's
/// here, a look-alike name holds it, or the account would be unusable: without a password
/// (`password_hash` empty) it must get the address, or it is deleted again, since nothing
/// could ever sign in to it and the old system is not asked twice.
pub async fn create(
    users: &impl UserStore,
    events: &impl AccountEventStore,
    username: &Username,
    password_hash: &str,
    response: &UserMigrationResponse,
    now: SystemTime,
    source: &RequestSource,
) -> Result<Option<User>, StoreError> {
    let address = response
        .verified_email()
        .and_then(|raw| EmailAddress::parse(raw).ok());
    let needs_address = password_hash.is_empty();
    if needs_address && address.is_none() {
        return Ok(None);
    }
    let Ok(new_name) = Username::for_new_account(username.as_str()) else {
        tracing::warn!("the user-migration hook vouched for a name new accounts may not have");
        return Ok(None);
    };
    let id = match users.insert(&new_name, password_hash, now).await? {
        Insertion::Created(id) => id,
        Insertion::UsernameTaken => {
            tracing::info!("user migration: the account was created by a parallel request");
            return users.find(username).await;
        }
    };
    let adopted = match &address {
        Some(address) => adopt(users, &id, address, now).await,
        None => Ok(false),
    };
    match adopted {
        Ok(true) => {}
        Ok(false) if !needs_address => {}
        Ok(false) | Err(_) => {
            // Unusable without its address (taken by another account, or a failed write).
            tracing::warn!(account = %id, "imported account deleted again: its address could not be given");
            users.delete(&id).await?;
            return adopted.map(|_| None);
        }
    }
    let event = AccountEvent::new(&id, EventKind::AccountImported, now, source);
    account_events::record(events, &event).await;
    tracing::info!(account = %id, "account imported by the user-migration hook");
    users.find_by_id(&id).await
}

/// Gives the new account `address` as vouched for; whether it has it.
async fn adopt(
    users: &impl UserStore,
    id: &crate::identity::account_id::AccountId,
    address: &EmailAddress,
    now: SystemTime,
) -> Result<bool, StoreError> {
    if !users.set_pending_email(id, Some(address), 0, now).await? {
        return Ok(false);
    }
    let verified = users.vouch_email(id, address, 0, now).await?;
    tracing::info!(account = %id, ?verified, "the imported account's address");
    Ok(matches!(
        verified,
        crate::identity::users::EmailVerification::Verified { .. }
    ))
}
