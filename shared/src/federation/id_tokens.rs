//! Checking an upstream provider's `id_token` (OpenID Connect Core §3.1.3.7): its signature by
//! one of the provider's published keys (asymmetric algorithms only), its issuer, its
//! audience (and `azp` when it names several), its lifetime and its `nonce`.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

/// Clock skew allowed on `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECONDS: u64 = 60;

/// What a valid `id_token` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The issuer, as the token names it.
    pub issuer: String,
    /// The subject.
    pub subject: String,
    /// The address, as asserted.
    pub email: Option<String>,
    /// Whether the provider says it verified the address (`email_verified`, a boolean or, from
    /// Apple, the string `"true"`).
    pub email_verified: bool,
    /// Microsoft's `xms_edov` (the address's domain is verified by the tenant).
    pub domain_verified: bool,
    /// The full name.
    pub name: Option<String>,
    /// The username the provider suggests.
    pub preferred_username: Option<String>,
    /// Microsoft's tenant id.
    pub tenant: Option<String>,
    /// The nonce the token carries.
    pub nonce: Option<String>,
    /// When the user signed in at the provider (`auth_time`, seconds since the epoch).
    pub auth_time: Option<u64>,
    /// When it expires (seconds since the epoch).
    pub expires_at: u64,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    iss: String,
    sub: String,
    #[serde(default)]
    aud: Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Value,
    #[serde(default)]
    xms_edov: Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    auth_time: Option<u64>,
    exp: u64,
}

/// Why a token was refused (safe to log; never the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    /// Not a JWT, or signed with an algorithm that is refused (`none`, HMAC).
    #[error("the id_token is malformed or not signed with an asymmetric algorithm")]
    Malformed,
    /// No published key has the token's `kid` (or the token names none and there are several).
    #[error("no published key of the provider matches the id_token")]
    UnknownKey,
    /// The signature, issuer, audience or lifetime is wrong.
    #[error("the id_token is not valid: {0}")]
    Invalid(String),
    /// The `nonce` is missing or not the one this sign-in sent.
    #[error("the id_token's nonce is not this sign-in's")]
    Nonce,
}

/// The key id a token names, and whether its algorithm is acceptable.
pub fn key_id(token: &str) -> Result<Option<String>, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !asymmetric(header.alg) {
        return Err(IdTokenError::Malformed);
    }
    Ok(header.kid)
}

fn asymmetric(algorithm: Algorithm) -> bool {
    !matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

/// Which issuer a token must name.
#[derive(Debug, Clone, Copy)]
pub enum ExpectedIssuer<'a> {
    /// Exactly this one.
    Exactly(&'a str),
    /// A template with `{tenantid}`, filled in with the token's own `tid` (Microsoft's
    /// multi-tenant endpoints).
    PerTenant(&'a str),
}

/// Checks `token` against `keys`, for one of the clients `audiences` (this service's client id
/// at the provider, and its native apps'), from `issuer`; with `nonce`, the token must carry
/// exactly it.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    issuer: ExpectedIssuer<'_>,
    audiences: &[&str],
    nonce: Option<&str>,
) -> Result<IdTokenClaims, IdTokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| IdTokenError::Malformed)?;
    if !asymmetric(header.alg) {
        return Err(IdTokenError::Malformed);
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or(IdTokenError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| IdTokenError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    if let ExpectedIssuer::Exactly(expected) = issuer {
        validation.set_issuer(&[expected]);
    }
    let data = jsonwebtoken::decode::<RawClaims>(token, &key, &validation)
        .map_err(|error| IdTokenError::Invalid(error.to_string()))?;
    let claims = data.claims;
    if let ExpectedIssuer::PerTenant(template) = issuer {
        let tenant = claims.tid.as_deref().unwrap_or_default();
        let tenant_ok = !tenant.is_empty()
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !tenant_ok || claims.iss != template.replace("{tenantid}", tenant) {
            return Err(IdTokenError::Invalid(
                "wrong issuer for its tenant".to_owned(),
            ));
        }
    }
    if let Value::Array(named) = &claims.aud
        && named.len() > 1
        && !claims
            .azp
            .as_deref()
            .is_some_and(|azp| audiences.contains(&azp))
    {
        return Err(IdTokenError::Invalid(
            "several audiences and another authorized party".to_owned(),
        ));
    }
    if let Some(expected) = nonce
        && claims.nonce.as_deref() != Some(expected)
    {
        return Err(IdTokenError::Nonce);
    }
    if claims.sub.is_empty() || claims.sub.len() > 255 {
        return Err(IdTokenError::Invalid("no usable subject".to_owned()));
    }
    Ok(IdTokenClaims {
        issuer: claims.iss,
        subject: claims.sub,
        email: claims.email.filter(|email| !email.is_empty()),
        email_verified: truthy(&claims.email_verified),
        domain_verified: truthy(&claims.xms_edov),
        name: claims.name.filter(|name| !name.trim().is_empty()),
        preferred_username: claims.preferred_username,
        tenant: claims.tid,
        nonce: claims.nonce,
        auth_time: claims.auth_time,
        expires_at: claims.exp,
    })
}

/// The issuer a token names, read without checking anything: only to find which provider's
/// keys to check it with.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    #[derive(Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice::<Issuer>(&bytes)
        .ok()
        .map(|claims| claims.iss)
}

