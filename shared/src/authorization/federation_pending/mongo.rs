//! The MongoDB implementation of [`super::PendingStore`]: one document per record, removed
//! by a TTL index once expired (and never returned after `expires_at` before that).

use super::*;
use mongodb::bson::{DateTime, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct PendingDocument {
    #[serde(rename = "_id")]
    key: String,
    #[serde(default)]
    record: Option<String>,
    expires_at: DateTime,
}

/// Records in MongoDB.
#[derive(Debug, Clone)]
pub struct MongoPendingStore {
    records: Collection<PendingDocument>,
}

impl MongoPendingStore {
    /// The store on `database`'s `federation_pending` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            records: database.collection(PENDING_COLLECTION),
        }
    }

    /// The TTL index that removes expired records.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.records
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "expires_at": 1 })
                    .options(
                        IndexOptions::builder()
                            .expire_after(std::time::Duration::ZERO)
                            .build(),
                    )
                    .build(),
            )
            .await?;
        Ok(())
    }
}

impl PendingStore for MongoPendingStore {
    async fn put(&self, key: &str, record: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.records
            .insert_one(PendingDocument {
                key: key.to_owned(),
                record: Some(record.to_owned()),
                expires_at: DateTime::from_system_time(expires_at),
            })
            .await?;
        Ok(())
    }

    async fn take(&self, key: &str, now: SystemTime) -> Result<Option<String>, StoreError> {
        let taken = self
            .records
            .find_one_and_delete(doc! {
                "_id": key,
                "record": { "$type": "string" },
                "expires_at": { "$gt": DateTime::from_system_time(now) },
            })
            .await?;
        Ok(taken.and_then(|document| document.record))
    }

    async fn use_once(
        &self,
        key: &str,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        // A mark that expired but is not yet removed by the TTL index is replaced in the same
        // write; a live one makes the upsert collide on `_id`.
        let result = self
            .records
            .update_one(
                doc! { "_id": key, "expires_at": { "$lte": DateTime::from_system_time(now) } },
                doc! { "$set": { "expires_at": DateTime::from_system_time(expires_at), "record": null } },
            )
            .upsert(true)
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if crate::platform::database::is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}
