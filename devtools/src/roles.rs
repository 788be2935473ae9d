//! Granting and revoking roles from the command line (`grant-role`), against the database:
//! how an operator makes the first administrator, which the API never does.

use shared::credentials::Username;
use shared::db::StoreError;
use shared::roles::Roles;
use shared::users::{MongoUserStore, UserStore};
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
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] StoreError),
}

/// Gives `role` to (or with `revoke`, takes it from) the account named `username`. A change
/// bumps the account's token version, so its next login carries the new scopes.
pub async fn change(
    users: &MongoUserStore,
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
    if !users
        .set_roles(&account.id, &held, SystemTime::now())
        .await?
    {
        return Err(RoleError::NoSuchAccount(username.to_owned()));
    }
    Ok(RoleChange::Changed(held))
}
