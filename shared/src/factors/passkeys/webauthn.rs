//! WebAuthn ceremonies on top of the `webauthn_rp` crate: the options sent to the browser,
//! and the checks of what comes back (challenge, origin, relying-party id, user presence
//! and verification, signature, sign counter). The server's half of a ceremony is encoded
//! into bytes so it can wait in [`crate::factors::passkey_ceremonies`] between two stateless calls.
//!
//! A passkey's user handle is its account's id (the 12 bytes of its ObjectId): opaque, never
//! reused, and the same for every passkey of the account, so an authenticator keeps one
//! passkey per account.

use crate::factors::passkeys::Passkey;
use crate::identity::account_id::AccountId;
use crate::platform::config::{ConfigError, Source};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Request;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AllowedCredential, AllowedCredentials, AuthenticationVerificationOptions,
};
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    ResidentKeyRequirement, UserHandle, Username,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials as _, ExtensionInfo, PublicKeyCredentialDescriptor, RpId,
    TimedCeremony,
};
use webauthn_rp::response::auth::error::AuthCeremonyErr;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, AuthenticatorTransport, Backup, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthentication, DiscoverableAuthenticationServerState,
    DiscoverableCredentialRequestOptions, NonDiscoverableAuthentication,
    NonDiscoverableAuthenticationServerState, NonDiscoverableCredentialRequestOptions,
    PublicKeyCredentialCreationOptions, Registration, RegistrationServerState,
};

/// The length of a user handle: an ObjectId's 12 bytes.
const USER_HANDLE_LEN: usize = 12;

type AccountHandle = UserHandle<USER_HANDLE_LEN>;

/// The relying party as configured: `PASSKEY_RP_ID` and `PASSKEY_ORIGINS` (comma-separated).
/// Empty, each follows the API's own domain (`{api id}.execute-api.{region}.amazonaws.com`,
/// origin `https://` that), as the issuer does.
#[derive(Debug, Clone, Default)]
pub struct PasskeySettings {
    rp_id: Option<String>,
    origins: Vec<String>,
}

