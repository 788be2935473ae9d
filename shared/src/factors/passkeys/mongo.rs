//! The MongoDB implementation of [`super::PasskeyStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use mongodb::options::FindOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct PasskeyDocument {
    #[serde(rename = "_id")]
    id: String,
    account: String,
    name: String,
    transports: Vec<String>,
    public_key: Binary,
    state: Binary,
    sign_count: i64,
    backup_eligible: bool,
    created_at: DateTime,
    #[serde(default)]
    last_used_at: Option<DateTime>,
    #[serde(default)]
    generation: i64,
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

impl PasskeyDocument {
    fn from_passkey(passkey: &Passkey) -> Self {
        Self {
            id: passkey.id.clone(),
            account: passkey.account.as_str().to_owned(),
            name: passkey.name.clone(),
            transports: passkey.transports.clone(),
            public_key: binary(&passkey.public_key),
            state: binary(&passkey.state),
            sign_count: i64::from(passkey.sign_count),
            backup_eligible: passkey.backup_eligible,
            created_at: DateTime::from_system_time(passkey.created_at),
            last_used_at: passkey.last_used_at.map(DateTime::from_system_time),
            generation: i64::try_from(passkey.generation).unwrap_or(i64::MAX),
        }
    }

    fn into_passkey(self) -> Option<Passkey> {
        Some(Passkey {
            id: self.id,
            account: AccountId::parse(&self.account)?,
            name: self.name,
            transports: self.transports,
            public_key: self.public_key.bytes,
            state: self.state.bytes,
            sign_count: u32::try_from(self.sign_count).ok()?,
            backup_eligible: self.backup_eligible,
            created_at: self.created_at.to_system_time(),
            last_used_at: self.last_used_at.map(DateTime::to_system_time),
            generation: u64::try_from(self.generation).ok()?,
        })
    }
}

/// Passkeys in MongoDB, keyed by credential id (unique across accounts by construction).
#[derive(Debug, Clone)]
pub struct MongoPasskeyStore {
    passkeys: Collection<PasskeyDocument>,
}

impl MongoPasskeyStore {
    /// The store on `database`'s `passkeys` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            passkeys: database.collection(PASSKEYS_COLLECTION),
        }
    }

    /// The index an account's passkeys are listed by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder()
            .keys(doc! { "account": 1, "created_at": 1 })
            .build();
        self.passkeys.create_index(by_account).await?;
        Ok(())
    }
}

impl PasskeyStore for MongoPasskeyStore {
    async fn add(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        match self
            .passkeys
            .insert_one(PasskeyDocument::from_passkey(passkey))
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, id: &str) -> Result<Option<Passkey>, StoreError> {
        let found = self.passkeys.find_one(doc! { "_id": id }).await?;
        Ok(found.and_then(PasskeyDocument::into_passkey))
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Passkey>, StoreError> {
        use futures_util::TryStreamExt as _;
        let oldest_first = FindOptions::builder()
            .sort(doc! { "created_at": 1, "_id": 1 })
            .build();
        let documents: Vec<PasskeyDocument> = self
            .passkeys
            .find(doc! { "account": account.as_str() })
            .with_options(oldest_first)
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .into_iter()
            .filter_map(PasskeyDocument::into_passkey)
            .collect())
    }

    async fn record_use(&self, id: &str, used: &PasskeyUse<'_>) -> Result<bool, StoreError> {
        let result = self
            .passkeys
            .update_one(
                doc! { "_id": id, "state": binary(used.previous_state) },
                doc! { "$set": {
                    "state": binary(used.state),
                    "sign_count": i64::from(used.sign_count),
                    "last_used_at": DateTime::from_system_time(used.at),
                } },
            )
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn remove(&self, account: &AccountId, id: &str) -> Result<bool, StoreError> {
        let result = self
            .passkeys
            .delete_one(doc! { "_id": id, "account": account.as_str() })
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .passkeys
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }
}
