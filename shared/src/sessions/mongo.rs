//! The MongoDB implementation of [`super::SessionStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use mongodb::bson::{DateTime, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

#[derive(Debug, Serialize, Deserialize)]
struct SessionDocument {
    #[serde(rename = "_id")]
    family: String,
    account: String,
    token_version: i64,
    /// The hash of the one refresh token that works now.
    current: String,
    /// When the current token stops working unless rotated.
    current_expires_at: DateTime,
    /// The hashes of the last [`RETIRED_KEPT`] tokens rotated away, for reuse detection.
    #[serde(default)]
    retired: Vec<String>,
    revoked: bool,
    authenticated_at: DateTime,
    #[serde(default)]
    amr: Vec<String>,
    last_used_at: DateTime,
    expires_at: DateTime,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    /// The relying party of a session started with an authorization code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    relying_party: Option<String>,
    /// The scopes granted to that relying party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    granted_scopes: Option<Vec<String>>,
}

/// Retired token hashes a session keeps. A replay of one of them revokes the session; a
/// token retired longer ago is refused without ending the session (its thief gets nothing,
/// and the client that rotated it away has long moved on).
pub const RETIRED_KEPT: i32 = 16;

impl SessionDocument {
    fn session(&self) -> Option<Session> {
        Some(Session {
            family: self.family.clone(),
            account: AccountId::parse(&self.account)?,
            token_version: u64::try_from(self.token_version).unwrap_or(0),
            authenticated_at: self.authenticated_at.to_system_time(),
            amr: self.amr.clone(),
            expires_at: self.expires_at.to_system_time(),
            client: RequestSource {
                ip: self.ip.clone(),
                user_agent: self.user_agent.clone(),
            },
            relying_party: match &self.relying_party {
                Some(client) => Some(RelyingPartyGrant {
                    client: crate::access::client_id::RelyingPartyId::parse(client)?,
                    scopes: self.granted_scopes.iter().flatten().cloned().collect(),
                }),
                None => None,
            },
        })
    }
}

/// Sessions in MongoDB, expired by a TTL index on `expires_at`. A session document holds its
/// current refresh-token hash and the recently retired ones, so a rotation, a replay's
/// revocation and a revocation are each one conditional update of that document.
#[derive(Debug, Clone)]
pub struct MongoSessionStore {
    sessions: Collection<SessionDocument>,
}

impl MongoSessionStore {
    /// The store on `database`'s `sessions` collection. Call
    /// [`MongoSessionStore::ensure_indexes`] once per deployment (`setup-database`).
    pub fn new(database: &Database) -> Self {
        Self {
            sessions: database.collection(SESSIONS_COLLECTION),
        }
    }