impl PasskeySettings {
    /// The settings from `PASSKEY_RP_ID` and `PASSKEY_ORIGINS`.
    pub fn from_source(env: &impl Source) -> Result<Self, ConfigError> {
        let rp_id = env.get("PASSKEY_RP_ID").filter(|id| !id.trim().is_empty());
        if let Some(id) = &rp_id
            && !is_domain(id.trim())
        {
            return Err(ConfigError::Invalid {
                var: "PASSKEY_RP_ID",
                reason: "must be a domain name such as auth.example.com".to_owned(),
            });
        }
        let origins: Vec<String> = env
            .get("PASSKEY_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect();
        let rp_id = rp_id.map(|id| id.trim().to_owned());
        if let Some(origin) = origins
            .iter()
            .find(|origin| !allowed_origin(origin, rp_id.as_deref()))
        {
            return Err(ConfigError::Invalid {
                var: "PASSKEY_ORIGINS",
                reason: format!(
                    "{origin} is not https://<the relying-party id or a subdomain>[:port] (or http://localhost[:port] with the id localhost)"
                ),
            });
        }
        Ok(Self { rp_id, origins })
    }

    /// Settings naming `rp_id` and `origins` (for tests and tools).
    pub fn new(rp_id: &str, origins: &[&str]) -> Self {
        Self {
            rp_id: Some(rp_id.to_owned()),
            origins: origins.iter().map(|origin| (*origin).to_owned()).collect(),
        }
    }

    /// The relying party for `request`: the configured one, else the API's own domain as
    /// API Gateway names it. `None` when neither is known.
    pub fn relying_party(&self, request: &Request) -> Option<RelyingParty> {
        let id = match &self.rp_id {
            Some(id) => id.clone(),
            None => {
                let url = crate::tokens::issuer::of_request(request)?;
                url.strip_prefix("https://")?.split('/').next()?.to_owned()
            }
        };
        let origins = if self.origins.is_empty() {
            vec![format!("https://{id}")]
        } else {
            self.origins.clone()
        };
        let domain = AsciiDomain::try_from(id.clone()).ok()?;
        Some(RelyingParty {
            name: id,
            id: RpId::Domain(domain),
            origins,
        })
    }
}

/// Who the browser signs for: the relying-party id and the origins allowed to ask.
#[derive(Debug)]
pub struct RelyingParty {
    name: String,
    id: RpId,
    origins: Vec<String>,
}

impl RelyingParty {
    /// The relying-party id (a domain).
    pub fn id(&self) -> &str {
        &self.name
    }
}

/// Why a ceremony failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The browser's answer is not a WebAuthn response of the expected kind.
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The answer does not verify (signature, origin, relying party, user verification,
    /// expiry, ...).
    #[error("credential refused: {0}")]
    Refused(String),
    /// The signature counter did not increase: possibly a cloned authenticator.
    #[error("signature counter did not increase")]
    CounterRegression,
    /// Our own stored state could not be read or written.
    #[error("passkey state: {0}")]
    State(String),
}

/// A ceremony begun: the challenge it waits under, the server's half encoded, and the
/// options for `navigator.credentials` (the WebAuthn JSON forms).
#[derive(Debug)]
pub struct Started {
    /// The challenge, as the ceremony store's key.
    pub challenge: String,
    /// The server's half, encoded.
    pub state: Vec<u8>,
    /// `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`.
    pub options: serde_json::Value,
}

/// An origin a page may ask for passkeys from: `https://host[:port]` whose host is the
/// relying-party id or under it (any host while the id follows the API), or
/// `http://localhost[:port]` when the id is `localhost`.
fn allowed_origin(origin: &str, rp_id: Option<&str>) -> bool {
    let (secure, rest) = match origin.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => return false,
    };
    let (host, port) = rest.split_once(':').unwrap_or((rest, ""));
    let port_ok = port.is_empty() || (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    if !port_ok || !is_domain(host) {
        return false;
    }
    match (secure, rp_id) {
        (false, rp_id) => host == "localhost" && rp_id.is_none_or(|id| id == "localhost"),
        (true, None) => true,
        (true, Some(id)) => host == id || host.ends_with(&format!(".{id}")),
    }
}

/// A lowercase DNS name: labels of letters, digits and hyphens, joined by dots.
fn is_domain(text: &str) -> bool {
    let label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    text.len() <= 253
        && text.split('.').all(label)
        && AsciiDomain::try_from(text.to_owned()).is_ok()
}

fn challenge_key(challenge: webauthn_rp::response::SentChallenge) -> String {
    format!("{:032x}", challenge.0)
}

fn handle_of(account: &AccountId) -> AccountHandle {
    let bytes = account.object_id().bytes();
    match AccountHandle::decode(bytes) {
        Ok(handle) => handle,
        Err(never) => match never {},
    }
}

fn transports_code(names: &[String]) -> u8 {
    names
        .iter()
        .map(|name| match name.as_str() {
            "ble" => 0x1,
            "hybrid" => 0x2,
            "internal" => 0x4,
            "nfc" => 0x8,
            "smart-card" => 0x10,
            "usb" => 0x20,
            _ => 0,
        })
        .fold(0, |code, bit| code | bit)
}

fn transport_names(transports: AuthTransports) -> Vec<String> {
    [
        (AuthenticatorTransport::Ble, "ble"),
        (AuthenticatorTransport::Hybrid, "hybrid"),
        (AuthenticatorTransport::Internal, "internal"),
        (AuthenticatorTransport::Nfc, "nfc"),
        (AuthenticatorTransport::SmartCard, "smart-card"),
        (AuthenticatorTransport::Usb, "usb"),
    ]
    .into_iter()
    .filter(|(transport, _)| transports.contains(*transport))
    .map(|(_, name)| name.to_owned())
    .collect()
}

fn descriptor(passkey: &Passkey) -> Option<PublicKeyCredentialDescriptor<Vec<u8>>> {
    let id = URL_SAFE_NO_PAD.decode(&passkey.id).ok()?;
    Some(PublicKeyCredentialDescriptor {
        id: CredentialId::decode(id).ok()?,
        transports: AuthTransports::decode(transports_code(&passkey.transports)).ok()?,
    })
}

/// The ceremony begun by `server` (the half kept) and `client` (the options sent).
fn started<S>(server: &S, client: &impl serde::Serialize) -> Result<Started, PasskeyError>
where
    S: TimedCeremony + for<'a> Encode<Output<'a> = Vec<u8>> + 'static,
    <S as Encode>::Err: std::fmt::Display,
{
    Ok(Started {
        challenge: challenge_key(server.sent_challenge()),
        state: server
            .encode()
            .map_err(|error| PasskeyError::State(error.to_string()))?,
        options: to_json(client)?,
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<serde_json::Value, PasskeyError> {
    serde_json::to_value(value).map_err(|error| PasskeyError::State(error.to_string()))
}

/// Starts registering a passkey to `account` (shown to the user as `username`): a
/// discoverable credential preferred, user verification required, the account's
/// `existing` passkeys excluded.
pub fn start_registration(
    relying_party: &RelyingParty,
    account: &AccountId,
    username: &str,
    existing: &[Passkey],
) -> Result<Started, PasskeyError> {
    let handle = handle_of(account);
    let name = Username::try_from(username)
        .map_err(|error| PasskeyError::State(format!("username: {error}")))?;
    let user = PublicKeyCredentialUserEntity {
        name,
        id: &handle,
        display_name: None,
    };
    let exclude = existing.iter().filter_map(descriptor).collect();
    let mut options = PublicKeyCredentialCreationOptions::passkey(&relying_party.id, user, exclude);
    options.authenticator_selection.resident_key = ResidentKeyRequirement::Preferred;
    // Asked for, not required: many platform authenticators lack credProtect, and every
    // sign-in requires user verification anyway.
    options.extensions.cred_protect =
        CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = options
        .start_ceremony()
        .map_err(|error| PasskeyError::State(error.to_string()))?;
    started(&server, &client)
}

/// A browser's answer to a registration challenge, parsed.
#[derive(Debug)]
pub struct RegistrationResponse(Registration);

impl RegistrationResponse {
    /// Parses `RegistrationResponseJSON`.
    pub fn parse(json: &[u8]) -> Result<Self, PasskeyError> {
        Registration::from_json_relaxed(json)
            .map(Self)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))
    }

    /// The challenge it answers.
    pub fn challenge(&self) -> Result<String, PasskeyError> {
        self.0
            .challenge_relaxed()
            .map(challenge_key)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))
    }
}

