//! The MongoDB implementation of [`super::AuthorizationCodeStore`].

use super::*;
use mongodb::bson::{DateTime, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct CodeDocument {
    #[serde(rename = "_id")]
    hash: String,
    client: String,
    redirect_uri: String,
    code_challenge: String,
    #[serde(default)]
    nonce: Option<String>,
    scopes: Vec<String>,
    account: String,
    token_version: i64,
    login_session: String,
    authenticated_at: DateTime,
    amr: Vec<String>,
    expires_at: DateTime,
    /// The session of the winning exchange, once redeemed.
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    replayed: bool,
}

impl CodeDocument {
    fn grant(self) -> Option<AuthorizationGrant> {
        Some(AuthorizationGrant {
            client: RelyingPartyId::parse(&self.client)?,
            redirect_uri: self.redirect_uri,
            code_challenge: self.code_challenge,
            nonce: self.nonce,
            scopes: self.scopes.into_iter().collect(),
            account: AccountId::parse(&self.account)?,
            token_version: u64::try_from(self.token_version).ok()?,
            login_session: self.login_session,
            authenticated_at: self.authenticated_at.to_system_time(),
            amr: self.amr,
            expires_at: self.expires_at.to_system_time(),
        })
    }
}

/// Authorization codes in MongoDB, keyed by their hash.
#[derive(Debug, Clone)]
pub struct MongoAuthorizationCodeStore {
    codes: Collection<CodeDocument>,
}

impl MongoAuthorizationCodeStore {
    /// The store on `database`'s `authorization_codes` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            codes: database.collection(AUTHORIZATION_CODES_COLLECTION),
        }
    }

    /// The TTL index that removes expired codes (a spent code stays until then, so a replay
    /// is recognised), and the one an account's codes are deleted by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.codes
            .create_indexes([crate::platform::database::expiry_index(), by_account])
            .await?;
        Ok(())
    }
}

impl AuthorizationCodeStore for MongoAuthorizationCodeStore {
    async fn issue(&self, hash: &str, grant: &AuthorizationGrant) -> Result<(), StoreError> {
        let document = CodeDocument {
            hash: hash.to_owned(),
            client: grant.client.as_str().to_owned(),
            redirect_uri: grant.redirect_uri.clone(),
            code_challenge: grant.code_challenge.clone(),
            nonce: grant.nonce.clone(),
            scopes: grant.scopes.iter().map(str::to_owned).collect(),
            account: grant.account.as_str().to_owned(),
            token_version: i64::try_from(grant.token_version).unwrap_or(i64::MAX),
            login_session: grant.login_session.clone(),
            authenticated_at: DateTime::from_system_time(grant.authenticated_at),
            amr: grant.amr.clone(),
            expires_at: DateTime::from_system_time(grant.expires_at),
            session: None,
            replayed: false,
        };
        self.codes.insert_one(document).await?;
        Ok(())
    }

    async fn redeem(
        &self,
        hash: &str,
        session: &str,
        now: SystemTime,
    ) -> Result<Redemption, StoreError> {
        let now = DateTime::from_system_time(now);
        let won = self
            .codes
            .find_one_and_update(
                doc! { "_id": hash, "session": null, "expires_at": { "$gt": now } },
                doc! { "$set": { "session": session } },
            )
            .await?;
        if let Some(document) = won {
            return Ok(document
                .grant()
                .map_or(Redemption::Invalid, Redemption::Redeemed));
        }
        let replayed = self
            .codes
            .find_one_and_update(
                doc! { "_id": hash, "session": { "$type": "string" } },
                doc! { "$set": { "replayed": true } },
            )
            .return_document(ReturnDocument::After)
            .await?;
        Ok(match replayed {
            Some(document) => match (document.session, AccountId::parse(&document.account)) {
                (Some(session), Some(account)) => Redemption::Replayed { session, account },
                _ => Redemption::Invalid,
            },
            None => Redemption::Invalid,
        })
    }

    async fn was_replayed(&self, hash: &str) -> Result<bool, StoreError> {
        let found = self
            .codes
            .find_one(doc! { "_id": hash, "replayed": true })
            .await?;
        Ok(found.is_some())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let deleted = self
            .codes
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(deleted.deleted_count)
    }

    async fn delete_client(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<u64, StoreError> {
        let deleted = self
            .codes
            .delete_many(doc! { "account": account.as_str(), "client": client.as_str() })
            .await?;
        Ok(deleted.deleted_count)
    }
}
