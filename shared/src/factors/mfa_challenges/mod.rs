//! Pending second-factor logins: after a correct password for an account with a second
//! factor, `/token` answers an `mfa_token` instead of tokens. The store keeps only its SHA-256
//! hash, the account, the account's token version at the password check and an expiry (a TTL
//! index removes it). Consuming it is one conditional delete, so of concurrent MFA grants with
//! one `mfa_token` at most one completes.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
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
    /// When the password was checked (the session's `auth_time`).
    pub password_at: SystemTime,
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

#[derive(Debug, Serialize, Deserialize)]
struct ChallengeDocument {
    #[serde(rename = "_id")]
    hash: String,
    account: String,
    token_version: i64,
    password_at: DateTime,
    expires_at: DateTime,
}

/// Pending second-factor logins in MongoDB, keyed by the `mfa_token` hash.
#[derive(Debug, Clone)]
pub struct MongoMfaChallengeStore {
    challenges: Collection<ChallengeDocument>,
}

impl MongoMfaChallengeStore {
    /// The store on `database`'s `mfa_challenges` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            challenges: database.collection(MFA_CHALLENGES_COLLECTION),
        }
    }

    /// The TTL index that removes expired challenges, and the one an account's challenges
    /// are found by (data export, deletion).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.challenges
            .create_indexes([crate::platform::database::expiry_index(), by_account])
            .await?;
        Ok(())
    }
}

impl MfaChallengeStore for MongoMfaChallengeStore {
    async fn create(&self, hash: &str, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let document = ChallengeDocument {
            hash: hash.to_owned(),
            account: challenge.account.as_str().to_owned(),
            token_version: i64::try_from(challenge.token_version).unwrap_or(i64::MAX),
            password_at: DateTime::from_system_time(challenge.password_at),
            expires_at: DateTime::from_system_time(challenge.expires_at),
        };
        self.challenges.insert_one(document).await?;
        Ok(())
    }

    async fn find(&self, hash: &str, now: SystemTime) -> Result<Option<MfaChallenge>, StoreError> {
        let now = DateTime::from_system_time(now);
        let found = self
            .challenges
            .find_one(doc! { "_id": hash, "expires_at": { "$gt": now } })
            .await?;
        Ok(found.and_then(|document| {
            Some(MfaChallenge {
                account: AccountId::parse(&document.account)?,
                token_version: u64::try_from(document.token_version).ok()?,
                password_at: document.password_at.to_system_time(),
                expires_at: document.expires_at.to_system_time(),
            })
        }))
    }

    async fn pending_of(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> Result<Vec<MfaChallenge>, StoreError> {
        use futures_util::TryStreamExt as _;
        let now = DateTime::from_system_time(now);
        let documents: Vec<ChallengeDocument> = self
            .challenges
            .find(doc! { "account": account.as_str(), "expires_at": { "$gt": now } })
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .into_iter()
            .filter_map(|document| {
                Some(MfaChallenge {
                    account: AccountId::parse(&document.account)?,
                    token_version: u64::try_from(document.token_version).ok()?,
                    password_at: document.password_at.to_system_time(),
                    expires_at: document.expires_at.to_system_time(),
                })
            })
            .collect())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .challenges
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }

    async fn consume(&self, hash: &str, now: SystemTime) -> Result<bool, StoreError> {
        let now = DateTime::from_system_time(now);
        let result = self
            .challenges
            .delete_one(doc! { "_id": hash, "expires_at": { "$gt": now } })
            .await?;
        Ok(result.deleted_count == 1)
    }
}
