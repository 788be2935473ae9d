//! EdDSA (Ed25519) access tokens. `token` signs with the private key; the authorizer verifies
//! with public keys only. Each key's `kid` is its RFC 7638 JWK thumbprint, so it is derived
//! from the key itself and can never name the wrong key.
//!
//! Beside them: OpenID Connect id_tokens ([`id_tokens`], RS256 by default), the issuer URL ([`issuer`]), key pairs for development and tests
//! ([`keys`]) and the claims and lifetimes read from configuration ([`TokenSettings`]).

pub mod id_tokens;
pub mod issuer;
pub mod keys;
mod settings;

pub use settings::TokenSettings;

use crate::access::scopes::Scopes;
use crate::platform::config::{ConfigError, Source, required};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// The longest token the verifier looks at; ours are about 400 bytes.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Allowed clock difference between the signer and a verifier; the protected functions allow
/// the same when they check `exp` again.
pub const CLOCK_SKEW_LEEWAY_SECONDS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The id of the account the token was issued to ([`crate::identity::account_id::AccountId`]).
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Unique token id.
    pub jti: String,
    /// The user's token version when the token was issued. Logout-everywhere and a password
    /// change bump the stored version, and the protected functions refuse older tokens.
    #[serde(default)]
    pub ver: u64,
    /// How the user authenticated (RFC 8176 method values: `pwd`, later `otp`, `mfa`).
    #[serde(default)]
    pub amr: Vec<String>,
    /// When the user authenticated, seconds since the epoch: the login that started the
    /// session, not the refresh that issued this token.
    #[serde(default)]
    pub auth_time: u64,
    /// The session the token was issued in (OpenID Connect's `sid`): the id
    /// `GET /users/me/sessions` lists, so a client can tell its own session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// What the token may do: space-separated OAuth scopes (RFC 8693 section 4.2), the
    /// scopes of the account's roles or the client's grant; absent when there are none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// For a machine client's token (client-credentials grant), the client (RFC 9068 section
    /// 2.2); its `sub` is the same id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// How and when the user behind a token authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    /// RFC 8176 authentication method references.
    pub methods: Vec<String>,
    /// When the authentication happened.
    pub at: SystemTime,
    /// The session (refresh-token family) the token belongs to, if any: its `sid`.
    pub session: Option<String>,
    /// The scopes the token grants (its `scope` claim).
    pub scopes: Scopes,
    /// The relying party the token was issued to (its `client_id` claim), for a sign-in
    /// through the authorization endpoint.
    pub client: Option<String>,
}

impl Authentication {
    /// A password login at `at`, outside any session.
    pub fn password(at: SystemTime) -> Self {
        Self {
            methods: vec!["pwd".to_owned()],
            at,
            session: None,
            scopes: Scopes::none(),
            client: None,
        }
    }
}

/// A freshly signed access token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its `jti`, for logs.
    pub token_id: String,
}

/// Why a token was refused. The reason is for logs; callers only ever learn "Unauthorized".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a well-formed JWS compact token, or its header could not be read.
    #[error("malformed token")]
    Malformed,
    /// Longer than [`MAX_TOKEN_BYTES`]; not even parsed.
    #[error("token too large")]
    TooLarge,
    /// Signed with an algorithm other than EdDSA (including `none` and HMAC).
    #[error("algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The header names no `kid` or one this verifier does not know.
    #[error("unknown or missing key id")]
    UnknownKey,
    /// The header asks the verifier to fetch or trust a key or extension it names itself.
    #[error("header parameter not allowed: {0}")]
    HeaderNotAllowed(&'static str),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` has passed.
    #[error("expired")]
    Expired,
    /// `iss`, `aud` or another claim is wrong or missing.
    #[error("invalid claims: {0}")]
    InvalidClaims(String),
}

/// A key could not be loaded from its PEM.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub(crate) String);

/// The RFC 7638 SHA-256 thumbprint of an Ed25519 public key, used as its `kid`.
fn key_id(public_key: &DecodingKey) -> Result<String, KeyError> {
    Jwk::from_decoding_key(public_key, Some(Algorithm::EdDSA))
        .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
        .map_err(|_| KeyError("not an Ed25519 public key".to_owned()))
}

