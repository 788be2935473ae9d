//! Sessions and their refresh tokens. A session (a token family) is one password login's
//! chain of rotations: its account, the account's token version at the login, an absolute end,
//! whether it is revoked, the hash of its one current refresh token with that token's idle
//! expiry, and the hashes of the last few tokens rotated away. Refresh tokens are 256 random
//! bits handed to the client once and stored only as their SHA-256 hash.
//!
//! A rotation is one conditional update of the session document: it replaces the current
//! hash only if the presented one is still current and the session neither revoked nor over.
//! Revocation sets the session's flag in one update of the same document. So whichever lands
//! first, once a revocation has answered no refresh token of the session works: not the one
//! presented, not a successor issued a moment before. Presenting a retired token is reuse
//! (RFC 9700 4.14.2): the same kind of update revokes the session.
//!
//! A login session at the service (the hosted pages' single sign-on, behind an opaque
//! cookie) is a session too, so everything that ends sessions ends it; it stores its
//! cookie's [`login_key`] where a refresh token's hash would be, and never rotates.

#[cfg(test)]
mod contract;
#[cfg(test)]
mod live;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::{MongoSessionStore, RETIRED_KEPT};

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds sessions (token families) with their refresh-token hashes.
pub const SESSIONS_COLLECTION: &str = "sessions";

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

/// What a login session at the service stores in place of a refresh-token hash: the hash of
/// its cookie under a prefix no SHA-256 hex digest has, so the cookie can never be presented
/// as a refresh token (nor a refresh token as the cookie).
pub fn login_key(cookie: &str) -> String {
    format!("{LOGIN_KEY_PREFIX}{}", hash(cookie))
}

/// The prefix of a [`login_key`]; a rotation of such a key is refused.
pub const LOGIN_KEY_PREFIX: &str = "login:";

/// Whether `presented` has the shape of a token [`generate`] makes (43 base64url
/// characters); anything else cannot be ours and is refused before a database call.
pub fn well_formed(presented: &str) -> bool {
    presented.len() == 43
        && presented
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One password login's chain of refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its opaque id (the token family).
    pub family: String,
    /// The account it belongs to.
    pub account: AccountId,
    /// The account's token version at the login; a later bump ends the session.
    pub token_version: u64,
    /// When the login that started the session happened.
    pub authenticated_at: SystemTime,
    /// How that login authenticated (RFC 8176 method references).
    pub amr: Vec<String>,
    /// When the session ends, however often it rotated.
    pub expires_at: SystemTime,
    /// The device that logged in: source IP and user agent, as the gateway saw them.
    pub client: RequestSource,
    /// For a session a relying party started with an authorization code: that relying
    /// party, the only client that may refresh it, and the scopes the user granted it (its
    /// tokens carry those the account's roles still allow). `None` for a sign-in at `/token`.
    pub relying_party: Option<RelyingPartyGrant>,
}

/// What a relying party's session is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingPartyGrant {
    /// The relying party.
    pub client: crate::access::client_id::RelyingPartyId,
    /// The scopes granted to it.
    pub scopes: crate::access::scopes::Scopes,
}

/// A session as stored, for an export: its state beside what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The session.
    pub session: Session,
    /// When a refresh token of it was last exchanged.
    pub last_used_at: SystemTime,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A session as its owner sees it in the list of their sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSession {
    /// The session.
    pub session: Session,
    /// When a refresh token of it was last exchanged (its login, if never).
    pub last_used_at: SystemTime,
}

impl Session {
    /// A new session for `account` after a password login `now`, lasting `lifetime`.
    pub fn new(
        account: &AccountId,
        token_version: u64,
        now: SystemTime,
        lifetime: Duration,
    ) -> Self {
        Self {
            family: uuid::Uuid::new_v4().to_string(),
            account: account.clone(),
            token_version,
            authenticated_at: now,
            amr: vec!["pwd".to_owned()],
            expires_at: now + lifetime,
            client: RequestSource::default(),
            relying_party: None,
        }
    }

    /// How and when the session's login authenticated, for the tokens it issues with
    /// `scopes`: the account's, read when each token is issued.
    pub fn authentication(
        &self,
        scopes: crate::access::scopes::Scopes,
    ) -> crate::tokens::Authentication {
        crate::tokens::Authentication {
            methods: self.amr.clone(),
            at: self.authenticated_at,
            session: Some(self.family.clone()),
            scopes,
            client: self
                .relying_party
                .as_ref()
                .map(|grant| grant.client.as_str().to_owned()),
        }
    }

    /// When a refresh token issued `now` stops working: after `idle`, or when the session
    /// ends, whichever comes first.
    pub fn token_expiry(&self, now: SystemTime, idle: Duration) -> SystemTime {
        (now + idle).min(self.expires_at)
    }
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: its successor is now the session's current token.
    Rotated(Session),
    /// The token was current once but no longer is: a replay. The session is revoked in the
    /// same step, so a failure after it cannot leave the session alive.
    Reused {
        /// The session, now revoked.
        family: String,
        /// Its account.
        account: AccountId,
    },
    /// Unknown, expired, or its session revoked or over.
    Invalid,
}

/// Where sessions and refresh-token hashes live. Implemented for MongoDB and, for handler
/// tests, in memory.
pub trait SessionStore: Send + Sync {
    /// Stores a new session with its first refresh token.
    fn start(
        &self,
        session: &Session,
        first_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Makes `successor_hash` the session's current token if `hash` is current and the
    /// session neither revoked nor over, atomically: of any number of concurrent rotations of
    /// one token, exactly one sees [`Rotation::Rotated`], and none after a revocation. A token
    /// of a live session that is no longer current revokes the session ([`Rotation::Reused`]).
    fn rotate(
        &self,
        hash: &str,
        successor_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> impl Future<Output = Result<Rotation, StoreError>> + Send;

    /// The session (and its account) of the token with `hash`, whatever its state.
    fn family_of(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<(String, AccountId)>, StoreError>> + Send;

    /// Revokes the session `family`. Returns whether it was active.
    fn revoke_family(&self, family: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every session of `account`. Returns how many were active.
    fn revoke_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Revokes every session of `account` that the relying party `client` holds (the user
    /// took back its consent). Returns how many were active.
    fn revoke_client(
        &self,
        account: &AccountId,
        client: &crate::access::client_id::RelyingPartyId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The sessions of `account` that can still refresh at `now`, most recently used first.
    fn active_sessions(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<ActiveSession>, StoreError>> + Send;

    /// Every stored session of `account`, revoked and ended ones included (until their TTL
    /// removes them), newest login first: what a data export shows.
    fn sessions_of(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<StoredSession>, StoreError>> + Send;

    /// Deletes every session of `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The login session at the service stored under `key` ([`login_key`] of its cookie),
    /// if it is live at `now`: not revoked, not over, used within `idle`. Finding it counts
    /// as a use (its idle expiry moves, never past its end).
    fn find_login(
        &self,
        key: &str,
        now: SystemTime,
        idle: Duration,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Revokes the session `family` if it belongs to `account` and is not revoked yet:
    /// another account's session id ends nothing. Returns whether it did.
    fn end_session(
        &self,
        account: &AccountId,
        family: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The most sessions a list shows (the most recently used).
pub const MAX_LISTED_SESSIONS: i64 = 100;

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
