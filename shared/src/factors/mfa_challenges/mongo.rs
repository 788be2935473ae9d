//! The MongoDB implementation of [`super::MfaChallengeStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Serialize, Deserialize)]
struct ChallengeDocument {
    #[serde(rename = "_id")]
    hash: String,
    account: String,
    token_version: i64,
    password_at: DateTime,
    #[serde(default)]
    federated: bool,
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
            federated: challenge.federated,
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
                federated: document.federated,
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
                    federated: document.federated,
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
