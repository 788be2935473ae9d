//! OpenID Connect id_tokens (Core 1.0 §2): what the token endpoint hands a relying party
//! about the user who signed in, for that relying party alone (`aud` is its client id).
//! Signed RS256 with their own RSA key, which every OpenID Connect client supports, or EdDSA
//! with the access tokens' key for a relying party that asks for it. The RSA key lives in the
//! same secrets as the Ed25519 key, as one more PEM block: its private half in
//! `JWT_PRIVATE_KEY`, its public half in `JWT_PUBLIC_KEY`, where the JWKS publishes it beside
//! the Ed25519 keys (the authorizer never accepts an access token signed with it). Its `kid`
//! is its RFC 7638 thumbprint.

use crate::platform::config::{ConfigError, Source, required};
use crate::tokens::KeyError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
pub use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::jwk::{PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rsa::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The smallest RSA modulus accepted, in bits (NIST SP 800-57: 2048 until 2030).
pub const MIN_RSA_BITS: usize = 2048;

/// The claims of an id_token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// The issuer: the same URL as the access tokens'.
    pub iss: String,
    /// The account id.
    pub sub: String,
    /// The relying party's client id.
    pub aud: String,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// When the user authenticated, seconds since the epoch.
    pub auth_time: u64,
    /// The authorization request's `nonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// How the user authenticated (RFC 8176).
    pub amr: Vec<String>,
    /// The party the token was issued to: the relying party again.
    pub azp: String,
    /// The left half of the access token's SHA-256, base64url ([`access_token_hash`]).
    pub at_hash: String,
    /// The login session at the service the sign-in belongs to.
    pub sid: String,
    /// The username, with the `profile` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// The verified address, with the `email` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether `email` was verified (always, when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
}

