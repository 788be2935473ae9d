//! Pending second-factor logins: after a correct password for an account with a second
//! factor, `/token` answers an `mfa_token` instead of tokens. The store keeps only its SHA-256
//! hash, the account, the account's token version at the password check and an expiry (a TTL
//! index removes it). Consuming it is one conditional delete, so of concurrent MFA grants with
//! one `mfa_token` at most one completes.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoMfaChallengeStore;

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds pending second-factor logins.
pub const MFA_CHALLENGES_COLLECTION: &str = "mfa_challenges";

/// How long an `mfa_token` can be exchanged.
pub const MFA_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A password check waiting for its second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallenge {
    /// The account whose password was right.
    pub account: AccountId,
    /// The account's token version then: a sign-out everywhere or password change since
    /// voids the challenge.
    pub token_version: u64,
    /// When the password was checked (the session's `auth_time`), or the sign-in at another
    /// provider happened.
    pub password_at: SystemTime,
    /// Whether the first factor was a sign-in at another provider rather than the password.
    pub federated: bool,
    /// After this the `mfa_token` is refused.
    pub expires_at: SystemTime,
}

/// Where pending second-factor logins live.
pub trait MfaChallengeStore: Send + Sync {
    /// Stores `challenge` under the hash of its `mfa_token`.
    fn create(
        &self,
        hash: &str,
        challenge: &MfaChallenge,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The unexpired challenge with this hash.
    fn find(
        &self,
        hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<MfaChallenge>, StoreError>> + Send;

    /// The unexpired challenges of `account` (for a data export).
    fn pending_of(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<MfaChallenge>, StoreError>> + Send;

    /// Deletes every challenge of `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the unexpired challenge with this hash; `true` for exactly one of concurrent
    /// calls, and never again.
    fn consume(
        &self,
        hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