/// A verified new credential, ready to store.
#[derive(Debug)]
pub struct NewCredential {
    /// The credential id, base64url.
    pub id: String,
    /// Transport names.
    pub transports: Vec<String>,
    /// Its public key and fixed state, encoded.
    pub public_key: Vec<u8>,
    /// Its changing state, encoded.
    pub state: Vec<u8>,
    /// Its first signature counter.
    pub sign_count: u32,
    /// Whether it may be synced to other devices.
    pub backup_eligible: bool,
}

/// Verifies a registration against the ceremony's `state` (challenge, origin, relying
/// party, user verification, attestation format and signature).
pub fn finish_registration(
    relying_party: &RelyingParty,
    state: &[u8],
    response: &RegistrationResponse,
) -> Result<NewCredential, PasskeyError> {
    let server = RegistrationServerState::<USER_HANDLE_LEN>::decode(state)
        .map_err(|error| PasskeyError::State(error.to_string()))?;
    let options = RegistrationVerificationOptions::<'_, '_, String, String> {
        allowed_origins: &relying_party.origins,
        ..RegistrationVerificationOptions::default()
    };
    let credential = server
        .verify(&relying_party.id, &response.0, &options)
        .map_err(|error| PasskeyError::Refused(error.to_string()))?;
    let dynamic = credential.dynamic_state();
    Ok(NewCredential {
        id: URL_SAFE_NO_PAD.encode(credential.id().as_ref()),
        transports: transport_names(credential.transports()),
        public_key: credential
            .static_state()
            .encode()
            .map_err(|error| PasskeyError::State(error.to_string()))?,
        state: encode_dynamic(dynamic)?,
        sign_count: dynamic.sign_count,
        backup_eligible: !matches!(dynamic.backup, Backup::NotEligible),
    })
}

fn encode_dynamic(state: DynamicState) -> Result<Vec<u8>, PasskeyError> {
    state
        .encode()
        .map(|bytes| bytes.to_vec())
        .map_err(|error| PasskeyError::State(format!("{error:?}")))
}

/// Starts a sign-in with a discoverable credential: no username, user verification
/// required.
pub fn start_sign_in(relying_party: &RelyingParty) -> Result<Started, PasskeyError> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&relying_party.id)
        .start_ceremony()
        .map_err(|error| PasskeyError::State(error.to_string()))?;
    started(&server, &client)
}

/// Starts a second-factor check with the account's `passkeys` (user presence required,
/// verification preferred; the password was the other factor).
pub fn start_second_factor(
    relying_party: &RelyingParty,
    passkeys: &[Passkey],
) -> Result<Started, PasskeyError> {
    let mut allowed = AllowedCredentials::with_capacity(passkeys.len());
    for descriptor in passkeys.iter().filter_map(descriptor) {
        allowed.push(AllowedCredential::from(descriptor));
    }
    let options =
        NonDiscoverableCredentialRequestOptions::second_factor(&relying_party.id, allowed)
            .map_err(|_| PasskeyError::Refused("the account has no passkey".to_owned()))?;
    let (server, client) = options
        .start_ceremony()
        .map_err(|error| PasskeyError::State(error.to_string()))?;
    started(&server, &client)
}