/// OpenID Connect Core §3.1.3.6: the base64url of the left half of the hash of the access
/// token's ASCII text, with the hash of the id_token's algorithm: SHA-256 for RS256, SHA-512
/// for EdDSA with Ed25519 (the convention OpenID Connect libraries follow).
pub fn access_token_hash(access_token: &str, eddsa: bool) -> String {
    if eddsa {
        let digest = sha2::Sha512::digest(access_token.as_bytes());
        return URL_SAFE_NO_PAD.encode(&digest[..32]);
    }
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The RSA key that signs RS256 id_tokens.
pub struct IdTokenKey {
    key: EncodingKey,
    kid: String,
}

impl std::fmt::Debug for IdTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IdTokenKey {
    /// The RSA key among the PEM blocks of `private_keys_pem` (PKCS#8, at least
    /// [`MIN_RSA_BITS`]); `None` when there is none, as in a deployment that predates
    /// id_tokens.
    pub fn from_pem(private_keys_pem: &str) -> Result<Option<Self>, KeyError> {
        let blocks =
            pem::parse_many(private_keys_pem).map_err(|error| KeyError(error.to_string()))?;
        let Some(parsed) = blocks
            .iter()
            .find_map(|block| rsa::PrivateKey::from_pkcs8_der(block.contents()).ok())
        else {
            return Ok(None);
        };
        let bits = parsed.n().bits_precision() as usize;
        if bits < MIN_RSA_BITS {
            return Err(KeyError(format!(
                "an RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"
            )));
        }
        let block = blocks
            .iter()
            .find(|block| is_rsa_private_key(block))
            .map(pem::encode)
            .unwrap_or_default();
        let key = EncodingKey::from_rsa_pem(block.as_bytes())
            .map_err(|error| KeyError(error.to_string()))?;
        let kid = Jwk::from_encoding_key(&key, Algorithm::RS256)
            .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
            .map_err(|error| KeyError(error.to_string()))?;
        Ok(Some(Self { key, kid }))
    }

    /// The RSA key in `JWT_PRIVATE_KEY`, if it holds one.
    pub fn from_source(source: &impl Source) -> Result<Option<Self>, ConfigError> {
        let pem = required(source, "JWT_PRIVATE_KEY")?;
        Self::from_pem(&pem).map_err(|error| ConfigError::Invalid {
            var: "JWT_PRIVATE_KEY",
            reason: error.0,
        })
    }

    /// The key id in every RS256 id_token's header.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Whether `block` is a PKCS#8 RSA private key.
pub fn is_rsa_private_key(block: &pem::Pem) -> bool {
    rsa::PrivateKey::from_pkcs8_der(block.contents()).is_ok()
}

/// Whether `block` is an SPKI RSA public key.
pub fn is_rsa_public_key(block: &pem::Pem) -> bool {
    rsa::PublicKey::from_public_key_der(block.contents()).is_ok()
}

/// Signs `claims` RS256 with `key`. (EdDSA id_tokens are signed by the access tokens'
/// issuer: [`crate::tokens::TokenIssuer::sign_claims`].)
pub fn sign_rs256(claims: &impl Serialize, key: &IdTokenKey) -> Result<String, KeyError> {
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &key.key).map_err(|error| KeyError(error.to_string()))
}

/// The public JWK of each SPKI RSA public key among the PEM blocks of `public_keys_pem`
/// (none, one, or two during a rotation), with `use` `sig`, `alg` `RS256` and its thumbprint
/// as `kid`. Other blocks (the Ed25519 keys) are left out.
pub fn public_jwks(public_keys_pem: &str) -> Result<Vec<Jwk>, KeyError> {
    let blocks = pem::parse_many(public_keys_pem).map_err(|error| KeyError(error.to_string()))?;
    blocks
        .iter()
        .filter(|block| is_rsa_public_key(block))
        .map(|block| {
            let text = pem::encode(block);
            let key = DecodingKey::from_rsa_pem(text.as_bytes())
                .map_err(|error| KeyError(error.to_string()))?;
            let mut jwk = Jwk::from_decoding_key(&key, Some(Algorithm::RS256))
                .map_err(|error| KeyError(error.to_string()))?;
            let kid = jwk
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|error| KeyError(error.to_string()))?;
            jwk.common.key_id = Some(kid);
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            Ok(jwk)
        })
        .collect()
}
/// [`public_jwks`] of `JWT_PUBLIC_KEY`.
pub fn public_jwks_from_source(source: &impl Source) -> Result<Vec<Jwk>, ConfigError> {
    let pem = required(source, "JWT_PUBLIC_KEY")?;
    public_jwks(&pem).map_err(|error| ConfigError::Invalid {
        var: "JWT_PUBLIC_KEY",
        reason: error.0,
    })
}

/// Checks id_tokens this provider issued when a relying party hands one back (the
/// `id_token_hint` of a logout): signed by one of the published keys (RS256 by an RSA key,
/// EdDSA by an Ed25519 key, each found by its `kid`), from this issuer. Expiry is not
/// checked: a hint is usually an old id_token.
#[derive(Clone)]
pub struct IdTokenVerifier {
    keys: Vec<(String, Algorithm, DecodingKey)>,
}

