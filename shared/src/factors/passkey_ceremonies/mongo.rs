//! The MongoDB implementation of [`super::PasskeyCeremonyStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Serialize, Deserialize)]
struct CeremonyDocument {
    #[serde(rename = "_id")]
    challenge: String,
    kind: CeremonyKind,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    mfa_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_version: Option<i64>,
    state: Binary,
    expires_at: DateTime,
}

/// Ceremonies in MongoDB, keyed by challenge.
#[derive(Debug, Clone)]
pub struct MongoPasskeyCeremonyStore {
    ceremonies: Collection<CeremonyDocument>,
}

impl MongoPasskeyCeremonyStore {
    /// The store on `database`'s `passkey_ceremonies` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            ceremonies: database.collection(PASSKEY_CEREMONIES_COLLECTION),
        }
    }

    /// The TTL index that removes unanswered ceremonies, and the one an account's are
    /// found by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.ceremonies
            .create_indexes([crate::platform::database::expiry_index(), by_account])
            .await?;
        Ok(())
    }
}

impl PasskeyCeremonyStore for MongoPasskeyCeremonyStore {
    async fn create(&self, challenge: &str, ceremony: &Ceremony) -> Result<(), StoreError> {
        let document = CeremonyDocument {
            challenge: challenge.to_owned(),
            kind: ceremony.kind,
            account: ceremony.account.as_ref().map(|id| id.as_str().to_owned()),
            mfa_token_hash: ceremony.mfa_token_hash.clone(),
            token_version: ceremony
                .token_version
                .map(|version| i64::try_from(version).unwrap_or(i64::MAX)),
            state: Binary {
                subtype: BinarySubtype::Generic,
                bytes: ceremony.state.clone(),
            },
            expires_at: DateTime::from_system_time(ceremony.expires_at),
        };
        self.ceremonies.insert_one(document).await?;
        Ok(())
    }

    async fn consume(
        &self,
        challenge: &str,
        kind: CeremonyKind,
        now: SystemTime,
    ) -> Result<Option<Ceremony>, StoreError> {
        let kind = kind.as_str();
        let now = DateTime::from_system_time(now);
        let found = self
            .ceremonies
            .find_one_and_delete(
                doc! { "_id": challenge, "kind": kind, "expires_at": { "$gt": now } },
            )
            .await?;
        Ok(found.and_then(|document| {
            let account = match document.account {
                Some(id) => Some(AccountId::parse(&id)?),
                None => None,
            };
            Some(Ceremony {
                kind: document.kind,
                account,
                mfa_token_hash: document.mfa_token_hash,
                token_version: document
                    .token_version
                    .and_then(|version| u64::try_from(version).ok()),
                state: document.state.bytes,
                expires_at: document.expires_at.to_system_time(),
            })
        }))
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .ceremonies
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }
}
