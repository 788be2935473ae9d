//! A software WebAuthn authenticator and client (1Password's `passkey-rs`) for tests: it
//! answers the JSON options our routes send with the JSON a browser would send back, keeps
//! one discoverable credential with a signature counter, and can act from any origin.

use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::rust_crypto::RustCryptoBackend;
use passkey_types::Passkey;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions};
use serde_json::Value;
use url::Url;

/// Says yes to every presence and verification check, as a user touching the key would.
struct AlwaysPresentAndVerified;

#[async_trait::async_trait]
impl UserValidationMethod for AlwaysPresentAndVerified {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification,
        })
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }
}

type SoftClient = Client<
    Option<Passkey>,
    AlwaysPresentAndVerified,
    RustCryptoBackend,
    public_suffix::PublicSuffixList,
    (),
>;

/// One authenticator holding at most one passkey, and the browser it is plugged into.
pub struct SoftAuthenticator {
    client: SoftClient,
    origin: Url,
}

impl SoftAuthenticator {
    /// An empty authenticator in a browser at `origin` (`http://localhost:…` allowed). Its
    /// credentials keep a signature counter.
    pub fn new(origin: &str) -> Self {
        let mut authenticator = Authenticator::new(
            Aaguid::new_empty(),
            None,
            AlwaysPresentAndVerified,
            RustCryptoBackend,
        );
        authenticator.set_make_credentials_with_signature_counter(true);
        Self {
            client: Client::new(authenticator).allows_insecure_localhost(true),
            origin: Url::parse(origin).expect("an origin URL"),
        }
    }

    /// The page the next ceremonies come from.
    pub fn set_origin(&mut self, origin: &str) {
        self.origin = Url::parse(origin).expect("an origin URL");
    }

    /// Answers `{"publicKey": creation options}` with a `RegistrationResponseJSON`.
    pub async fn register(&mut self, options: &Value) -> Result<Value, String> {
        let request: CredentialCreationOptions =
            serde_json::from_value(options.clone()).map_err(|error| error.to_string())?;
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(|error| format!("{error:?}"))?;
        serde_json::to_value(&created).map_err(|error| error.to_string())
    }

    /// Answers `{"publicKey": request options}` with an `AuthenticationResponseJSON`.
    pub async fn authenticate(&mut self, options: &Value) -> Result<Value, String> {
        let request: CredentialRequestOptions =
            serde_json::from_value(options.clone()).map_err(|error| error.to_string())?;
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(|error| format!("{error:?}"))?;
        serde_json::to_value(&asserted).map_err(|error| error.to_string())
    }

    /// A copy of the stored credential (its counter included), to clone the authenticator.
    pub fn credential(&self) -> Option<Passkey> {
        self.client.authenticator().store().clone()
    }

    /// Replaces the stored credential: with an older copy, the counter goes backwards.
    pub fn restore(&mut self, credential: Option<Passkey>) {
        *self.client.authenticator_mut().store_mut() = credential;
    }
}