impl std::fmt::Debug for IdTokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenVerifier")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl IdTokenVerifier {
    /// A verifier for every public key among the PEM blocks of `public_keys_pem`.
    pub fn from_pem(public_keys_pem: &str) -> Result<Self, KeyError> {
        let blocks =
            pem::parse_many(public_keys_pem).map_err(|error| KeyError(error.to_string()))?;
        let mut keys = Vec::with_capacity(blocks.len());
        for block in &blocks {
            let text = pem::encode(block);
            if is_rsa_public_key(block) {
                let key = DecodingKey::from_rsa_pem(text.as_bytes())
                    .map_err(|error| KeyError(error.to_string()))?;
                let kid = Jwk::from_decoding_key(&key, Some(Algorithm::RS256))
                    .and_then(|jwk| jwk.thumbprint(ThumbprintHash::SHA256))
                    .map_err(|error| KeyError(error.to_string()))?;
                keys.push((kid, Algorithm::RS256, key));
            } else {
                let key = DecodingKey::from_ed_pem(text.as_bytes()).map_err(|_| {
                    KeyError("not an SPKI PEM Ed25519 or RSA public key".to_owned())
                })?;
                keys.push((super::key_id(&key)?, Algorithm::EdDSA, key));
            }
        }
        Ok(Self { keys })
    }

    /// The verifier for `JWT_PUBLIC_KEY`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let pem = required(source, "JWT_PUBLIC_KEY")?;
        Self::from_pem(&pem).map_err(|error| ConfigError::Invalid {
            var: "JWT_PUBLIC_KEY",
            reason: error.0,
        })
    }

    /// The claims of `token` when it is an id_token from `issuer` signed by a published key.
    pub fn verify_hint(&self, token: &str, issuer: &str) -> Option<IdTokenClaims> {
        if token.len() > crate::tokens::MAX_TOKEN_BYTES {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.jku.is_some()
            || header.jwk.is_some()
            || header.x5u.is_some()
            || header.crit.is_some()
        {
            return None;
        }
        let kid = header.kid.as_deref()?;
        let (_, algorithm, key) = self
            .keys
            .iter()
            .find(|(known, algorithm, _)| known == kid && *algorithm == header.alg)?;
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[issuer]);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["iss", "sub", "aud"]);
        jsonwebtoken::decode::<IdTokenClaims>(token, key, &validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{id_token_key, id_token_key_pems, token_pair};
    use crate::tokens::TokenIssuer;
    use jsonwebtoken::{decode, decode_header};

    fn claims() -> IdTokenClaims {
        IdTokenClaims {
            iss: "https://auth.example".to_owned(),
            sub: "0123456789abcdef01234567".to_owned(),
            aud: "rp_aaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
            exp: 4_000_000_060,
            iat: 4_000_000_000,
            auth_time: 3_999_999_990,
            nonce: Some("n-0S6_WzA2Mj".to_owned()),
            amr: vec!["pwd".to_owned()],
            azp: "rp_aaaaaaaaaaaaaaaaaaaaaaaa".to_owned(),
            at_hash: access_token_hash("token", false),
            sid: "session".to_owned(),
            preferred_username: None,
            email: None,
            email_verified: None,
        }
    }

    fn validation(algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&["rp_aaaaaaaaaaaaaaaaaaaaaaaa"]);
        validation.validate_exp = false;
        validation
    }

    #[test]
    fn an_rs256_id_token_verifies_with_the_published_key_named_by_its_kid() {
        let key = id_token_key();
        let token = sign_rs256(&claims(), &key).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        let ed_public = crate::tokens::keys::generate_ed25519().unwrap().public_pem;
        let both = format!("{ed_public}{}", id_token_key_pems().1);
        let published = public_jwks(&both).unwrap();
        assert_eq!(published.len(), 1);
        assert_eq!(header.kid.as_deref(), published[0].common.key_id.as_deref());
        assert_eq!(header.kid.as_deref(), Some(key.kid()));
        let public = DecodingKey::from_jwk(&published[0]).unwrap();
        let decoded = decode::<IdTokenClaims>(&token, &public, &validation(Algorithm::RS256));
        assert_eq!(decoded.unwrap().claims, claims());
        let other = crate::tokens::keys::generate_rsa(2048).unwrap();
        let other = DecodingKey::from_rsa_pem(other.public_pem.as_bytes()).unwrap();
        assert!(decode::<IdTokenClaims>(&token, &other, &validation(Algorithm::RS256)).is_err());
    }

    #[test]
    fn an_eddsa_id_token_is_signed_with_the_access_tokens_key() {
        let (issuer, verifier, _) = token_pair();
        let token = issuer.sign_claims(&claims()).unwrap();
        let header = decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(issuer.kid()));
        let jwks = verifier.jwks();
        let public = DecodingKey::from_jwk(&jwks.keys[0]).unwrap();
        let decoded = decode::<IdTokenClaims>(&token, &public, &validation(Algorithm::EdDSA));
        assert_eq!(
            decoded.unwrap().claims.nonce.as_deref(),
            Some("n-0S6_WzA2Mj")
        );
    }

    #[test]
    fn at_hash_is_the_left_half_of_the_sha256_in_base64url() {
        // OpenID Connect Core, Appendix A.3's access token and at_hash.
        assert_eq!(
            access_token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", false),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let eddsa = access_token_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", true);
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&eddsa).unwrap().len(),
            32,
            "half of SHA-512"
        );
    }

    #[test]
    fn the_rsa_key_is_found_beside_the_ed25519_key_and_a_small_one_is_refused() {
        let ed = crate::tokens::keys::generate_ed25519().unwrap();
        let ed_private = ed.private_pem.expose_secret();
        assert!(IdTokenKey::from_pem(ed_private).unwrap().is_none());
        assert!(public_jwks(&ed.public_pem).unwrap().is_empty());
        let rsa_private = id_token_key_pems().0;
        let both = format!("{ed_private}{rsa_private}");
        assert_eq!(
            IdTokenKey::from_pem(&both).unwrap().unwrap().kid(),
            id_token_key().kid()
        );
        let small = crate::tokens::keys::generate_rsa(1024).unwrap();
        let small = format!("{ed_private}{}", small.private_pem.expose_secret());
        let error = IdTokenKey::from_pem(&small).unwrap_err();
        assert!(error.to_string().contains("2048"), "{error}");
    }

    #[test]
    fn the_access_token_verifier_never_trusts_the_rsa_key_beside_its_own() {
        let ed = crate::tokens::keys::generate_ed25519().unwrap();
        let (rsa_private, rsa_public) = id_token_key_pems();
        let settings = crate::testing::token_settings();
        let private = format!("{rsa_private}{}", ed.private_pem.expose_secret());
        let issuer = TokenIssuer::from_pem(&private, settings.clone()).unwrap();
        let public = format!("{rsa_public}{}", ed.public_pem);
        let verifier = crate::tokens::TokenVerifier::from_pem(&public, &settings).unwrap();
        assert_eq!(verifier.kids().collect::<Vec<_>>(), [issuer.kid()]);
        let now = std::time::SystemTime::now();
        let genuine = issuer.issue("0123456789abcdef01234567", 0, now).unwrap();
        let claims = verifier.verify(&genuine.token).unwrap();
        let key = id_token_key();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid().to_owned());
        let forged = jsonwebtoken::encode(&header, &claims, &key.key).unwrap();
        assert!(verifier.verify(&forged).is_err());
    }

    #[test]
    fn a_hint_verifies_when_signed_by_a_published_key_even_expired_and_never_from_elsewhere() {
        let (issuer, _, ed_public) = token_pair();
        let (_, rsa_public) = id_token_key_pems();
        let verifier = IdTokenVerifier::from_pem(&format!("{ed_public}{rsa_public}")).unwrap();
        let rs256 = sign_rs256(&claims(), &id_token_key()).unwrap();
        assert_eq!(
            verifier.verify_hint(&rs256, "https://auth.example"),
            Some(claims())
        );
        let eddsa = issuer.sign_claims(&claims()).unwrap();
        assert_eq!(
            verifier.verify_hint(&eddsa, "https://auth.example"),
            Some(claims())
        );
        let mut expired = claims();
        expired.exp = 1;
        let old = sign_rs256(&expired, &id_token_key()).unwrap();
        assert!(
            verifier.verify_hint(&old, "https://auth.example").is_some(),
            "expiry is not checked"
        );
        assert_eq!(
            verifier.verify_hint(&rs256, "https://elsewhere.example"),
            None
        );
        let (stranger, _, _) = token_pair();
        let foreign = stranger.sign_claims(&claims()).unwrap();
        assert_eq!(verifier.verify_hint(&foreign, "https://auth.example"), None);
        assert_eq!(
            verifier.verify_hint("not.a.token", "https://auth.example"),
            None
        );
    }

    use secrecy::ExposeSecret as _;
}
