//! The MongoDB implementation of [`super::ConsentStore`]: one document per account and
//! application, keyed `<account>:<client>`.

use super::*;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct ConsentDocument {
    #[serde(rename = "_id")]
    key: String,
    account: String,
    client: String,
    scopes: Vec<String>,
    granted_at: DateTime,
}

impl ConsentDocument {
    fn consent(self) -> Option<Consent> {
        Some(Consent {
            account: AccountId::parse(&self.account)?,
            client: RelyingPartyId::parse(&self.client)?,
            scopes: self.scopes.into_iter().collect(),
            granted_at: self.granted_at.to_system_time(),
        })
    }
}

fn key(account: &AccountId, client: &RelyingPartyId) -> String {
    format!("{}:{}", account.as_str(), client.as_str())
}

/// Consents in MongoDB.
#[derive(Debug, Clone)]
pub struct MongoConsentStore {
    consents: Collection<ConsentDocument>,
}

impl MongoConsentStore {
    /// The store on `database`'s `consents` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            consents: database.collection(CONSENTS_COLLECTION),
        }
    }

    /// The index that lists and deletes an account's consents.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.consents
            .create_index(IndexModel::builder().keys(doc! { "account": 1 }).build())
            .await?;
        Ok(())
    }
}

impl ConsentStore for MongoConsentStore {
    async fn grant(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
        scopes: &Scopes,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let scopes: Vec<&str> = scopes.iter().collect();
        self.consents
            .update_one(
                doc! { "_id": key(account, client) },
                doc! {
                    "$set": {
                        "account": account.as_str(),
                        "client": client.as_str(),
                        "granted_at": DateTime::from_system_time(now),
                    },
                    "$addToSet": { "scopes": { "$each": scopes } },
                },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    async fn find(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<Option<Consent>, StoreError> {
        let found = self
            .consents
            .find_one(doc! { "_id": key(account, client) })
            .await?;
        Ok(found.and_then(ConsentDocument::consent))
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Consent>, StoreError> {
        let cursor = self
            .consents
            .find(doc! { "account": account.as_str() })
            .sort(doc! { "client": 1 })
            .await?;
        let documents: Vec<ConsentDocument> =
            futures_util::TryStreamExt::try_collect(cursor).await?;
        Ok(documents
            .into_iter()
            .filter_map(ConsentDocument::consent)
            .collect())
    }

    async fn revoke(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .consents
            .delete_one(doc! { "_id": key(account, client) })
            .await?;
        Ok(deleted.deleted_count == 1)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<(), StoreError> {
        self.consents
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(())
    }
}