fn seconds_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Signs access tokens with one Ed25519 private key.
pub struct TokenIssuer {
    key: EncodingKey,
    kid: String,
    settings: TokenSettings,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer for the PKCS#8 PEM Ed25519 private key (v1 as `openssl genpkey` writes, or
    /// v2) among the PEM blocks of `private_keys_pem`; an RSA block beside it is the
    /// id_token key ([`id_tokens::IdTokenKey`]) and is left to it.
    pub fn from_pem(private_keys_pem: &str, settings: TokenSettings) -> Result<Self, KeyError> {
        let blocks =
            pem::parse_many(private_keys_pem).map_err(|error| KeyError(error.to_string()))?;
        let signing_key = blocks
            .iter()
            .filter(|block| !id_tokens::is_rsa_private_key(block))
            .map(|block| SigningKey::from_pkcs8_der(block.contents()))
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| KeyError("not a PKCS#8 PEM Ed25519 private key".to_owned()))?;
        let der = signing_key
            .to_pkcs8_der()
            .map_err(|error| KeyError(error.to_string()))?;
        let public_x = URL_SAFE_NO_PAD.encode(signing_key.verifying_key().as_bytes());
        let public_key = DecodingKey::from_ed_components(&public_x)
            .map_err(|error| KeyError(error.to_string()))?;
        Ok(Self {
            kid: key_id(&public_key)?,
            key: EncodingKey::from_ed_der(der.as_bytes()),
            settings,
        })
    }

    /// Reads `JWT_PRIVATE_KEY` (PEM) and the token settings.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let pem = required(source, "JWT_PRIVATE_KEY")?;
        let settings = TokenSettings::from_source(source)?;
        Self::from_pem(&pem, settings).map_err(|error| ConfigError::Invalid {
            var: "JWT_PRIVATE_KEY",
            reason: error.0,
        })
    }

    /// The key id this issuer puts in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The token settings this issuer signs with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Signs an access token for the account `subject` at `token_version` after a password
    /// login at `now`, valid from `now` for the configured lifetime.
    pub fn issue(
        &self,
        subject: &str,
        token_version: u64,
        now: SystemTime,
    ) -> Result<IssuedToken, KeyError> {
        self.issue_for(subject, token_version, &Authentication::password(now), now)
    }

    /// Signs an access token for the account `subject` at `token_version`, saying how and
    /// when it authenticated, valid from `now` for the configured lifetime, from the
    /// configured issuer.
    pub fn issue_for(
        &self,
        subject: &str,
        token_version: u64,
        authentication: &Authentication,
        now: SystemTime,
    ) -> Result<IssuedToken, KeyError> {
        let issuer = self.settings.issuer.clone();
        self.issue_from(&issuer, subject, token_version, authentication, now)
    }

    /// [`Self::issue_for`] with `issuer` as `iss`: [`TokenSettings::issuer_for`] the request.
    pub fn issue_from(
        &self,
        issuer: &str,
        subject: &str,
        token_version: u64,
        authentication: &Authentication,
        now: SystemTime,
    ) -> Result<IssuedToken, KeyError> {
        let none = serde_json::Map::new();
        self.issue_with_claims(issuer, subject, token_version, authentication, now, &none)
    }

    /// [`Self::issue_from`] with `added` claims beside the standard ones (a hook's; the caller
    /// keeps them off the standard names).
    pub fn issue_with_claims(
        &self,
        issuer: &str,
        subject: &str,
        token_version: u64,
        authentication: &Authentication,
        now: SystemTime,
        added: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<IssuedToken, KeyError> {
        let iat = seconds_since_epoch(now);
        let expires_in = self.settings.access_token_ttl.as_secs();
        let claims = AccessClaims {
            sub: subject.to_owned(),
            iat,
            exp: iat + expires_in,
            iss: issuer.to_owned(),
            aud: self.settings.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            ver: token_version,
            amr: authentication.methods.clone(),
            auth_time: seconds_since_epoch(authentication.at),
            sid: authentication.session.clone(),
            scope: authentication.scopes.to_string(),
            client_id: authentication.client.clone(),
        };
        if added.is_empty() {
            return self.sign(claims, expires_in);
        }
        let serde_json::Value::Object(mut all) =
            serde_json::to_value(&claims).map_err(|error| KeyError(error.to_string()))?
        else {
            return Err(KeyError("claims are not an object".to_owned()));
        };
        for (name, value) in added {
            all.entry(name.clone()).or_insert_with(|| value.clone());
        }
        Ok(IssuedToken {
            token: self.sign_claims(&all)?,
            expires_in,
            token_id: claims.jti,
        })
    }

    /// Signs an access token for the machine client `client_id`, which authenticated with
    /// its secret `secret_id`, with `scopes`, from `issuer`, valid from `now` for the
    /// configured lifetime: `sub` and `client_id` name the client, `sid` the secret (so the
    /// token dies with it), and there is no `amr` or token version.
    pub fn issue_for_client(
        &self,
        issuer: &str,
        client_id: &str,
        secret_id: &str,
        scopes: &Scopes,
        now: SystemTime,
    ) -> Result<IssuedToken, KeyError> {
        let iat = seconds_since_epoch(now);
        let expires_in = self.settings.access_token_ttl.as_secs();
        let claims = AccessClaims {
            sub: client_id.to_owned(),
            iat,
            exp: iat + expires_in,
            iss: issuer.to_owned(),
            aud: self.settings.audience.clone(),
            jti: uuid::Uuid::new_v4().to_string(),
            ver: 0,
            amr: Vec::new(),
            auth_time: iat,
            sid: Some(secret_id.to_owned()),
            scope: scopes.to_string(),
            client_id: Some(client_id.to_owned()),
        };
        self.sign(claims, expires_in)
    }

    fn sign(&self, claims: AccessClaims, expires_in: u64) -> Result<IssuedToken, KeyError> {
        let token = self.sign_claims(&claims)?;
        Ok(IssuedToken {
            token,
            expires_in,
            token_id: claims.jti,
        })
    }
}

