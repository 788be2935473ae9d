//! The MongoDB implementation of [`super::RelyingPartyStore`].

use super::*;
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct RelyingPartyDocument {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    confidential: bool,
    #[serde(default)]
    secrets: Vec<SecretDocument>,
    redirect_uris: Vec<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    scopes: Vec<String>,
    first_party: bool,
    id_token_algorithm: String,
    created_at: DateTime,
    created_by: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct SecretDocument {
    id: String,
    hash: String,
    created_at: DateTime,
}

impl SecretDocument {
    fn of(secret: &StoredSecret) -> Self {
        Self {
            id: secret.id.clone(),
            hash: secret.hash.clone(),
            created_at: DateTime::from_system_time(secret.created_at),
        }
    }
}

impl RelyingPartyDocument {
    fn of(party: &RelyingParty) -> Self {
        let uris = |uris: &[RedirectUri]| uris.iter().map(|uri| uri.as_str().to_owned()).collect();
        Self {
            id: party.id.as_str().to_owned(),
            name: party.name.clone(),
            confidential: party.is_confidential(),
            secrets: party.secrets().iter().map(SecretDocument::of).collect(),
            redirect_uris: uris(&party.redirect_uris),
            post_logout_redirect_uris: uris(&party.post_logout_redirect_uris),
            scopes: party.scopes.iter().map(str::to_owned).collect(),
            first_party: party.first_party,
            id_token_algorithm: party.id_token_algorithm.name().to_owned(),
            created_at: DateTime::from_system_time(party.created_at),
            created_by: party.created_by.as_str().to_owned(),
        }
    }

    fn party(self) -> Option<RelyingParty> {
        let secrets = self
            .secrets
            .into_iter()
            .map(|secret| StoredSecret {
                id: secret.id,
                hash: secret.hash,
                created_at: secret.created_at.to_system_time(),
            })
            .collect();
        let uris = |uris: Vec<String>| uris.into_iter().map(RedirectUri::from_stored).collect();
        Some(RelyingParty {
            id: RelyingPartyId::parse(&self.id)?,
            name: self.name,
            kind: if self.confidential {
                ClientKind::Confidential { secrets }
            } else {
                ClientKind::Public
            },
            redirect_uris: uris(self.redirect_uris),
            post_logout_redirect_uris: uris(self.post_logout_redirect_uris),
            scopes: self.scopes.into_iter().collect(),
            first_party: self.first_party,
            id_token_algorithm: IdTokenAlgorithm::parse(&self.id_token_algorithm)?,
            created_at: self.created_at.to_system_time(),
            created_by: AccountId::parse(&self.created_by)?,
        })
    }
}

/// Relying parties in MongoDB, keyed by id.
#[derive(Debug, Clone)]
pub struct MongoRelyingPartyStore {
    parties: Collection<RelyingPartyDocument>,
}

impl MongoRelyingPartyStore {
    /// The store on `database`'s `relying_parties` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            parties: database.collection(RELYING_PARTIES_COLLECTION),
        }
    }
}

impl RelyingPartyStore for MongoRelyingPartyStore {
    async fn create(&self, party: &RelyingParty) -> Result<(), StoreError> {
        self.parties
            .insert_one(RelyingPartyDocument::of(party))
            .await?;
        Ok(())
    }

    async fn find(&self, id: &RelyingPartyId) -> Result<Option<RelyingParty>, StoreError> {
        let found = self.parties.find_one(doc! { "_id": id.as_str() }).await?;
        Ok(found.and_then(RelyingPartyDocument::party))
    }

    async fn list(
        &self,
        after: Option<&RelyingPartyId>,
        limit: u32,
    ) -> Result<Vec<RelyingParty>, StoreError> {
        let filter = match after {
            Some(after) => doc! { "_id": { "$gt": after.as_str() } },
            None => doc! {},
        };
        let cursor = self
            .parties
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await?;
        let documents: Vec<RelyingPartyDocument> =
            futures_util::TryStreamExt::try_collect(cursor).await?;
        Ok(documents
            .into_iter()
            .filter_map(RelyingPartyDocument::party)
            .collect())
    }

    async fn add_secret(
        &self,
        id: &RelyingPartyId,
        secret: &StoredSecret,
    ) -> Result<SecretAddition, StoreError> {
        let secret = mongodb::bson::to_bson(&SecretDocument::of(secret))
            .map_err(mongodb::error::Error::from)?;
        let full = format!("secrets.{}", crate::access::clients::MAX_SECRETS - 1);
        let updated = self
            .parties
            .update_one(
                doc! { "_id": id.as_str(), "confidential": true, full: { "$exists": false } },
                doc! { "$push": { "secrets": secret } },
            )
            .await?;
        if updated.matched_count == 1 {
            return Ok(SecretAddition::Added);
        }
        Ok(match self.find(id).await? {
            Some(party) if party.is_confidential() => SecretAddition::Full,
            _ => SecretAddition::NotFound,
        })
    }

    async fn remove_secret(
        &self,
        id: &RelyingPartyId,
        secret_id: &str,
    ) -> Result<SecretRemoval, StoreError> {
        let updated = self
            .parties
            .update_one(
                doc! { "_id": id.as_str(), "secrets.id": secret_id, "secrets.1": { "$exists": true } },
                doc! { "$pull": { "secrets": { "id": secret_id } } },
            )
            .await?;
        if updated.modified_count == 1 {
            return Ok(SecretRemoval::Removed);
        }
        Ok(match self.find(id).await? {
            Some(party) if party.secrets().iter().any(|secret| secret.id == secret_id) => {
                SecretRemoval::LastSecret
            }
            _ => SecretRemoval::NotFound,
        })
    }

    async fn delete(&self, id: &RelyingPartyId) -> Result<bool, StoreError> {
        let deleted = self.parties.delete_one(doc! { "_id": id.as_str() }).await?;
        Ok(deleted.deleted_count == 1)
    }
}
