//! Refresh tokens: 256 random bits handed to the client once, stored only as their SHA-256
//! hash with the user, the family (one login's chain of rotations), the user's token version,
//! an expiry (TTL index) and a state.
//!
//! Each exchange marks the presented token `used` atomically and issues the next one in the
//! same family; presenting a `used` token again is reuse (OAuth 2.0 Security BCP, section
//! 4.14.2): the caller revokes the whole family.

use crate::credentials::Username;
use crate::db::StoreError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mongodb::bson::{DateTime, doc};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds refresh-token hashes.
pub const REFRESH_TOKENS_COLLECTION: &str = "refresh_tokens";

/// Random bytes in a refresh token.
const TOKEN_BYTES: usize = 32;

/// A freshly generated refresh token.
#[derive(Debug)]
pub struct NewRefreshToken {
    /// What the client receives: 43 characters of base64url, never stored.
    pub secret: SecretString,
    /// What the store keeps: [`hash`] of the secret.
    pub hash: String,
}

/// A new refresh token from the operating system's random generator.
pub fn generate() -> Result<NewRefreshToken, StoreError> {
    let mut bytes = [0_u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|error| {
        StoreError(mongodb::error::Error::custom(format!(
            "no randomness for a refresh token: {error}"
        )))
    })?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    Ok(NewRefreshToken {
        hash: hash(&secret),
        secret: SecretString::from(secret),
    })
}

