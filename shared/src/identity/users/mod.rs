//! Accounts: the [`User`] domain type and the [`UserStore`] trait, keyed by the canonical
//! username. [`mongo`] stores them in MongoDB with a unique index; [`legacy`] also finds the
//! FastAPI app's documents during a switch-over; [`look_alikes`] keys existing accounts by
//! how their names look.

#[cfg(test)]
mod contract;
#[cfg(test)]
mod live;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

pub mod legacy;
pub mod look_alikes;
mod mongo;

pub use mongo::{EMAIL_INDEX, MongoUserStore, SKELETON_INDEX, UNIQUE_INDEX};

use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::platform::config::{ConfigError, Source};
use crate::platform::database::StoreError;
use std::future::Future;
use std::time::SystemTime;

/// The default collection that holds users (`USERS_COLLECTION` changes it).
pub const USERS_COLLECTION: &str = "users";

/// Which collection holds the users and whether it may hold the FastAPI app's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCollectionSettings {
    /// `USERS_COLLECTION`, default `users`; `user_model` is the FastAPI app's.
    pub collection: String,
    /// `LEGACY_USER_LOOKUP` (`true`/`false`, default `false`): also find documents without
    /// `username_canonical` (written by the FastAPI app, not yet migrated) by a
    /// case-insensitive match on `username`, refusing names that match more than one.
    pub legacy_lookup: bool,
}

impl Default for UserCollectionSettings {
    fn default() -> Self {
        Self {
            collection: USERS_COLLECTION.to_owned(),
            legacy_lookup: false,
        }
    }
}

impl UserCollectionSettings {
    /// Reads `USERS_COLLECTION` and `LEGACY_USER_LOOKUP`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let legacy_lookup = crate::platform::config::flag(source, "LEGACY_USER_LOOKUP", false)?;
        let collection = source
            .get("USERS_COLLECTION")
            .unwrap_or_else(|| USERS_COLLECTION.to_owned());
        if collection.is_empty() || collection.contains('$') || collection.contains('\0') {
            return Err(ConfigError::Invalid {
                var: "USERS_COLLECTION",
                reason: "not a valid collection name".to_owned(),
            });
        }
        Ok(Self {
            collection,
            legacy_lookup,
        })
    }
}

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The account's immutable id, which tokens and sessions name.
    pub id: AccountId,
    /// The username as chosen at sign-up, with its canonical form.
    pub username: Username,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// Whether the account may log in and use the API.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: SystemTime,
    /// Access and refresh tokens issued before this version are refused; bumped by
    /// logout-everywhere, a password change or reset, and an administrator's disable,
    /// logout, second-factor reset or role change. Codes and ceremonies started under an
    /// earlier version are refused too.
    pub token_version: u64,
    /// Passkeys registered under an earlier generation never sign in; a password reset and
    /// an administrator's second-factor reset move it (and delete the passkeys).
    pub passkey_generation: u64,
    /// The verified email address: where reset codes and notices go. Unique among
    /// verified addresses.
    pub email: Option<EmailAddress>,
    /// Whether `email` was verified on the word of the operator's hook (pre sign-up's
    /// `autoVerifyEmail`, a migration's old system) rather than by a code or a trusted
    /// provider: such an address never links another provider's identity by itself.
    pub email_vouched: bool,
    /// An address waiting for its verification code; it replaces `email` only when verified.
    pub pending_email: Option<EmailAddress>,
    /// The roles the account holds; their scopes go into its access tokens.
    pub roles: Vec<String>,
    /// Whether the username was proposed for the account (one created through another
    /// provider) rather than chosen: its owner may change it once.
    pub username_provisional: bool,
}

/// The password hash of an account without a password (created through another provider):
/// no password matches it.
pub const NO_PASSWORD_HASH: &str = "";

impl User {
    /// Whether the account has a password (accounts created through another provider have
    /// none until one is set).
    pub fn has_password(&self) -> bool {
        self.password_hash != NO_PASSWORD_HASH
    }
}

/// What a token-version bump ends besides the account's tokens and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Tokens, sessions, the waiting address and every code or ceremony started before.
    Sessions,
    /// All of that, and every passkey registered before (their generation moves too).
    SessionsAndPasskeys,
}

/// The outcome of adding a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insertion {
    /// The account was stored under this id.
    Created(AccountId),
    /// An account with the same canonical username already exists; nothing was stored.
    UsernameTaken,
}

/// The outcome of changing a proposed username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renaming {
    /// The account has the new name, which is no longer provisional.
    Renamed,
    /// Another account has the name, or one that looks like it: nothing changed.
    UsernameTaken,
    /// The account's name is its chosen one (or it is gone): nothing changed.
    NotProvisional,
}

/// The outcome of redeeming a verification code for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailVerification {
    /// The address is now the verified one; `previous` is the one it replaced.
    Verified {
        /// The verified address before, to tell about the change.
        previous: Option<EmailAddress>,
    },
    /// The account no longer waits for this address (changed or removed since, or gone).
    NotPending,
    /// Another account verified this address first.
    AddressTaken,
}

/// Which accounts a listing returns, in the order of their canonical names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountQuery {
    /// Only accounts whose canonical name starts with this (itself canonical).
    pub prefix: Option<String>,
    /// Only accounts holding this role.
    pub role: Option<String>,
    /// Only disabled (`true`) or only enabled (`false`) accounts.
    pub disabled: Option<bool>,
    /// Only accounts whose canonical name comes after this one: the previous page's last.
    pub after: Option<String>,
    /// At most this many.
    pub limit: u32,
}

