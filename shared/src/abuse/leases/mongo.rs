//! The MongoDB implementation of [`super::LeaseStore`].

use super::*;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

#[derive(Debug, Serialize, Deserialize)]
struct LeaseDocument {
    #[serde(rename = "_id")]
    name: String,
    holder: String,
    until: DateTime,
}

/// Leases in MongoDB: one document per name; taking one is an insert or a conditional
/// update of a lease that ran out, each atomic.
#[derive(Debug, Clone)]
pub struct MongoLeaseStore {
    leases: Collection<LeaseDocument>,
}

impl MongoLeaseStore {
    /// The store on `database`'s `leases` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            leases: database.collection(LEASES_COLLECTION),
        }
    }
}

impl LeaseStore for MongoLeaseStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let until = DateTime::from_system_time(now + ttl);
        let lease = LeaseDocument {
            name: name.to_owned(),
            holder: holder.to_owned(),
            until,
        };
        match self.leases.insert_one(lease).await {
            Ok(_) => return Ok(true),
            Err(error) if is_duplicate_key(&error) => {}
            Err(error) => return Err(error.into()),
        }
        let taken = self
            .leases
            .update_one(
                doc! { "_id": name, "until": { "$lte": DateTime::from_system_time(now) } },
                doc! { "$set": { "holder": holder, "until": until } },
            )
            .await?;
        Ok(taken.modified_count == 1)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.leases
            .delete_one(doc! { "_id": name, "holder": holder })
            .await?;
        Ok(())
    }
}