/// `true`, `"true"` or `1`: providers write booleans in all three ways.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::String(text) => text == "true" || text == "1",
        Value::Number(number) => number.as_u64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::id_tokens::public_jwks;
    use crate::tokens::keys::generate_rsa;
    use jsonwebtoken::{EncodingKey, Header};
    use secrecy::ExposeSecret as _;
    use serde_json::json;

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    struct Keys {
        set: JwkSet,
        kid: String,
        signing: EncodingKey,
    }

    fn keys() -> Keys {
        let pair = generate_rsa(2048).unwrap();
        let jwks = public_jwks(&pair.public_pem).unwrap();
        Keys {
            kid: jwks[0].common.key_id.clone().unwrap(),
            set: JwkSet { keys: jwks },
            signing: EncodingKey::from_rsa_pem(pair.private_pem.expose_secret().as_bytes())
                .unwrap(),
        }
    }

    fn sign(keys: &Keys, claims: Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(keys.kid.clone());
        jsonwebtoken::encode(&header, &claims, &keys.signing).unwrap()
    }

    fn claims() -> Value {
        json!({
            "iss": "https://up.example", "sub": "u1", "aud": "client", "exp": now() + 300,
            "iat": now(), "nonce": "n1", "email": "a@example.com", "email_verified": true,
        })
    }

    #[test]
    fn a_good_token_gives_its_claims() {
        let keys = keys();
        let token = sign(&keys, claims());
        let verified = verify(
            &token,
            &keys.set,
            ExpectedIssuer::Exactly("https://up.example"),
            &["client"],
            Some("n1"),
        )
        .unwrap();
        assert_eq!(verified.subject, "u1");
        assert!(verified.email_verified);
    }

    #[test]
    fn issuer_audience_nonce_lifetime_and_signature_are_checked() {
        let keys = keys();
        let check = |claims: Value, nonce: &str| {
            verify(
                &sign(&keys, claims),
                &keys.set,
                ExpectedIssuer::Exactly("https://up.example"),
                &["client"],
                Some(nonce),
            )
        };
        let mut other_issuer = claims();
        other_issuer["iss"] = json!("https://other.example");
        assert!(matches!(
            check(other_issuer, "n1"),
            Err(IdTokenError::Invalid(_))
        ));
        let mut other_audience = claims();
        other_audience["aud"] = json!("someone-else");
        assert!(matches!(
            check(other_audience, "n1"),
            Err(IdTokenError::Invalid(_))
        ));
        let mut shared_audience = claims();
        shared_audience["aud"] = json!(["client", "someone-else"]);
        shared_audience["azp"] = json!("someone-else");
        assert!(matches!(
            check(shared_audience, "n1"),
            Err(IdTokenError::Invalid(_))
        ));
        assert_eq!(check(claims(), "n2"), Err(IdTokenError::Nonce));
        let mut expired = claims();
        expired["exp"] = json!(now() - 2 * LEEWAY_SECONDS);
        assert!(matches!(
            check(expired, "n1"),
            Err(IdTokenError::Invalid(_))
        ));
        let mut other_keys = keys_with_other_secret();
        other_keys.kid = keys.kid.clone();
        let forged = sign(&other_keys, claims());
        assert!(matches!(
            verify(
                &forged,
                &keys.set,
                ExpectedIssuer::Exactly("https://up.example"),
                &["client"],
                Some("n1")
            ),
            Err(IdTokenError::Invalid(_))
        ));
        let hmac = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"guessable").unwrap(),
        )
        .unwrap();
        assert_eq!(
            verify(
                &hmac,
                &keys.set,
                ExpectedIssuer::Exactly("https://up.example"),
                &["client"],
                None
            ),
            Err(IdTokenError::Malformed)
        );
    }

    fn keys_with_other_secret() -> Keys {
        keys()
    }

    #[test]
    fn a_tenant_issuer_is_its_own_tid_and_apple_strings_are_booleans() {
        let keys = keys();
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let mut good = claims();
        good["iss"] = json!("https://login.microsoftonline.com/t-1/v2.0");
        good["tid"] = json!("t-1");
        good["email_verified"] = json!("true");
        let verified = verify(
            &sign(&keys, good.clone()),
            &keys.set,
            ExpectedIssuer::PerTenant(template),
            &["client"],
            None,
        )
        .unwrap();
        assert_eq!(
            verified.issuer,
            "https://login.microsoftonline.com/t-1/v2.0"
        );
        assert!(verified.email_verified);
        let mut mismatched = good;
        mismatched["tid"] = json!("t-2");
        assert!(
            verify(
                &sign(&keys, mismatched),
                &keys.set,
                ExpectedIssuer::PerTenant(template),
                &["client"],
                None
            )
            .is_err()
        );
    }
}
