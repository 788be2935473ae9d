//! Passkeys: the WebAuthn credentials registered to accounts. Each is stored under its
//! credential id with its account, the name its owner gave it, its public key and the state
//! that changes as it is used (sign counter, user verification, backup), as the
//! verification library encodes them ([`crate::factors::passkeys::webauthn`] reads and writes those bytes).
//!
//! Recording a use is one update conditional on the state read before the assertion was
//! checked, so of two assertions verified against one stored counter only one is recorded.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;

#[cfg(feature = "passkeys")]
pub mod webauthn;

use crate::identity::account_id::AccountId;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{Binary, DateTime, doc, spec::BinarySubtype};
use mongodb::options::FindOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds passkeys.
pub const PASSKEYS_COLLECTION: &str = "passkeys";

/// How many passkeys one account may register.
pub const MAX_PASSKEYS_PER_ACCOUNT: usize = 20;

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The credential id, base64url without padding (as browsers send it).
    pub id: String,
    /// The account it signs in to.
    pub account: AccountId,
    /// The name its owner gave it.
    pub name: String,
    /// How the browser can reach the authenticator (`usb`, `internal`, `hybrid`, ...).
    pub transports: Vec<String>,
    /// The public key and other state fixed at registration, encoded.
    pub public_key: Vec<u8>,
    /// The state that changes with each use (sign counter, flags), encoded.
    pub state: Vec<u8>,
    /// The authenticator's signature counter at the last use (0: it keeps none).
    pub sign_count: u32,
    /// Whether the credential can be synced to other devices (a "synced passkey").
    pub backup_eligible: bool,
    /// When it was registered.
    pub created_at: SystemTime,
    /// When it last signed in, if ever.
    pub last_used_at: Option<SystemTime>,
    /// The account's passkey generation when it was registered: it signs in only while the
    /// account is still at it ([`crate::identity::users::User::passkey_generation`]).
    pub generation: u64,
}

impl Passkey {
    /// The passkey as its owner sees it: no key material.
    pub fn view(&self) -> serde_json::Value {
        let time = |at: SystemTime| humantime::format_rfc3339_seconds(at).to_string();
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "transports": self.transports,
            "backup_eligible": self.backup_eligible,
            "created_at": time(self.created_at),
            "last_used_at": self.last_used_at.map(time),
        })
    }
}

/// A name for a passkey: 1 to 64 characters, trimmed, no control characters.
pub fn valid_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("name must not be empty");
    }
    if name.chars().count() > 64 {
        return Err("name must be at most 64 characters");
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters");
    }
    Ok(name.to_owned())
}

/// What changed when a passkey was used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse<'a> {
    /// The state read before the assertion was verified.
    pub previous_state: &'a [u8],
    /// The state after it.
    pub state: &'a [u8],
    /// The new signature counter.
    pub sign_count: u32,
    /// When.
    pub at: SystemTime,
}

/// Where passkeys live.
pub trait PasskeyStore: Send + Sync {
    /// Stores a new passkey; `false` when its credential id is already registered (to any
    /// account).
    fn add(&self, passkey: &Passkey) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The passkey with this credential id.
    fn find(&self, id: &str) -> impl Future<Output = Result<Option<Passkey>, StoreError>> + Send;

    /// The account's passkeys, oldest first.
    fn list(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<Passkey>, StoreError>> + Send;

    /// Records a use, if the passkey's state is still `used.previous_state`; `false`
    /// otherwise (a concurrent use got there first, or it was deleted).
    fn record_use(
        &self,
        id: &str,
        used: &PasskeyUse<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the account's passkey `id`; `false` when it has none by that id.
    fn remove(
        &self,
        account: &AccountId,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every passkey of `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

#[derive(Debug, Serialize, Deserialize)]
struct PasskeyDocument {
    #[serde(rename = "_id")]
    id: String,
    account: String,
    name: String,
    transports: Vec<String>,
    public_key: Binary,
    state: Binary,
    sign_count: i64,
    backup_eligible: bool,
    created_at: DateTime,
    #[serde(default)]
    last_used_at: Option<DateTime>,
    #[serde(default)]
    generation: i64,
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

impl PasskeyDocument {
    fn from_passkey(passkey: &Passkey) -> Self {
        Self {
            id: passkey.id.clone(),
            account: passkey.account.as_str().to_owned(),
            name: passkey.name.clone(),
            transports: passkey.transports.clone(),
            public_key: binary(&passkey.public_key),
            state: binary(&passkey.state),
            sign_count: i64::from(passkey.sign_count),
            backup_eligible: passkey.backup_eligible,
            created_at: DateTime::from_system_time(passkey.created_at),
            last_used_at: passkey.last_used_at.map(DateTime::from_system_time),
            generation: i64::try_from(passkey.generation).unwrap_or(i64::MAX),
        }
    }

    fn into_passkey(self) -> Option<Passkey> {
        Some(Passkey {
            id: self.id,
            account: AccountId::parse(&self.account)?,
            name: self.name,
            transports: self.transports,
            public_key: self.public_key.bytes,
            state: self.state.bytes,
            sign_count: u32::try_from(self.sign_count).ok()?,
            backup_eligible: self.backup_eligible,
            created_at: self.created_at.to_system_time(),
            last_used_at: self.last_used_at.map(DateTime::to_system_time),
            generation: u64::try_from(self.generation).ok()?,
        })
    }
}

/// Passkeys in MongoDB, keyed by credential id (unique across accounts by construction).
#[derive(Debug, Clone)]
pub struct MongoPasskeyStore {
    passkeys: Collection<PasskeyDocument>,
}

impl MongoPasskeyStore {
    /// The store on `database`'s `passkeys` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            passkeys: database.collection(PASSKEYS_COLLECTION),
        }
    }

    /// The index an account's passkeys are listed by.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let by_account = IndexModel::builder()
            .keys(doc! { "account": 1, "created_at": 1 })
            .build();
        self.passkeys.create_index(by_account).await?;
        Ok(())
    }
}

impl PasskeyStore for MongoPasskeyStore {
    async fn add(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        match self
            .passkeys
            .insert_one(PasskeyDocument::from_passkey(passkey))
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, id: &str) -> Result<Option<Passkey>, StoreError> {
        let found = self.passkeys.find_one(doc! { "_id": id }).await?;
        Ok(found.and_then(PasskeyDocument::into_passkey))
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Passkey>, StoreError> {
        use futures_util::TryStreamExt as _;
        let oldest_first = FindOptions::builder()
            .sort(doc! { "created_at": 1, "_id": 1 })
            .build();
        let documents: Vec<PasskeyDocument> = self
            .passkeys
            .find(doc! { "account": account.as_str() })
            .with_options(oldest_first)
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .into_iter()
            .filter_map(PasskeyDocument::into_passkey)
            .collect())
    }

    async fn record_use(&self, id: &str, used: &PasskeyUse<'_>) -> Result<bool, StoreError> {
        let result = self
            .passkeys
            .update_one(
                doc! { "_id": id, "state": binary(used.previous_state) },
                doc! { "$set": {
                    "state": binary(used.state),
                    "sign_count": i64::from(used.sign_count),
                    "last_used_at": DateTime::from_system_time(used.at),
                } },
            )
            .await?;
        Ok(result.matched_count == 1)
    }

    async fn remove(&self, account: &AccountId, id: &str) -> Result<bool, StoreError> {
        let result = self
            .passkeys
            .delete_one(doc! { "_id": id, "account": account.as_str() })
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .passkeys
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }
}