/// A browser's answer to a sign-in or second-factor challenge, parsed.
#[derive(Debug)]
pub enum AssertionResponse {
    /// With a user handle (a discoverable credential).
    Discoverable(DiscoverableAuthentication<USER_HANDLE_LEN>),
    /// Perhaps without one (second factor).
    NonDiscoverable(NonDiscoverableAuthentication<USER_HANDLE_LEN>),
}

impl AssertionResponse {
    /// Parses `AuthenticationResponseJSON` of a sign-in, which must carry a user handle.
    pub fn parse_sign_in(json: &[u8]) -> Result<Self, PasskeyError> {
        DiscoverableAuthentication::from_json_relaxed(json)
            .map(Self::Discoverable)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))
    }

    /// Parses `AuthenticationResponseJSON` of a second-factor check.
    pub fn parse_second_factor(json: &[u8]) -> Result<Self, PasskeyError> {
        NonDiscoverableAuthentication::from_json_relaxed(json)
            .map(Self::NonDiscoverable)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))
    }

    /// The challenge it answers.
    pub fn challenge(&self) -> Result<String, PasskeyError> {
        let challenge = match self {
            Self::Discoverable(response) => response.challenge_relaxed(),
            Self::NonDiscoverable(response) => response.challenge_relaxed(),
        };
        challenge
            .map(challenge_key)
            .map_err(|error| PasskeyError::Malformed(error.to_string()))
    }

    /// The credential id it names, base64url.
    pub fn credential_id(&self) -> String {
        let id = match self {
            Self::Discoverable(response) => response.raw_id(),
            Self::NonDiscoverable(response) => response.raw_id(),
        };
        URL_SAFE_NO_PAD.encode(id.as_ref())
    }
}

/// What a verified assertion changed.
#[derive(Debug)]
pub struct VerifiedUse {
    /// The passkey's new changing state, encoded.
    pub state: Vec<u8>,
    /// Its new signature counter.
    pub sign_count: u32,
}

/// Verifies an assertion by `passkey` (which must belong to `response`'s credential id)
/// against the ceremony's `state`: challenge, origin, relying party, user handle (the
/// passkey's account), signature, and a signature counter that increased (unless the
/// authenticator keeps none).
pub fn verify_assertion(
    relying_party: &RelyingParty,
    state: &[u8],
    response: &AssertionResponse,
    passkey: &Passkey,
) -> Result<VerifiedUse, PasskeyError> {
    let corrupt = |what: &str| PasskeyError::State(format!("stored passkey {what}"));
    let id_bytes = URL_SAFE_NO_PAD
        .decode(&passkey.id)
        .map_err(|_| corrupt("id"))?;
    let id = CredentialId::<&[u8]>::decode(id_bytes.as_slice()).map_err(|_| corrupt("id"))?;
    let handle = handle_of(&passkey.account);
    type StoredKey = CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;
    let static_state = StaticState::<StoredKey>::decode(passkey.public_key.as_slice())
        .map_err(|_| corrupt("public key"))?;
    let dynamic = DynamicState::decode(
        <[u8; 7]>::try_from(passkey.state.as_slice()).map_err(|_| corrupt("state"))?,
    )
    .map_err(|_| corrupt("state"))?;
    let mut credential = AuthenticatedCredential::new(id, &handle, static_state, dynamic)
        .map_err(|error| PasskeyError::State(error.to_string()))?;
    let options = AuthenticationVerificationOptions::<'_, '_, String, String> {
        allowed_origins: &relying_party.origins,
        update_uv: true,
        ..AuthenticationVerificationOptions::default()
    };
    let verified = match response {
        AssertionResponse::Discoverable(response) => {
            DiscoverableAuthenticationServerState::decode(state)
                .map_err(|error| PasskeyError::State(error.to_string()))?
                .verify(&relying_party.id, response, &mut credential, &options)
        }
        AssertionResponse::NonDiscoverable(response) => {
            NonDiscoverableAuthenticationServerState::decode(state)
                .map_err(|error| PasskeyError::State(error.to_string()))?
                .verify(&relying_party.id, response, &mut credential, &options)
        }
    };
    match verified {
        Ok(_) => {}
        Err(AuthCeremonyErr::SignatureCounter) => return Err(PasskeyError::CounterRegression),
        Err(error) => return Err(PasskeyError::Refused(error.to_string())),
    }
    let dynamic = credential.dynamic_state();
    Ok(VerifiedUse {
        state: encode_dynamic(dynamic)?,
        sign_count: dynamic.sign_count,
    })
}
