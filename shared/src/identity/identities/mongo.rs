//! The MongoDB implementation of [`super::IdentityStore`]: one document per identity, keyed by
//! its issuer and subject, so a second link of the same identity fails on the unique `_id`.

use super::*;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct IdentityDocument {
    #[serde(rename = "_id")]
    key: String,
    issuer: String,
    subject: String,
    account: String,
    #[serde(default)]
    email: Option<String>,
    email_verified: bool,
    linked_at: DateTime,
    last_used_at: DateTime,
}

impl IdentityDocument {
    fn of(identity: &Identity) -> Self {
        Self {
            key: key(&identity.issuer, &identity.subject),
            issuer: identity.issuer.clone(),
            subject: identity.subject.clone(),
            account: identity.account.as_str().to_owned(),
            email: identity
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            email_verified: identity.email_verified,
            linked_at: DateTime::from_system_time(identity.linked_at),
            last_used_at: DateTime::from_system_time(identity.last_used_at),
        }
    }

    fn identity(self) -> Option<Identity> {
        Some(Identity {
            issuer: self.issuer,
            subject: self.subject,
            account: AccountId::parse(&self.account)?,
            email: self
                .email
                .and_then(|email| EmailAddress::parse(&email).ok()),
            email_verified: self.email_verified,
            linked_at: self.linked_at.to_system_time(),
            last_used_at: self.last_used_at.to_system_time(),
        })
    }
}

/// Identities in MongoDB.
#[derive(Debug, Clone)]
pub struct MongoIdentityStore {
    identities: Collection<IdentityDocument>,
}

impl MongoIdentityStore {
    /// The store on `database`'s `identities` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            identities: database.collection(IDENTITIES_COLLECTION),
        }
    }

    /// The index that lists and unlinks an account's identities.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.identities
            .create_index(IndexModel::builder().keys(doc! { "account": 1 }).build())
            .await?;
        Ok(())
    }
}

impl IdentityStore for MongoIdentityStore {
    async fn link(&self, identity: &Identity) -> Result<Link, StoreError> {
        match self
            .identities
            .insert_one(IdentityDocument::of(identity))
            .await
        {
            Ok(_) => Ok(Link::Linked),
            Err(error) if crate::platform::database::is_duplicate_key(&error) => {
                let holder = self
                    .find(&identity.issuer, &identity.subject)
                    .await?
                    .map(|held| held.account);
                // Unlinked again in between: the caller may try once more.
                Ok(holder.map_or(Link::Linked, Link::AlreadyLinked))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, issuer: &str, subject: &str) -> Result<Option<Identity>, StoreError> {
        let found = self
            .identities
            .find_one(doc! { "_id": key(issuer, subject) })
            .await?;
        Ok(found.and_then(IdentityDocument::identity))
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Identity>, StoreError> {
        let cursor = self
            .identities
            .find(doc! { "account": account.as_str() })
            .sort(doc! { "linked_at": 1, "_id": 1 })
            .await?;
        let documents: Vec<IdentityDocument> =
            futures_util::TryStreamExt::try_collect(cursor).await?;
        Ok(documents
            .into_iter()
            .filter_map(IdentityDocument::identity)
            .collect())
    }

    async fn touch(&self, issuer: &str, subject: &str, now: SystemTime) -> Result<(), StoreError> {
        self.identities
            .update_one(
                doc! { "_id": key(issuer, subject) },
                doc! { "$set": { "last_used_at": DateTime::from_system_time(now) } },
            )
            .await?;
        Ok(())
    }

    async fn unlink(
        &self,
        account: &AccountId,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let deleted = self
            .identities
            .delete_one(doc! { "_id": key(issuer, subject), "account": account.as_str() })
            .await?;
        Ok(deleted.deleted_count == 1)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<(), StoreError> {
        self.identities
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(())
    }
}
