//! The MongoDB implementation of [`super::ClientStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct ClientDocument {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    scopes: Vec<String>,
    secrets: Vec<SecretDocument>,
    created_at: DateTime,
    created_by: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct SecretDocument {
    id: String,
    hash: String,
    created_at: DateTime,
}

impl From<&StoredSecret> for SecretDocument {
    fn from(secret: &StoredSecret) -> Self {
        Self {
            id: secret.id.clone(),
            hash: secret.hash.clone(),
            created_at: DateTime::from_system_time(secret.created_at),
        }
    }
}

impl ClientDocument {
    fn client(self) -> Option<MachineClient> {
        Some(MachineClient {
            id: ClientId::parse(&self.id)?,
            name: self.name,
            scopes: self.scopes.into_iter().collect(),
            secrets: self
                .secrets
                .into_iter()
                .map(|secret| StoredSecret {
                    id: secret.id,
                    hash: secret.hash,
                    created_at: secret.created_at.to_system_time(),
                })
                .collect(),
            created_at: self.created_at.to_system_time(),
            created_by: AccountId::parse(&self.created_by)?,
        })
    }
}

/// Clients in MongoDB, keyed by id.
#[derive(Debug, Clone)]
pub struct MongoClientStore {
    clients: Collection<ClientDocument>,
}

impl MongoClientStore {
    /// The store on `database`'s `clients` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            clients: database.collection(CLIENTS_COLLECTION),
        }
    }
}

impl ClientStore for MongoClientStore {
    async fn create(&self, client: &MachineClient) -> Result<(), StoreError> {
        let document = ClientDocument {
            id: client.id.as_str().to_owned(),
            name: client.name.clone(),
            scopes: client.scopes.iter().map(str::to_owned).collect(),
            secrets: client.secrets.iter().map(SecretDocument::from).collect(),
            created_at: DateTime::from_system_time(client.created_at),
            created_by: client.created_by.as_str().to_owned(),
        };
        self.clients.insert_one(document).await?;
        Ok(())
    }

    async fn find(&self, id: &ClientId) -> Result<Option<MachineClient>, StoreError> {
        let found = self.clients.find_one(doc! { "_id": id.as_str() }).await?;
        Ok(found.and_then(ClientDocument::client))
    }

    async fn list(
        &self,
        after: Option<&ClientId>,
        limit: u32,
    ) -> Result<Vec<MachineClient>, StoreError> {
        let filter = match after {
            Some(after) => doc! { "_id": { "$gt": after.as_str() } },
            None => doc! {},
        };
        let cursor = self
            .clients
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?;
        let documents: Vec<ClientDocument> =
            futures_util::TryStreamExt::try_collect(cursor).await?;
        Ok(documents
            .into_iter()
            .filter_map(ClientDocument::client)
            .collect())
    }

    async fn add_secret(
        &self,
        id: &ClientId,
        secret: &StoredSecret,
    ) -> Result<SecretAddition, StoreError> {
        let secret = mongodb::bson::to_bson(&SecretDocument::from(secret))
            .map_err(mongodb::error::Error::from)?;
        let full = format!("secrets.{}", MAX_SECRETS - 1);
        let updated = self
            .clients
            .update_one(
                doc! { "_id": id.as_str(), full: { "$exists": false } },
                doc! { "$push": { "secrets": secret } },
            )
            .await?;
        if updated.matched_count == 1 {
            return Ok(SecretAddition::Added);
        }
        Ok(match self.find(id).await? {
            Some(_) => SecretAddition::Full,
            None => SecretAddition::NotFound,
        })
    }

    async fn remove_secret(
        &self,
        id: &ClientId,
        secret_id: &str,
    ) -> Result<SecretRemoval, StoreError> {
        let updated = self
            .clients
            .update_one(
                doc! { "_id": id.as_str(), "secrets.id": secret_id, "secrets.1": { "$exists": true } },
                doc! { "$pull": { "secrets": { "id": secret_id } } },
            )
            .await?;
        if updated.modified_count == 1 {
            return Ok(SecretRemoval::Removed);
        }
        let client = self.find(id).await?;
        Ok(match client {
            Some(client) if client.secrets.iter().any(|secret| secret.id == secret_id) => {
                SecretRemoval::LastSecret
            }
            _ => SecretRemoval::NotFound,
        })
    }

    async fn delete(&self, id: &ClientId) -> Result<bool, StoreError> {
        let deleted = self.clients.delete_one(doc! { "_id": id.as_str() }).await?;
        Ok(deleted.deleted_count == 1)
    }
}
