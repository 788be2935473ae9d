//! The MongoDB implementation of [`super::EmailCodeStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::identity::email_address::EmailAddress;
use crate::platform::database::StoreError;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Serialize, Deserialize)]
struct CodeDocument {
    #[serde(rename = "_id")]
    hash: String,
    account: String,
    purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    expires_at: DateTime,
    /// Missing on codes stored before codes were bound to a version: those are refused.
    #[serde(default)]
    token_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    issued_by: Option<String>,
}

fn live(hash: &str, purpose: Purpose, now: SystemTime) -> mongodb::bson::Document {
    doc! {
        "_id": hash,
        "purpose": purpose.as_str(),
        "expires_at": { "$gt": DateTime::from_system_time(now) },
    }
}

impl CodeDocument {
    fn into_code(self, purpose: Purpose) -> Option<EmailCode> {
        Some(EmailCode {
            account: AccountId::parse(&self.account)?,
            purpose,
            address: match self.address {
                Some(address) => Some(EmailAddress::parse(&address).ok()?),
                None => None,
            },
            expires_at: self.expires_at.to_system_time(),
            token_version: u64::try_from(self.token_version?).ok()?,
            issued_by: match self.issued_by {
                Some(issuer) => Some(AccountId::parse(&issuer)?),
                None => None,
            },
        })
    }
}

/// The codes in MongoDB, keyed by hash.
#[derive(Debug, Clone)]
pub struct MongoEmailCodeStore {
    codes: Collection<CodeDocument>,
}

impl MongoEmailCodeStore {
    /// The store on `database`'s `email_codes` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            codes: database.collection(EMAIL_CODES_COLLECTION),
        }
    }

    /// The TTL index that removes expired codes, and the one an account's codes are found by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.codes
            .create_indexes([crate::platform::database::expiry_index(), by_account])
            .await?;
        Ok(())
    }
}

impl EmailCodeStore for MongoEmailCodeStore {
    async fn create(&self, hash: &str, code: &EmailCode) -> Result<(), StoreError> {
        let document = CodeDocument {
            hash: hash.to_owned(),
            account: code.account.as_str().to_owned(),
            purpose: code.purpose.as_str().to_owned(),
            address: code
                .address
                .as_ref()
                .map(|address| address.as_str().to_owned()),
            expires_at: DateTime::from_system_time(code.expires_at),
            token_version: Some(i64::try_from(code.token_version).unwrap_or(i64::MAX)),
            issued_by: code
                .issued_by
                .as_ref()
                .map(|issuer| issuer.as_str().to_owned()),
        };
        self.codes.insert_one(document).await?;
        Ok(())
    }

    async fn find(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let found = self.codes.find_one(live(hash, purpose, now)).await?;
        Ok(found.and_then(|document| document.into_code(purpose)))
    }

    async fn redeem(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let found = self
            .codes
            .find_one_and_delete(live(hash, purpose, now))
            .await?;
        Ok(found.and_then(|document| document.into_code(purpose)))
    }

    async fn delete_account(
        &self,
        account: &AccountId,
        purpose: Option<Purpose>,
    ) -> Result<u64, StoreError> {
        let mut filter = doc! { "account": account.as_str() };
        if let Some(purpose) = purpose {
            filter.insert("purpose", purpose.as_str());
        }
        Ok(self.codes.delete_many(filter).await?.deleted_count)
    }
}
