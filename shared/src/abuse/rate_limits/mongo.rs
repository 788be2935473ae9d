//! The MongoDB implementation of [`super::RateLimitStore`].

use super::*;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Serialize, Deserialize)]
struct CounterDocument {
    #[serde(rename = "_id")]
    id: String,
    count: i64,
    expires_at: DateTime,
}

/// The counters in MongoDB.
#[derive(Debug, Clone)]
pub struct MongoRateLimitStore {
    counters: Collection<CounterDocument>,
}

impl MongoRateLimitStore {
    /// The store on `database`'s `rate_limits` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            counters: database.collection(RATE_LIMITS_COLLECTION),
        }
    }

    /// The TTL index that removes past windows.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.counters
            .create_index(crate::platform::database::expiry_index())
            .await?;
        Ok(())
    }

    /// Adds one to an existing counter; `None` when there is none yet.
    async fn increment_existing(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let updated = self
            .counters
            .find_one_and_update(doc! { "_id": id }, doc! { "$inc": { "count": 1_i64 } })
            .return_document(ReturnDocument::After)
            .await?;
        Ok(updated.map(|counter| u32::try_from(counter.count).unwrap_or(u32::MAX)))
    }
}

impl RateLimitStore for MongoRateLimitStore {
    /// An increment of an existing counter, else the insert of a new one at 1; an insert
    /// that loses to a concurrent one (duplicate `_id`) increments the winner's. No upsert:
    /// each step either happens once or not at all, so no hit is counted twice.
    async fn increment(&self, id: &str, expires_at: SystemTime) -> Result<u32, StoreError> {
        if let Some(count) = self.increment_existing(id).await? {
            return Ok(count);
        }
        let first = CounterDocument {
            id: id.to_owned(),
            count: 1,
            expires_at: DateTime::from_system_time(expires_at),
        };
        match self.counters.insert_one(first).await {
            Ok(_) => Ok(1),
            Err(error) if is_duplicate_key(&error) => {
                Ok(self.increment_existing(id).await?.unwrap_or(u32::MAX))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn refund(&self, id: &str) -> Result<(), StoreError> {
        self.counters
            .update_one(
                doc! { "_id": id, "count": { "$gt": 0_i64 } },
                doc! { "$inc": { "count": -1_i64 } },
            )
            .await?;
        Ok(())
    }
}