/// The lookup key of a presented refresh token: its SHA-256, hex-encoded. A fast hash is
/// right here: the input is 256 random bits, not a guessable password.
pub fn hash(presented: &str) -> String {
    Sha256::digest(presented.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `presented` has the shape of a token [`generate`] makes (43 base64url
/// characters); anything else cannot be ours and is refused before a database call.
pub fn well_formed(presented: &str) -> bool {
    presented.len() == 43
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A stored refresh token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// [`hash`] of the secret.
    pub hash: String,
    /// The account's username, as stored on the account.
    pub username: Username,
    /// The login this token descends from; revoked as a whole.
    pub family: String,
    /// The user's token version when the family was issued.
    pub token_version: u64,
    /// When the token stops working.
    pub expires_at: SystemTime,
}

impl RefreshRecord {
    /// A record for a new token of `family`, valid for `lifetime` from `now`.
    pub fn new(
        hash: String,
        username: &Username,
        family: String,
        token_version: u64,
        now: SystemTime,
        lifetime: Duration,
    ) -> Self {
        Self {
            hash,
            username: username.clone(),
            family,
            token_version,
            expires_at: now + lifetime,
        }
    }
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exchange {
    /// The token was active and is now used; issue its successor.
    Rotated(RefreshRecord),
    /// The token had already been used: a replay. Revoke the family.
    Reused {
        /// The family to revoke.
        family: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Where refresh-token hashes live. Implemented for MongoDB and, for handler tests, in memory.
pub trait RefreshTokenStore: Send + Sync {
    /// Stores a new active token.
    fn insert(
        &self,
        record: &RefreshRecord,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the token with `hash` used if it is active and unexpired, atomically: of any
    /// number of concurrent exchanges of one token, exactly one sees [`Exchange::Rotated`].
    fn exchange(
        &self,
        hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Exchange, StoreError>> + Send;

    /// The family of the token with `hash`, whatever its state.
    fn family_of(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Revokes every token of `family`. Returns how many changed.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Revokes every token of every family of `username`. Returns how many changed.
    fn revoke_user(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

const ACTIVE: &str = "active";
const USED: &str = "used";
const REVOKED: &str = "revoked";

#[derive(Debug, Serialize, Deserialize)]
struct RefreshDocument {
    #[serde(rename = "_id")]
    hash: String,
    username: String,
    username_canonical: String,
    family: String,
    token_version: i64,
    state: String,
    created_at: DateTime,
    expires_at: DateTime,
}

impl From<RefreshDocument> for RefreshRecord {
    fn from(document: RefreshDocument) -> Self {
        Self {
            hash: document.hash,
            username: Username::from_stored(document.username, Some(document.username_canonical)),
            family: document.family,
            token_version: u64::try_from(document.token_version).unwrap_or(0),
            expires_at: document.expires_at.to_system_time(),
        }
    }
}

/// Refresh tokens in MongoDB, expired by a TTL index on `expires_at`.
#[derive(Debug, Clone)]
pub struct MongoRefreshTokenStore {
    tokens: Collection<RefreshDocument>,
}

impl MongoRefreshTokenStore {
    /// The store on `database`'s `refresh_tokens` collection. Call
    /// [`MongoRefreshTokenStore::ensure_indexes`] once per cold start.
    pub fn new(database: &Database) -> Self {
        Self {
            tokens: database.collection(REFRESH_TOKENS_COLLECTION),
        }
    }

    /// Creates the TTL index on `expires_at` and the indexes that revocation uses.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let ttl = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .expire_after(Duration::ZERO)
                    .name("expires_at_ttl".to_owned())
                    .build(),
            )
            .build();
        let family = IndexModel::builder().keys(doc! { "family": 1 }).build();
        let user = IndexModel::builder()
            .keys(doc! { "username_canonical": 1 })
            .build();
        self.tokens.create_indexes([ttl, family, user]).await?;
        Ok(())
    }
}

impl RefreshTokenStore for MongoRefreshTokenStore {
    async fn insert(&self, record: &RefreshRecord, now: SystemTime) -> Result<(), StoreError> {
        let document = RefreshDocument {
            hash: record.hash.clone(),
            username: record.username.as_str().to_owned(),
            username_canonical: record.username.canonical().to_owned(),
            family: record.family.clone(),
            token_version: i64::try_from(record.token_version).unwrap_or(i64::MAX),
            state: ACTIVE.to_owned(),
            created_at: DateTime::from_system_time(now),
            expires_at: DateTime::from_system_time(record.expires_at),
        };
        self.tokens.insert_one(document).await?;
        Ok(())
    }

    async fn exchange(&self, hash: &str, now: SystemTime) -> Result<Exchange, StoreError> {
        let now = DateTime::from_system_time(now);
        let rotated = self
            .tokens
            .find_one_and_update(
                doc! { "_id": hash, "state": ACTIVE, "expires_at": { "$gt": now } },
                doc! { "$set": { "state": USED, "used_at": now } },
            )
            .return_document(ReturnDocument::Before)
            .await?;
        if let Some(document) = rotated {
            return Ok(Exchange::Rotated(document.into()));
        }
        let found = self.tokens.find_one(doc! { "_id": hash }).await?;
        Ok(match found {
            Some(document) if document.state == USED => Exchange::Reused {
                family: document.family,
            },
            _ => Exchange::Invalid,
        })
    }

    async fn family_of(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let found = self.tokens.find_one(doc! { "_id": hash }).await?;
        Ok(found.map(|document| document.family))
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        let result = self
            .tokens
            .update_many(
                doc! { "family": family, "state": { "$ne": REVOKED } },
                doc! { "$set": { "state": REVOKED } },
            )
            .await?;
        Ok(result.modified_count)
    }

    async fn revoke_user(&self, username: &Username) -> Result<u64, StoreError> {
        let result = self
            .tokens
            .update_many(
                doc! { "username_canonical": username.canonical(), "state": { "$ne": REVOKED } },
                doc! { "$set": { "state": REVOKED } },
            )
            .await?;
        Ok(result.modified_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn generated_tokens_are_256_random_bits_stored_only_as_their_hash() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        let secret = first.secret.expose_secret();
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert!(well_formed(secret), "{secret}");
        assert_ne!(secret, second.secret.expose_secret());
        assert_eq!(first.hash, hash(secret));
        assert_eq!(first.hash.len(), 64);
        assert!(!first.hash.contains(secret));
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn only_our_shape_is_well_formed() {
        assert!(!well_formed(""));
        assert!(!well_formed(&"a".repeat(42)));
        assert!(!well_formed(&"a".repeat(44)));
        assert!(!well_formed(&format!("{}=", "a".repeat(42))));
        assert!(!well_formed(&format!("{}+", "a".repeat(42))));
        assert!(well_formed(&format!("{}-_", "a".repeat(41))));
    }
}
