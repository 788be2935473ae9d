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
mod mongo;

pub use mongo::MongoPasskeyStore;

#[cfg(feature = "passkeys")]
pub mod webauthn;

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
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