impl AccountQuery {
    /// Whether `user` is one the query asks for, its position (`after`, `limit`) aside.
    pub fn matches(&self, user: &User) -> bool {
        let name = user.username.canonical();
        self.prefix
            .as_ref()
            .is_none_or(|prefix| name.starts_with(prefix.as_str()))
            && self
                .role
                .as_ref()
                .is_none_or(|role| user.roles.contains(role))
            && self
                .disabled
                .is_none_or(|disabled| user.disabled == disabled)
            && self
                .after
                .as_ref()
                .is_none_or(|after| name > after.as_str())
    }
}

/// Where accounts live. Implemented for MongoDB and, for handler tests, in memory.
pub trait UserStore: Send + Sync {
    /// Stores a new, enabled account unless its canonical username is taken, or another
    /// account's name looks like it ([`Username::skeleton_key`]): both are
    /// [`Insertion::UsernameTaken`].
    fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Insertion, StoreError>> + Send;

    /// Stores a new, enabled account without a password whose name was proposed for it (an
    /// account created through another provider), under the rules of [`UserStore::insert`].
    fn insert_provisional(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> impl Future<Output = Result<Insertion, StoreError>> + Send;

    /// Gives the account `id` the name `username` in one conditional update, only while its
    /// name is provisional, unless another account has the name or one that looks like it;
    /// the name is then its chosen one.
    fn rename_provisional(
        &self,
        id: &AccountId,
        username: &Username,
        now: SystemTime,
    ) -> impl Future<Output = Result<Renaming, StoreError>> + Send;

    /// The account whose canonical username matches `username`'s.
    fn find(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The account with the id `id`.
    fn find_by_id(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Bumps the token version of the account `id`, so every token issued before is refused,
    /// and clears its waiting address in the same update (with
    /// [`Revocation::SessionsAndPasskeys`], the passkey generation moves too). Returns the new
    /// version, or `None` when the account does not exist.
    fn bump_token_version(
        &self,
        id: &AccountId,
        revocation: Revocation,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Replaces the password hash, bumps the token version and clears the waiting address in
    /// one update, only if the stored hash is still `current_hash` (a concurrent change wins).
    /// Returns whether it changed.
    fn change_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The account whose verified address is `address` (compared case-insensitively).
    fn find_by_email(
        &self,
        address: &EmailAddress,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Sets (or with `None` clears) the address waiting for verification, only while the
    /// token version is still `read_version`. Returns whether it changed: false when the
    /// account is gone or its credentials changed since it was read.
    fn set_pending_email(
        &self,
        id: &AccountId,
        address: Option<&EmailAddress>,
        read_version: u64,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Makes `address` the verified address in one conditional update, only if it is still
    /// the one waiting (by its comparison key), the token version is still `issued_under`
    /// (the code's), and no other account has it verified.
    fn verify_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
    ) -> impl Future<Output = Result<EmailVerification, StoreError>> + Send;

    /// [`UserStore::verify_email`] for an address a hook vouched for: the same conditions, and
    /// the address is marked [`User::email_vouched`] (a later verification by code clears it).
    fn vouch_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
    ) -> impl Future<Output = Result<EmailVerification, StoreError>> + Send;

    /// Removes both the verified and the waiting address. Returns the verified one it had.
    fn remove_email(
        &self,
        id: &AccountId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<EmailAddress>, StoreError>> + Send;

    /// What [`UserStore::change_password`] does, for a reset with a code: only while the
    /// account is enabled, its token version is still `issued_under` (the code's) and (for a
    /// code sent to `address`) `address` is still its verified address, in the same
    /// conditional update, which also moves the passkey generation. Returns whether it
    /// changed.
    fn reset_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        address: Option<&EmailAddress>,
        issued_under: u64,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the account's roles, bumps its token version and clears its waiting address in
    /// the same update, so its tokens, sessions and codes from before stop working; only while the token version is
    /// still `read_version` (the account as the caller read it). Returns whether it changed:
    /// false when the account is gone or changed since.
    fn set_roles(
        &self,
        id: &AccountId,
        read_version: u64,
        roles: &[String],
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Disables the account (bumping its token version and clearing its waiting address in
    /// the same update, so its tokens, sessions and codes stop working) or enables it again. Returns whether the account exists.
    fn set_disabled(
        &self,
        id: &AccountId,
        disabled: bool,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The accounts `query` asks for, by canonical name. Documents of the FastAPI app not yet
    /// migrated (no canonical name) are not listed.
    fn list(
        &self,
        query: &AccountQuery,
    ) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// How many enabled accounts hold one of `roles`.
    fn count_enabled_holding(
        &self,
        roles: &[String],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the account `id`. Returns whether it existed.
    fn delete(&self, id: &AccountId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces a legacy hash by its argon2id upgrade after a successful login, only if the
    /// stored hash is still `legacy_hash`, and stores the canonical form of `username` (the
    /// account's name) with it; the token version stays. Returns whether it changed (false
    /// when a concurrent login or password change came first).
    fn upgrade_hash(
        &self,
        id: &AccountId,
        username: &Username,
        legacy_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_settings_are_read_and_checked() {
        let default = UserCollectionSettings::from_source(&[]).unwrap();
        assert_eq!(default, UserCollectionSettings::default());
        let legacy = UserCollectionSettings::from_source(&[
            ("USERS_COLLECTION", "user_model"),
            ("LEGACY_USER_LOOKUP", "true"),
        ])
        .unwrap();
        assert_eq!(
            (legacy.collection.as_str(), legacy.legacy_lookup),
            ("user_model", true)
        );
        assert!(UserCollectionSettings::from_source(&[("LEGACY_USER_LOOKUP", "yes")]).is_err());
        assert!(UserCollectionSettings::from_source(&[("USERS_COLLECTION", "$cmd")]).is_err());
    }
}