    /// Creates the TTL index on `expires_at` and the indexes that find a session by a token
    /// hash (current or retired) and by account.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let ttl = crate::platform::database::expiry_index();
        let current = IndexModel::builder()
            .keys(doc! { "current": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        let retired = IndexModel::builder().keys(doc! { "retired": 1 }).build();
        let account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.sessions
            .create_indexes([ttl, current, retired, account])
            .await?;
        Ok(())
    }
}

impl SessionStore for MongoSessionStore {
    async fn start(
        &self,
        session: &Session,
        first_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<(), StoreError> {
        let document = SessionDocument {
            family: session.family.clone(),
            account: session.account.as_str().to_owned(),
            token_version: i64::try_from(session.token_version).unwrap_or(i64::MAX),
            current: first_hash.to_owned(),
            current_expires_at: DateTime::from_system_time(session.token_expiry(now, idle)),
            retired: Vec::new(),
            revoked: false,
            authenticated_at: DateTime::from_system_time(session.authenticated_at),
            amr: session.amr.clone(),
            last_used_at: DateTime::from_system_time(now),
            expires_at: DateTime::from_system_time(session.expires_at),
            ip: session.client.ip.clone(),
            user_agent: session.client.user_agent.clone(),
            relying_party: session
                .relying_party
                .as_ref()
                .map(|grant| grant.client.as_str().to_owned()),
            granted_scopes: session
                .relying_party
                .as_ref()
                .map(|grant| grant.scopes.iter().map(str::to_owned).collect()),
        };
        self.sessions.insert_one(document).await?;
        Ok(())
    }

    async fn find_login(
        &self,
        key: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<Option<Session>, StoreError> {
        let at = DateTime::from_system_time(now);
        let idle_end = DateTime::from_system_time(now + idle);
        let found = self
            .sessions
            .find_one_and_update(
                doc! {
                    "current": key,
                    "revoked": false,
                    "current_expires_at": { "$gt": at },
                    "expires_at": { "$gt": at },
                },
                vec![doc! { "$set": {
                    "last_used_at": at,
                    "current_expires_at": { "$min": [idle_end, "$expires_at"] },
                } }],
            )
            .return_document(ReturnDocument::After)
            .await?;
        Ok(found.as_ref().and_then(SessionDocument::session))
    }

    async fn rotate(
        &self,
        hash: &str,
        successor_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<Rotation, StoreError> {
        if hash.starts_with(LOGIN_KEY_PREFIX) {
            return Ok(Rotation::Invalid);
        }
        let at = DateTime::from_system_time(now);
        let successor_expires_at = DateTime::from_system_time(now + idle);
        // The successor's idle expiry is capped at the session's end by `$min` after the set.
        let rotated = self
            .sessions
            .find_one_and_update(
                doc! {
                    "current": hash,
                    "revoked": false,
                    "current_expires_at": { "$gt": at },
                    "expires_at": { "$gt": at },
                },
                vec![doc! { "$set": {
                    "current": successor_hash,
                    "last_used_at": at,
                    "retired": { "$slice": [
                        { "$concatArrays": [{ "$ifNull": ["$retired", []] }, [hash]] },
                        -RETIRED_KEPT,
                    ] },
                    "current_expires_at": { "$min": [successor_expires_at, "$expires_at"] },
                } }],
            )
            .return_document(ReturnDocument::After)
            .await?;
        if let Some(session) = rotated.as_ref().and_then(SessionDocument::session) {
            return Ok(Rotation::Rotated(session));
        }
        // Not current: a replay if a live session retired it, and then the session ends here.
        let replayed = self
            .sessions
            .find_one_and_update(
                doc! { "retired": hash, "revoked": false, "expires_at": { "$gt": at } },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(
            match replayed.and_then(|session| Some((AccountId::parse(&session.account)?, session)))
            {
                Some((account, session)) => Rotation::Reused {
                    family: session.family,
                    account,
                },
                None => Rotation::Invalid,
            },
        )
    }

    async fn family_of(&self, hash: &str) -> Result<Option<(String, AccountId)>, StoreError> {
        let found = self
            .sessions
            .find_one(doc! { "$or": [{ "current": hash }, { "retired": hash }] })
            .await?;
        Ok(
            found
                .and_then(|document| Some((document.family, AccountId::parse(&document.account)?))),
        )
    }

    async fn revoke_family(&self, family: &str) -> Result<bool, StoreError> {
        let result = self
            .sessions
            .update_one(
                doc! { "_id": family, "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn revoke_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .sessions
            .update_many(
                doc! { "account": account.as_str(), "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(result.modified_count)
    }

    async fn revoke_client(
        &self,
        account: &AccountId,
        client: &crate::access::client_id::RelyingPartyId,
    ) -> Result<u64, StoreError> {
        let result = self
            .sessions
            .update_many(
                doc! { "account": account.as_str(), "relying_party": client.as_str(), "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(result.modified_count)
    }

    async fn active_sessions(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> Result<Vec<ActiveSession>, StoreError> {
        use futures_util::TryStreamExt as _;
        let at = DateTime::from_system_time(now);
        let documents: Vec<SessionDocument> = self
            .sessions
            .find(doc! {
                "account": account.as_str(),
                "revoked": false,
                "current_expires_at": { "$gt": at },
                "expires_at": { "$gt": at },
            })
            .sort(doc! { "last_used_at": -1 })
            .limit(MAX_LISTED_SESSIONS)
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .iter()
            .filter_map(|document| {
                Some(ActiveSession {
                    session: document.session()?,
                    last_used_at: document.last_used_at.to_system_time(),
                })
            })
            .collect())
    }

    async fn sessions_of(&self, account: &AccountId) -> Result<Vec<StoredSession>, StoreError> {
        use futures_util::TryStreamExt as _;
        let documents: Vec<SessionDocument> = self
            .sessions
            .find(doc! { "account": account.as_str() })
            .sort(doc! { "authenticated_at": -1 })
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .iter()
            .filter_map(|document| {
                Some(StoredSession {
                    session: document.session()?,
                    last_used_at: document.last_used_at.to_system_time(),
                    revoked: document.revoked,
                })
            })
            .collect())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .sessions
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }

    async fn end_session(&self, account: &AccountId, family: &str) -> Result<bool, StoreError> {
        let result = self
            .sessions
            .update_one(
                doc! { "_id": family, "account": account.as_str(), "revoked": false },
                doc! { "$set": { "revoked": true } },
            )
            .await?;
        Ok(result.modified_count == 1)
    }
}
