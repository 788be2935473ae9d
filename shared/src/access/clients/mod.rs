//! Machine clients: backend services that get access tokens with the client-credentials grant
//! (RFC 6749 section 4.4). A client has an id (`cl_` and 24 base32 characters, never an
//! account id), a name, the scopes it may be granted, and one or two secrets (two while a
//! rotation is under way). A secret is shown once, as `<secret id>.<256 random bits>`, and
//! stored as an argon2id hash under its id, so a presented secret is checked against exactly
//! one hash.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoClientStore;

pub use crate::access::client_id::ClientId;
use crate::access::scopes::Scopes;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::doc;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds the clients.
pub const CLIENTS_COLLECTION: &str = "clients";
/// The most secrets a client has at once: the current one and the one being replaced.
pub const MAX_SECRETS: usize = 2;

fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0_u8; N];
    getrandom::fill(&mut bytes).map_err(|error| {
        StoreError(mongodb::error::Error::custom(format!(
            "no randomness: {error}"
        )))
    })?;
    Ok(bytes)
}

/// One stored secret: its id and argon2id hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSecret {
    /// Its id: the part of the secret before the dot.
    pub id: String,
    /// The argon2id PHC string of the whole secret.
    pub hash: String,
    /// When it was made.
    pub created_at: SystemTime,
}

/// A new secret: the text to show once, and its id.
#[derive(Debug)]
pub struct NewSecret {
    /// `<id>.<random>`.
    pub secret: SecretString,
    /// The id, stored in the clear.
    pub id: String,
}

/// A new random secret.
pub fn generate_secret() -> Result<NewSecret, StoreError> {
    let id: String = random_bytes::<4>()?
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let random = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    Ok(NewSecret {
        secret: SecretString::from(format!("{id}.{random}")),
        id,
    })
}

/// The id part of a presented secret, when it has the shape of one.
pub fn secret_id(presented: &str) -> Option<&str> {
    let (id, random) = presented.split_once('.')?;
    (id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()) && random.len() == 43).then_some(id)
}

/// A machine client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineClient {
    /// Its id, the `sub` of its tokens.
    pub id: ClientId,
    /// What the administrator called it.
    pub name: String,
    /// The scopes it may be granted.
    pub scopes: Scopes,
    /// Its secrets, oldest first.
    pub secrets: Vec<StoredSecret>,
    /// When it was created.
    pub created_at: SystemTime,
    /// The administrator who created it.
    pub created_by: AccountId,
}

/// What adding a secret did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretAddition {
    /// Added beside the current one.
    Added,
    /// The client does not exist.
    NotFound,
    /// The client already has [`MAX_SECRETS`]: a rotation is under way; end it first.
    Full,
}

/// Why a secret could not be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRemoval {
    /// Removed.
    Removed,
    /// The client or the secret does not exist.
    NotFound,
    /// It is the client's only secret.
    LastSecret,
}

/// Where clients live.
pub trait ClientStore: Send + Sync {
    /// Stores a new client.
    fn create(&self, client: &MachineClient)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The client `id`.
    fn find(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<MachineClient>, StoreError>> + Send;

    /// Up to `limit` clients in id order, after the client `after`.
    fn list(
        &self,
        after: Option<&ClientId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<MachineClient>, StoreError>> + Send;

    /// Adds `secret` in one conditional update, unless the client already has
    /// [`MAX_SECRETS`] (a retried or concurrent rotation never evicts a secret in use).
    fn add_secret(
        &self,
        id: &ClientId,
        secret: &StoredSecret,
    ) -> impl Future<Output = Result<SecretAddition, StoreError>> + Send;

    /// Removes the secret `secret_id`, unless it is the client's only one.
    fn remove_secret(
        &self,
        id: &ClientId,
        secret_id: &str,
    ) -> impl Future<Output = Result<SecretRemoval, StoreError>> + Send;

    /// Deletes the client. Returns whether it existed.
    fn delete(&self, id: &ClientId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_and_secrets_have_their_shapes() {
        let id = ClientId::generate().unwrap();
        assert_eq!(ClientId::parse(id.as_str()), Some(id.clone()));
        assert!(crate::identity::account_id::AccountId::parse(id.as_str()).is_none());
        assert!(ClientId::parse("cl_short").is_none());
        assert!(ClientId::parse("2bd806c97f0e00af1a1fc332").is_none());
        let new = generate_secret().unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(secret_id(new.secret.expose_secret()), Some(new.id.as_str()));
        assert_eq!(secret_id("nothing"), None);
        assert_eq!(secret_id("zzzzzzzz.x"), None);
    }
}
