//! Relying parties: the applications users sign in to through the authorization endpoint
//! (OAuth clients of the authorization-code flow, OpenID Connect relying parties). Each has an
//! id (`rp_` and 24 base32 characters), a name shown on the hosted pages, the redirect URIs it
//! may send users back to ([`crate::access::redirect_uris`]) and those it may name after a
//! logout, the scopes it may ask for, whether it is public (a browser or native app, which
//! holds no secret and proves itself with PKCE alone) or confidential (a server that also
//! authenticates with a secret, kept as the machine clients keep theirs), whether it is first
//! party (no consent page) and the algorithm of its id_tokens.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoRelyingPartyStore;

pub use crate::access::client_id::RelyingPartyId;
use crate::access::clients::StoredSecret;
pub use crate::access::clients::{SecretAddition, SecretRemoval};
use crate::access::redirect_uris::RedirectUri;
use crate::access::scopes::Scopes;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds the relying parties.
pub const RELYING_PARTIES_COLLECTION: &str = "relying_parties";

pub use crate::access::scopes::{OPENID_SCOPES, USER_GRANTED_SCOPES};

/// How a relying party signs in at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKind {
    /// A browser or native app: no secret (`token_endpoint_auth_method` `none`); PKCE alone
    /// binds the code to it.
    Public,
    /// A server: PKCE and one of its secrets.
    Confidential {
        /// Its secrets, oldest first, as argon2id hashes under their ids.
        secrets: Vec<StoredSecret>,
    },
}

/// The algorithm that signs a relying party's id_tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdTokenAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, which every OpenID Connect client supports.
    #[default]
    Rs256,
    /// Ed25519, the access tokens' algorithm, for clients that ask for it.
    EdDsa,
}

impl IdTokenAlgorithm {
    /// The JOSE name: `RS256` or `EdDSA`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name` in JOSE.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// A relying party as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// Its id: the `client_id` it sends, and the `aud` of its id_tokens.
    pub id: RelyingPartyId,
    /// Its name, shown to users on the sign-in and consent pages.
    pub name: String,
    /// Public or confidential, with its secrets.
    pub kind: ClientKind,
    /// Where it may send users back to after they sign in.
    pub redirect_uris: Vec<RedirectUri>,
    /// Where it may send users back to after they sign out.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// The scopes it may ask for: OpenID Connect's and API scopes (which the signed-in
    /// account's roles bound as well).
    pub scopes: Scopes,
    /// The operator's own application: users are not asked to consent.
    pub first_party: bool,
    /// How its id_tokens are signed.
    pub id_token_algorithm: IdTokenAlgorithm,
    /// When it was registered.
    pub created_at: SystemTime,
    /// The administrator who registered it.
    pub created_by: AccountId,
}

impl RelyingParty {
    /// Whether it holds a secret.
    pub fn is_confidential(&self) -> bool {
        matches!(self.kind, ClientKind::Confidential { .. })
    }

    /// Its secrets (none for a public client).
    pub fn secrets(&self) -> &[StoredSecret] {
        match &self.kind {
            ClientKind::Public => &[],
            ClientKind::Confidential { secrets } => secrets,
        }
    }
}

/// The longest name of a relying party or machine client, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// `name` trimmed, when it is one to [`MAX_NAME_CHARS`] characters without control
/// characters: what users see on the hosted pages.
pub fn registrable_name(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control))
    .then(|| name.to_owned())
}

/// The scopes that administer accounts and clients: first-party applications only.
pub const ADMINISTRATION_SCOPES: [&str; 2] = ["users:admin", "clients:admin"];

/// Why `scopes` cannot be registered for a relying party (first party or not), if they
/// cannot: each must be OpenID Connect's, `account` or one the API defines, and the
/// administration scopes are for first-party applications only.
pub fn unregistrable_scopes(scopes: &Scopes, first_party: bool) -> Option<String> {
    if let Some(unknown) = scopes.iter().find(|scope| {
        !USER_GRANTED_SCOPES.contains(scope) && !crate::access::scopes::is_known(scope)
    }) {
        return Some(format!(
            "{unknown} is not a scope: use {} or the API's",
            USER_GRANTED_SCOPES.join(", ")
        ));
    }
    (!first_party
        && ADMINISTRATION_SCOPES
            .iter()
            .any(|scope| scopes.contains(scope)))
    .then(|| {
        format!(
            "{} are for first-party applications only",
            ADMINISTRATION_SCOPES.join(" and ")
        )
    })
}

/// Where relying parties live.
pub trait RelyingPartyStore: Send + Sync {
    /// Stores a new relying party.
    fn create(&self, party: &RelyingParty) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The relying party `id`.
    fn find(
        &self,
        id: &RelyingPartyId,
    ) -> impl Future<Output = Result<Option<RelyingParty>, StoreError>> + Send;

    /// Up to `limit` relying parties in id order, after `after`.
    fn list(
        &self,
        after: Option<&RelyingPartyId>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<RelyingParty>, StoreError>> + Send;

    /// Adds a secret to a confidential relying party in one conditional write: refused
    /// (`Full`) while it holds [`crate::access::clients::MAX_SECRETS`], `NotFound` for an
    /// unknown or public one.
    fn add_secret(
        &self,
        id: &RelyingPartyId,
        secret: &StoredSecret,
    ) -> impl Future<Output = Result<SecretAddition, StoreError>> + Send;

    /// Removes the secret `secret_id` in one conditional write, never the last one.
    fn remove_secret(
        &self,
        id: &RelyingPartyId,
        secret_id: &str,
    ) -> impl Future<Output = Result<SecretRemoval, StoreError>> + Send;

    /// Deletes the relying party. Returns whether it existed.
    fn delete(&self, id: &RelyingPartyId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::client_id::ClientId;

    #[test]
    fn relying_party_ids_are_neither_client_nor_account_ids() {
        let id = RelyingPartyId::generate().unwrap();
        assert!(id.as_str().starts_with("rp_"));
        assert_eq!(RelyingPartyId::parse(id.as_str()), Some(id.clone()));
        assert!(ClientId::parse(id.as_str()).is_none());
        assert!(crate::identity::account_id::AccountId::parse(id.as_str()).is_none());
        let machine = ClientId::generate().unwrap();
        assert!(RelyingPartyId::parse(machine.as_str()).is_none());
        assert!(RelyingPartyId::parse("rp_short").is_none());
    }

    #[test]
    fn id_token_algorithms_have_their_jose_names() {
        for algorithm in [IdTokenAlgorithm::Rs256, IdTokenAlgorithm::EdDsa] {
            assert_eq!(IdTokenAlgorithm::parse(algorithm.name()), Some(algorithm));
        }
        assert_eq!(IdTokenAlgorithm::parse("none"), None);
        assert_eq!(IdTokenAlgorithm::parse("HS256"), None);
    }
}
