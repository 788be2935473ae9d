//! WebAuthn ceremonies in progress: the server's half of each challenge it sent, kept until
//! the browser's answer comes back or a few minutes pass (a TTL index removes it). A
//! ceremony is stored under its challenge and consumed by one conditional delete, so of
//! concurrent answers to one challenge at most one is verified, and none after it expired.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds ceremonies in progress.
pub const PASSKEY_CEREMONIES_COLLECTION: &str = "passkey_ceremonies";

/// How long a challenge can be answered (the `timeout` the options announce).
pub const CEREMONY_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// What a ceremony is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    /// Registering a passkey to a signed-in account.
    Registration,
    /// Signing in with a passkey alone (discoverable credentials).
    SignIn,
    /// Completing a password login answered with `mfa_required`.
    SecondFactor,
}

impl CeremonyKind {
    /// The name it is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::SignIn => "sign_in",
            Self::SecondFactor => "second_factor",
        }
    }
}

/// A challenge sent and not yet answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// What it is for.
    pub kind: CeremonyKind,
    /// The account it is bound to (registration and second factor).
    pub account: Option<AccountId>,
    /// For a second factor: the hash of the `mfa_token` whose login it completes.
    pub mfa_token_hash: Option<String>,
    /// For a registration: the account's token version when it began; the passkey is
    /// stored only while the account is still at it.
    pub token_version: Option<u64>,
    /// The verification library's server state, encoded.
    pub state: Vec<u8>,
    /// After this the answer is refused.
    pub expires_at: SystemTime,
}

/// Where ceremonies in progress live.
pub trait PasskeyCeremonyStore: Send + Sync {
    /// Stores `ceremony` under `challenge`.
    fn create(
        &self,
        challenge: &str,
        ceremony: &Ceremony,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes and answers the unexpired ceremony of `kind` under `challenge`: it is answered
    /// to exactly one of concurrent calls, and never again.
    fn consume(
        &self,
        challenge: &str,
        kind: CeremonyKind,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Ceremony>, StoreError>> + Send;

    /// Deletes every ceremony bound to `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

#[derive(Debug, Serialize, Deserialize)]
struct CeremonyDocument {
    #[serde(rename = "_id")]
    challenge: String,
    kind: CeremonyKind,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    mfa_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_version: Option<i64>,
    state: Binary,
    expires_at: DateTime,
}

/// Ceremonies in MongoDB, keyed by challenge.
#[derive(Debug, Clone)]
pub struct MongoPasskeyCeremonyStore {
    ceremonies: Collection<CeremonyDocument>,
}

impl MongoPasskeyCeremonyStore {
    /// The store on `database`'s `passkey_ceremonies` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            ceremonies: database.collection(PASSKEY_CEREMONIES_COLLECTION),
        }
    }

    /// The TTL index that removes unanswered ceremonies, and the one an account's are
    /// found by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder().keys(doc! { "account": 1 }).build();
        self.ceremonies
            .create_indexes([crate::platform::database::expiry_index(), by_account])
            .await?;
        Ok(())
    }
}

impl PasskeyCeremonyStore for MongoPasskeyCeremonyStore {
    async fn create(&self, challenge: &str, ceremony: &Ceremony) -> Result<(), StoreError> {
        let document = CeremonyDocument {
            challenge: challenge.to_owned(),
            kind: ceremony.kind,
            account: ceremony.account.as_ref().map(|id| id.as_str().to_owned()),
            mfa_token_hash: ceremony.mfa_token_hash.clone(),
            token_version: ceremony
                .token_version
                .map(|version| i64::try_from(version).unwrap_or(i64::MAX)),
            state: Binary {
                subtype: BinarySubtype::Generic,
                bytes: ceremony.state.clone(),
            },
            expires_at: DateTime::from_system_time(ceremony.expires_at),
        };
        self.ceremonies.insert_one(document).await?;
        Ok(())
    }

    async fn consume(
        &self,
        challenge: &str,
        kind: CeremonyKind,
        now: SystemTime,
    ) -> Result<Option<Ceremony>, StoreError> {
        let kind = kind.as_str();
        let now = DateTime::from_system_time(now);
        let found = self
            .ceremonies
            .find_one_and_delete(
                doc! { "_id": challenge, "kind": kind, "expires_at": { "$gt": now } },
            )
            .await?;
        Ok(found.and_then(|document| {
            let account = match document.account {
                Some(id) => Some(AccountId::parse(&id)?),
                None => None,
            };
            Some(Ceremony {
                kind: document.kind,
                account,
                mfa_token_hash: document.mfa_token_hash,
                token_version: document
                    .token_version
                    .and_then(|version| u64::try_from(version).ok()),
                state: document.state.bytes,
                expires_at: document.expires_at.to_system_time(),
            })
        }))
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .ceremonies
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }
}
