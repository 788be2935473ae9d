//! Proof Key for Code Exchange (RFC 7636), `S256` only: an authorization request carries
//! `code_challenge = BASE64URL(SHA-256(code_verifier))`, and the code is exchanged only with
//! the verifier that hashes to it. `plain` is refused (RFC 9700 §2.1.1: it protects nothing
//! against an attacker who sees the authorization request).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

/// The one challenge method accepted.
pub const S256: &str = "S256";

/// A code challenge an authorization request carried, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

/// Why a request's PKCE parameters are refused; the message is safe to show the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PkceError {
    /// No `code_challenge`: every client must use PKCE.
    #[error("code_challenge is required (PKCE with S256)")]
    MissingChallenge,
    /// A method other than `S256` (including `plain`, and none, whose default is `plain`).
    #[error("code_challenge_method must be S256")]
    Method,
    /// Not 43 characters of base64url, the length of an encoded SHA-256 digest.
    #[error("code_challenge must be the 43-character base64url SHA-256 of the verifier")]
    MalformedChallenge,
}

impl CodeChallenge {
    /// The challenge of an authorization request from its `code_challenge` and
    /// `code_challenge_method` parameters.
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Self, PkceError> {
        let challenge = challenge.ok_or(PkceError::MissingChallenge)?;
        if method != Some(S256) {
            return Err(PkceError::Method);
        }
        if challenge.len() != 43 {
            return Err(PkceError::MalformedChallenge);
        }
        let decoded = URL_SAFE_NO_PAD
            .decode(challenge)
            .map_err(|_| PkceError::MalformedChallenge)?;
        if decoded.len() != 32 {
            return Err(PkceError::MalformedChallenge);
        }
        Ok(Self(challenge.to_owned()))
    }

    /// A challenge as stored with its code.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The challenge.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` (a token request's `code_verifier`) is the one this challenge was
    /// made from: 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1) whose S256
    /// transform equals the challenge, compared in constant time.
    pub fn is_verified_by(&self, verifier: &str) -> bool {
        let well_formed = (43..=128).contains(&verifier.len())
            && verifier
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        well_formed && bool::from(s256(verifier).as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// The S256 transform: `BASE64URL(SHA-256(ASCII(verifier)))`.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn challenge() -> CodeChallenge {
        CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap()
    }

    #[test]
    fn the_rfc_example_verifies() {
        assert_eq!(s256(VERIFIER), CHALLENGE);
        assert!(challenge().is_verified_by(VERIFIER));
    }

    #[test]
    fn a_wrong_or_malformed_verifier_does_not() {
        let challenge = challenge();
        let mut wrong = VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        for verifier in [
            wrong.as_str(),
            "",
            CHALLENGE,
            &VERIFIER[..42],
            &format!("{VERIFIER} "),
            &format!("{VERIFIER}+"),
        ] {
            assert!(!challenge.is_verified_by(verifier), "{verifier:?}");
        }
        let long = "a".repeat(129);
        let at_long = CodeChallenge::from_request(Some(&s256(&long)), Some("S256")).unwrap();
        assert!(!at_long.is_verified_by(&long), "longer than 128 characters");
        let longest = "a".repeat(128);
        let at_longest = CodeChallenge::from_request(Some(&s256(&longest)), Some("S256")).unwrap();
        assert!(at_longest.is_verified_by(&longest));
    }

    #[test]
    fn plain_no_method_and_no_challenge_are_refused() {
        assert_eq!(
            CodeChallenge::from_request(Some(VERIFIER), Some("plain")),
            Err(PkceError::Method)
        );
        assert_eq!(
            CodeChallenge::from_request(Some(CHALLENGE), None),
            Err(PkceError::Method),
            "no method means plain"
        );
        assert_eq!(
            CodeChallenge::from_request(Some(CHALLENGE), Some("s256")),
            Err(PkceError::Method)
        );
        assert_eq!(
            CodeChallenge::from_request(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
    }

    #[test]
    fn a_challenge_that_is_no_encoded_digest_is_refused() {
        for text in [
            "",
            "short",
            &CHALLENGE[..42],
            &format!("{CHALLENGE}A"),
            &format!("{CHALLENGE}="),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw/cM",
        ] {
            assert_eq!(
                CodeChallenge::from_request(Some(text), Some("S256")),
                Err(PkceError::MalformedChallenge),
                "{text:?}"
            );
        }
    }
}
