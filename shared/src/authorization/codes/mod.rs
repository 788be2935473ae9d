//! Authorization codes: what the authorization endpoint hands a relying party through the
//! user's browser, and what the token endpoint exchanges for tokens once. A code is 256
//! random bits, stored only as its SHA-256 hash (like a refresh token), valid for at most
//! [`CODE_LIFETIME`], bound to everything the exchange must match or carry over: the relying
//! party, the redirect URI, the PKCE challenge, the nonce, the scopes, the account and its
//! token version, the login session, and when and how the user authenticated.
//!
//! Redeeming is one conditional update that marks the code redeemed and names the session
//! the exchange will start: of any number of concurrent exchanges exactly one wins. A later
//! exchange of the same code is a replay (RFC 6749 §4.1.2): it learns the session the first
//! exchange started, so the caller can end it.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoAuthorizationCodeStore;

use crate::access::client_id::RelyingPartyId;
use crate::access::scopes::Scopes;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds authorization codes.
pub const AUTHORIZATION_CODES_COLLECTION: &str = "authorization_codes";

/// How long a code can be exchanged: RFC 6749 §4.1.2 recommends at most ten minutes; a
/// browser redirect takes a second.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// What an authorization code stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationGrant {
    /// The relying party that asked.
    pub client: RelyingPartyId,
    /// The redirect URI of the request, which the exchange must repeat.
    pub redirect_uri: String,
    /// The PKCE `code_challenge` (S256), which the exchange's verifier must hash to.
    pub code_challenge: String,
    /// The request's `nonce`, returned in the id_token.
    pub nonce: Option<String>,
    /// The scopes granted.
    pub scopes: Scopes,
    /// The account that signed in.
    pub account: AccountId,
    /// The account's token version at the sign-in; a later bump refuses the code.
    pub token_version: u64,
    /// The login session at the service the code was issued in (the id_token's `sid`).
    pub login_session: String,
    /// When the user authenticated (`auth_time`).
    pub authenticated_at: SystemTime,
    /// How (RFC 8176 method references, the `amr` claim).
    pub amr: Vec<String>,
    /// When the code stops working.
    pub expires_at: SystemTime,
}

/// What presenting a code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// The code was live and is now spent; the exchange starts the session it named.
    Redeemed(AuthorizationGrant),
    /// The code was spent before: whatever its first exchange started must end.
    Replayed {
        /// The session the first exchange started (or is starting).
        session: String,
        /// Its account.
        account: AccountId,
    },
    /// Unknown or expired.
    Invalid,
}

/// Where authorization codes live.
pub trait AuthorizationCodeStore: Send + Sync {
    /// Stores a new code under `hash`.
    fn issue(
        &self,
        hash: &str,
        grant: &AuthorizationGrant,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Spends the code with `hash` if it is live at `now`, naming `session` as the session
    /// its exchange starts, in one conditional update: of concurrent redemptions exactly one
    /// sees [`Redemption::Redeemed`]; the others, and every later one, see
    /// [`Redemption::Replayed`] with the winner's session, until the code is deleted.
    fn redeem(
        &self,
        hash: &str,
        session: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Redemption, StoreError>> + Send;

    /// Whether the code with `hash` was presented again after its redemption: the first
    /// exchange asks once its session exists, so a replay racing it cannot miss the session.
    fn was_replayed(&self, hash: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every code of `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes every code of `account` issued to `client` (the user took back its consent).
    /// Returns how many there were.
    fn delete_client(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
