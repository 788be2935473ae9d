//! Key pair generation for `make dev`, the `keygen` tool and tests: Ed25519 for access
//! tokens, RSA for id_tokens. Production keys
//! are created by the operator and stored in a secret manager, never in the repository.

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use secrecy::SecretString;

/// A new Ed25519 key pair in PEM form.
pub struct KeyPairPem {
    /// PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`).
    pub private_pem: SecretString,
    /// SPKI public key (`-----BEGIN PUBLIC KEY-----`).
    pub public_pem: String,
}

/// Generates a key pair from the operating system's random number generator.
pub fn generate_ed25519() -> Result<KeyPairPem, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|error| error.to_string())?;
    let signing_key = SigningKey::from_bytes(&seed);
    let private_pem = signing_key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| error.to_string())?;
    let public_pem = signing_key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| error.to_string())?;
    Ok(KeyPairPem {
        private_pem: SecretString::from(private_pem.as_str()),
        public_pem,
    })
}

/// Generates an RSA key pair of `bits` (at least
/// [`crate::tokens::id_tokens::MIN_RSA_BITS`]) from the operating system's random number
/// generator, for RS256 id_tokens.
pub fn generate_rsa(bits: usize) -> Result<KeyPairPem, String> {
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let key = rsa::PrivateKey::new(&mut getrandom_sys_rng::SysRng, bits)
        .map_err(|error| error.to_string())?;
    let private_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|error| error.to_string())?;
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| error.to_string())?;
    Ok(KeyPairPem {
        private_pem: SecretString::from(private_pem.as_str()),
        public_pem,
    })
}