impl TokenIssuer {
    /// Signs any claims EdDSA with this issuer's key and `kid` (an id_token of a relying
    /// party that asked for EdDSA).
    pub fn sign_claims(&self, claims: &impl Serialize) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|error| KeyError(error.to_string()))
    }
}

/// Verifies access tokens against a set of Ed25519 public keys, chosen by `kid`.
#[derive(Clone)]
pub struct TokenVerifier {
    /// In the order configured, so the JWKS lists the keys as the operator wrote them.
    keys: Vec<(String, DecodingKey)>,
    validation: Validation,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("kids", &self.kids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl TokenVerifier {
    /// A verifier for one or more concatenated SPKI PEM Ed25519 public keys. RSA blocks
    /// among them are the id_token keys: published by the JWKS, never trusted here.
    pub fn from_pem(public_keys_pem: &str, settings: &TokenSettings) -> Result<Self, KeyError> {
        let blocks: Vec<_> = pem::parse_many(public_keys_pem)
            .map_err(|error| KeyError(error.to_string()))?
            .into_iter()
            .filter(|block| !id_tokens::is_rsa_public_key(block))
            .collect();
        if blocks.is_empty() {
            return Err(KeyError("no PEM Ed25519 public key found".to_owned()));
        }
        let mut keys: Vec<(String, DecodingKey)> = Vec::new();
        for block in blocks {
            let key = DecodingKey::from_ed_pem(pem::encode(&block).as_bytes())
                .map_err(|_| KeyError("not an SPKI PEM Ed25519 public key".to_owned()))?;
            let kid = key_id(&key)?;
            if !keys.iter().any(|(known, _)| *known == kid) {
                keys.push((kid, key));
            }
        }
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_SKEW_LEEWAY_SECONDS;
        validation.validate_nbf = true;
        Ok(Self { keys, validation })
    }

    /// Reads `JWT_PUBLIC_KEY` (one or more PEM blocks) and the token settings.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let pem = required(source, "JWT_PUBLIC_KEY")?;
        let settings = TokenSettings::from_source(source)?;
        Self::from_pem(&pem, &settings).map_err(|error| ConfigError::Invalid {
            var: "JWT_PUBLIC_KEY",
            reason: error.0,
        })
    }

    /// The key ids this verifier accepts.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(kid, _)| kid.as_str())
    }

    /// The public keys as an RFC 7517 JWK Set: `kty: OKP`, `crv: Ed25519`, `alg: EdDSA`,
    /// `use: sig` and the `kid` tokens carry, in the configured order.
    pub fn jwks(&self) -> JwkSet {
        let keys = self
            .keys
            .iter()
            .filter_map(|(kid, key)| {
                let mut jwk = Jwk::from_decoding_key(key, Some(Algorithm::EdDSA)).ok()?;
                jwk.common.key_id = Some(kid.clone());
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                Some(jwk)
            })
            .collect();
        JwkSet { keys }
    }

    /// Checks the signature, algorithm, key id, `exp`, `iss` and `aud` and returns the claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        self.verify_with(token, &self.validation)
    }

    /// [`Self::verify`] expecting `issuer` as `iss` instead of the configured one (an
    /// issuer read from the request: [`TokenSettings::issuer_for`]).
    pub fn verify_from(&self, token: &str, issuer: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = self.validation.clone();
        validation.set_issuer(&[issuer]);
        self.verify_with(token, &validation)
    }

    fn verify_with(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<AccessClaims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|error| match error.kind() {
            ErrorKind::InvalidAlgorithmName | ErrorKind::UnsupportedAlgorithm => {
                TokenError::AlgorithmNotAllowed
            }
            _ => TokenError::Malformed,
        })?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        refuse_key_hints(&header)?;
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find_map(|(known, key)| (known == kid).then_some(key))
            .ok_or(TokenError::UnknownKey)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, validation)
            .map_err(|error| classify(error.kind()))?;
        Ok(data.claims)
    }
}

fn refuse_key_hints(header: &Header) -> Result<(), TokenError> {
    let hints = [
        ("jku", header.jku.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5u", header.x5u.is_some()),
        ("x5c", header.x5c.is_some()),
        ("crit", header.crit.is_some()),
    ];
    match hints.into_iter().find(|(_, present)| *present) {
        Some((name, _)) => Err(TokenError::HeaderNotAllowed(name)),
        None => Ok(()),
    }
}

fn classify(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
            TokenError::AlgorithmNotAllowed
        }
        ErrorKind::InvalidIssuer => TokenError::InvalidClaims("iss".to_owned()),
        ErrorKind::InvalidAudience => TokenError::InvalidClaims("aud".to_owned()),
        ErrorKind::MissingRequiredClaim(claim) => {
            TokenError::InvalidClaims(format!("missing {claim}"))
        }
        ErrorKind::ImmatureSignature => TokenError::InvalidClaims("nbf".to_owned()),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => TokenError::Malformed,
        other => TokenError::InvalidClaims(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests;
