//! The MongoDB implementation of [`super::SecondFactorStore`].

use super::*;
use crate::factors::secret_box::Sealed;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Serialize, Deserialize)]
struct SecondFactorDocument {
    #[serde(rename = "_id")]
    account: String,
    key_id: String,
    nonce: Binary,
    ciphertext: Binary,
    confirmed: bool,
    #[serde(default)]
    last_step: Option<i64>,
    #[serde(default)]
    recovery_codes: Vec<String>,
    created_at: DateTime,
}

impl From<SecondFactorDocument> for SecondFactor {
    fn from(document: SecondFactorDocument) -> Self {
        Self {
            secret: Sealed {
                key_id: document.key_id,
                nonce: document.nonce.bytes,
                ciphertext: document.ciphertext.bytes,
            },
            confirmed: document.confirmed,
            last_step: document.last_step.and_then(|step| u64::try_from(step).ok()),
            recovery_codes: document.recovery_codes,
        }
    }
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

fn step_value(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

/// Second factors in MongoDB, keyed by account id.
#[derive(Debug, Clone)]
pub struct MongoSecondFactorStore {
    factors: Collection<SecondFactorDocument>,
}

impl MongoSecondFactorStore {
    /// The store on `database`'s `second_factors` collection (keyed by `_id`: no index to
    /// create).
    pub fn new(database: &Database) -> Self {
        Self {
            factors: database.collection(SECOND_FACTORS_COLLECTION),
        }
    }
}

impl SecondFactorStore for MongoSecondFactorStore {
    async fn begin_enrolment(
        &self,
        account: &AccountId,
        secret: &Sealed,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let document = SecondFactorDocument {
            account: account.as_str().to_owned(),
            key_id: secret.key_id.clone(),
            nonce: binary(&secret.nonce),
            ciphertext: binary(&secret.ciphertext),
            confirmed: false,
            last_step: None,
            recovery_codes: Vec::new(),
            created_at: DateTime::from_system_time(now),
        };
        let filter = doc! { "_id": account.as_str(), "confirmed": false };
        match self
            .factors
            .replace_one(filter, &document)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(true),
            // A confirmed factor holds the `_id`: the upsert's insert collides with it.
            Err(error) if crate::platform::database::is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, account: &AccountId) -> Result<Option<SecondFactor>, StoreError> {
        let found = self
            .factors
            .find_one(doc! { "_id": account.as_str() })
            .await?;
        Ok(found.map(SecondFactor::from))
    }

    async fn confirm(
        &self,
        account: &AccountId,
        pending: &Sealed,
        step: u64,
        recovery_codes: &[String],
    ) -> Result<bool, StoreError> {
        let result = self
            .factors
            .update_one(
                doc! {
                    "_id": account.as_str(),
                    "confirmed": false,
                    "key_id": &pending.key_id,
                    "nonce": binary(&pending.nonce),
                },
                doc! { "$set": {
                    "confirmed": true,
                    "last_step": step_value(step),
                    "recovery_codes": recovery_codes,
                } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn accept_step(&self, account: &AccountId, step: u64) -> Result<bool, StoreError> {
        let step = step_value(step);
        let result = self
            .factors
            .update_one(
                doc! {
                    "_id": account.as_str(),
                    "confirmed": true,
                    "$or": [{ "last_step": null }, { "last_step": { "$lt": step } }],
                },
                doc! { "$set": { "last_step": step } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn spend_recovery_code(
        &self,
        account: &AccountId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .factors
            .update_one(
                doc! { "_id": account.as_str(), "confirmed": true, "recovery_codes": hash },
                doc! { "$pull": { "recovery_codes": hash } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn reseal(
        &self,
        account: &AccountId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let result = self
            .factors
            .update_one(
                doc! {
                    "_id": account.as_str(),
                    "key_id": &old.key_id,
                    "nonce": binary(&old.nonce),
                },
                doc! { "$set": {
                    "key_id": &new.key_id,
                    "nonce": binary(&new.nonce),
                    "ciphertext": binary(&new.ciphertext),
                } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn replace_recovery_codes(
        &self,
        account: &AccountId,
        hashes: &[String],
    ) -> Result<bool, StoreError> {
        let result = self
            .factors
            .update_one(
                doc! { "_id": account.as_str(), "confirmed": true },
                doc! { "$set": { "recovery_codes": hashes } },
            )
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn remove(&self, account: &AccountId) -> Result<bool, StoreError> {
        let result = self
            .factors
            .delete_one(doc! { "_id": account.as_str() })
            .await?;
        Ok(result.deleted_count == 1)
    }
}
