//! Granting and revoking roles from the command line (`grant-role`), against the database:
//! how an operator makes the first administrator, which the API never does.

use shared::access::roles::Roles;
use shared::access::roles::USERS_ADMIN_SCOPE;
use shared::factors::second_factors::SecondFactorStore;
use shared::identity::credentials::Username;
use shared::identity::users::UserStore;
use shared::platform::database::StoreError;
use shared::stores::Stores;
use std::time::SystemTime;

/// What `grant-role` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChange {
    /// The account's roles are now these (sorted); its sessions ended.
    Changed(Vec<String>),
    /// The account already had (or, revoking, already lacked) the role: nothing changed.
    Unchanged(Vec<String>),
}

/// Why a role could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// `ROLES` does not define the role.
    #[error("role {role:?} is not defined; ROLES defines: {defined}")]
    UnknownRole {
        /// The role asked for.
        role: String,
        /// The defined roles, comma-separated.
        defined: String,
    },
    /// No account has that username.
    #[error("no account is named {0:?}")]
    NoSuchAccount(String),
    /// The account changed between its read and the update (or was deleted): run it again.
    #[error("{0:?} changed while its roles were being set; run grant-role again")]
    ChangedMeanwhile(String),
    /// A role with `users:admin` needs a second factor on the account first.
    #[error(
        "{0:?} has no second factor: turn on two-factor authentication for it (POST /users/me/mfa/totp) before giving it a role with users:admin"
    )]
    NoSecondFactor(String),
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Gives `role` to (or with `revoke`, takes it from) the account named `username`. A change
/// bumps the account's token version, so its next login carries the new scopes. A role that
/// grants `users:admin` is only given to an account with a confirmed second factor: the admin
/// API needs one, and an administrator without one could be taken over with the password
/// alone (by whoever enrols a factor first).
pub async fn change(
    stores: &impl Stores,
    roles: &Roles,
    username: &str,
    role: &str,
    revoke: bool,
) -> Result<RoleChange, RoleError> {
    if !revoke && !roles.is_defined(role) {
        return Err(RoleError::UnknownRole {
            role: role.to_owned(),
            defined: roles.names().collect::<Vec<_>>().join(", "),
        });
    }
    let name =
        Username::parse(username).map_err(|_| RoleError::NoSuchAccount(username.to_owned()))?;
    let users = stores.users();
    let account = users
        .find(&name)
        .await?
        .ok_or_else(|| RoleError::NoSuchAccount(username.to_owned()))?;
    let mut held = account.roles.clone();
    held.retain(|held| held != role);
    if !revoke {
        held.push(role.to_owned());
    }
    held.sort();
    let mut before = account.roles.clone();
    before.sort();
    if held == before {
        return Ok(RoleChange::Unchanged(held));
    }
    let makes_admin = !revoke && roles.scopes_for(&[role]).contains(USERS_ADMIN_SCOPE);
    if makes_admin {
        let factor = stores.second_factors().find(&account.id).await?;
        if !factor.is_some_and(|factor| factor.confirmed) {
            return Err(RoleError::NoSecondFactor(username.to_owned()));
        }
    }
    if !users
        .set_roles(&account.id, account.token_version, &held, SystemTime::now())
        .await?
    {
        return Err(RoleError::ChangedMeanwhile(username.to_owned()));
    }
    Ok(RoleChange::Changed(held))
}
