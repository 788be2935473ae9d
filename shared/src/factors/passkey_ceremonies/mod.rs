//! WebAuthn ceremonies in progress: the server's half of each challenge it sent, kept until
//! the browser's answer comes back or a few minutes pass (a TTL index removes it). A
//! ceremony is stored under its challenge and consumed by one conditional delete, so of
//! concurrent answers to one challenge at most one is verified, and none after it expired.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoPasskeyCeremonyStore;

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds ceremonies in progress.
pub const PASSKEY_CEREMONIES_COLLECTION: &str = "passkey_ceremonies";

/// How long a challenge can be answered (the `timeout` the options announce).
pub const CEREMONY_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    /// Registering a passkey to a signed-in account.
    Registration,
    /// Signing in with a passkey alone (discoverable credentials).
    SignIn,
    /// Completing a password login answered with `mfa_required`.
    SecondFactor,
}

impl CeremonyKind {
    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
        }
    }
}

/// A challenge sent and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// What it is for.
    pub kind: CeremonyKind,
    /// The account it is bound to (registration and second factor).
    pub account: Option<AccountId>,
    /// For a second factor: the hash of the `mfa_token` whose login it completes.
    pub mfa_token_hash: Option<String>,
    /// For a registration: the account's token version when it began; the passkey is
    /// stored only while the account is still at it.
    pub token_version: Option<u64>,
    /// The verification library's server state, encoded.
    pub state: Vec<u8>,
    /// After this the answer is refused.
    pub expires_at: SystemTime,
}

/// Where ceremonies in progress live.
pub trait PasskeyCeremonyStore: Send + Sync {
    /// Stores `ceremony` under `challenge`.
    fn create(
        &self,
        challenge: &str,
        ceremony: &Ceremony,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes and answers the unexpired ceremony of `kind` under `challenge`: it is answered
    /// to exactly one of concurrent calls, and never again.
    fn consume(
        &self,
        challenge: &str,
        kind: CeremonyKind,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Ceremony>, StoreError>> + Send;

    /// Deletes every ceremony bound to `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
