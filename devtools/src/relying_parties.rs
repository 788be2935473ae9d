//! Registering a relying party straight in the database, for local use: what
//! `register-relying-party` does and how `make dev` registers its demo client. The rules are
//! the admin API's (name, redirect URIs, scopes); the administrator is the local tools'
//! account id.

use secrecy::{ExposeSecret as _, SecretString};
use shared::access::clients::{StoredSecret, generate_secret};
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, MAX_NAME_CHARS, RelyingParty, RelyingPartyId,
    RelyingPartyStore as _, registrable_name, unregistrable_scopes,
};
use shared::access::scopes::Scopes;
use shared::factors::hashing::PasswordHasher;
use shared::identity::account_id::AccountId;
use shared::identity::credentials::Password;
use shared::stores::MongoStores;

/// The account id that local tools register relying parties as (no account has it).
pub const LOCAL_TOOLS: &str = "000000000000000000000000";

/// What to register.
#[derive(Debug, Clone)]
pub struct Registration {
    /// An id to use instead of a random one (the demo client's fixed id).
    pub id: Option<RelyingPartyId>,
    /// Shown on the sign-in and consent pages.
    pub name: String,
    /// A server that holds a secret, rather than a browser or native app.
    pub confidential: bool,
    /// Where users may be sent back to after signing in.
    pub redirect_uris: Vec<String>,
    /// Where users may be sent back to after signing out.
    pub post_logout_redirect_uris: Vec<String>,
    /// The scopes it may ask for, space-separated.
    pub scopes: String,
    /// The operator's own application (no consent page).
    pub first_party: bool,
    /// How its id_tokens are signed.
    pub id_token_algorithm: IdTokenAlgorithm,
}

/// Why a registration did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// A redirect URI or scope the admin API would refuse too.
    #[error("{0}")]
    Refused(String),
    /// No randomness, hashing or the database failed.
    #[error("{0}")]
    Failed(String),
}

/// Registers `registration`: the relying party, and its secret (to show once) when
/// confidential. A redirect URI or scope the admin API would refuse is refused here too.
pub async fn register(
    stores: &MongoStores,
    hasher: &PasswordHasher,
    registration: Registration,
) -> Result<(RelyingParty, Option<SecretString>), RegistrationError> {
    use RegistrationError::{Failed, Refused};
    let uris = |uris: &[String]| {
        uris.iter()
            .map(|uri| {
                RedirectUri::register(uri).map_err(|error| Refused(format!("{uri}: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let scopes = Scopes::parse(&registration.scopes);
    if let Some(refusal) = unregistrable_scopes(&scopes, registration.first_party) {
        return Err(Refused(refusal));
    }
    let name = registrable_name(&registration.name).ok_or_else(|| {
        Refused(format!(
            "the name must be 1 to {MAX_NAME_CHARS} characters, no control characters"
        ))
    })?;
    if registration.redirect_uris.is_empty() {
        return Err(Refused("give at least one redirect URI".to_owned()));
    }
    let (kind, secret) = if registration.confidential {
        let new = generate_secret().map_err(|error| Failed(error.to_string()))?;
        let hash = hasher
            .hash(&Password::presented(new.secret.expose_secret()))
            .await
            .map_err(|error| Failed(error.to_string()))?;
        let stored = StoredSecret {
            id: new.id,
            hash,
            created_at: std::time::SystemTime::now(),
        };
        (
            ClientKind::Confidential {
                secrets: vec![stored],
            },
            Some(new.secret),
        )
    } else {
        (ClientKind::Public, None)
    };
    let id = match registration.id {
        Some(id) => id,
        None => RelyingPartyId::generate()
            .ok_or_else(|| Failed("no randomness for an id".to_owned()))?,
    };
    let party = RelyingParty {
        id,
        name,
        kind,
        redirect_uris: uris(&registration.redirect_uris)?,
        post_logout_redirect_uris: uris(&registration.post_logout_redirect_uris)?,
        scopes,
        first_party: registration.first_party,
        id_token_algorithm: registration.id_token_algorithm,
        created_at: std::time::SystemTime::now(),
        created_by: AccountId::parse(LOCAL_TOOLS)
            .ok_or_else(|| Failed("the local tools' id is malformed".to_owned()))?,
    };
    stores
        .relying_parties
        .create(&party)
        .await
        .map_err(|error| Failed(error.to_string()))?;
    Ok((party, secret))
}
