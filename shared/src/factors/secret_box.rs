//! Secrets at rest (second-factor seeds): AES-256-GCM under a data key from configuration,
//! with the key's id stored beside each ciphertext, so a database dump reveals nothing and
//! the key can rotate: seal with the newest key, open with any key still listed.
//!
//! The keys are one value (a Secrets Manager secret when deployed): comma- or
//! newline-separated `key-id:base64-of-32-bytes`, the first one current.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretBox};

/// Bytes in a key (AES-256).
pub const KEY_BYTES: usize = 32;
/// Bytes in a nonce (GCM's 96 bits, random per message).
const NONCE_BYTES: usize = 12;

/// A sealed value as stored: the key id, the nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which key sealed it.
    pub key_id: String,
    /// The random nonce.
    pub nonce: Vec<u8>,
    /// The ciphertext followed by the 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// Why keys could not be read or a value not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretBoxError {
    /// The key list is empty or an entry is not `id:base64` of 32 bytes.
    #[error("data keys: {0}")]
    Keys(String),
    /// The value names a key that is not (any longer) listed.
    #[error("no data key with id {0}")]
    UnknownKey(String),
    /// The ciphertext, nonce or tag was altered, or belongs to another record.
    #[error("sealed value does not authenticate")]
    Tampered,
    /// No randomness for a nonce.
    #[error("no randomness for a nonce")]
    Randomness,
}

/// The data keys: the first seals, all open.
pub struct DataKeys {
    keys: Vec<(String, SecretBox<[u8; KEY_BYTES]>)>,
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("DataKeys").field("ids", &ids).finish()
    }
}

impl DataKeys {
    /// Parses `id:base64,id:base64…` (commas or newlines); the first key is current.
    pub fn parse(text: &str) -> Result<Self, SecretBoxError> {
        let mut keys = Vec::new();
        for entry in text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (id, encoded) = entry
                .split_once(':')
                .ok_or_else(|| SecretBoxError::Keys("an entry is not id:base64".to_owned()))?;
            let bytes = STANDARD
                .decode(encoded.trim())
                .map_err(|_| SecretBoxError::Keys(format!("key {id} is not base64")))?;
            let key: [u8; KEY_BYTES] = bytes
                .try_into()
                .map_err(|_| SecretBoxError::Keys(format!("key {id} is not {KEY_BYTES} bytes")))?;
            if id.is_empty() || keys.iter().any(|(known, _)| known == id) {
                return Err(SecretBoxError::Keys(format!(
                    "key id {id:?} is empty or repeated"
                )));
            }
            keys.push((id.to_owned(), SecretBox::new(Box::new(key))));
        }
        if keys.is_empty() {
            return Err(SecretBoxError::Keys("no key".to_owned()));
        }
        Ok(Self { keys })
    }

    /// Seals `plaintext` with the current key. `context` (say, the account id) is
    /// authenticated with it: the sealed value opens only with the same context, so it
    /// cannot be copied onto another account.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Sealed, SecretBoxError> {
        let (key_id, key) = &self.keys[0];
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| SecretBoxError::Randomness)?;
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.expose_secret()));
        let payload = Payload {
            msg: plaintext,
            aad: context,
        };
        let ciphertext = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| SecretBoxError::Tampered)?;
        Ok(Sealed {
            key_id: key_id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Opens `sealed` with the key it names, given the `context` it was sealed with.
    pub fn open(&self, sealed: &Sealed, context: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| SecretBoxError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != NONCE_BYTES {
            return Err(SecretBoxError::Tampered);
        }
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key.expose_secret()));
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: context,
        };
        cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), payload)
            .map_err(|_| SecretBoxError::Tampered)
    }

    /// Whether `sealed` was sealed with a key other than the current one (re-seal it).
    pub fn is_stale(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.keys[0].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        STANDARD.encode([byte; KEY_BYTES])
    }

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_context_and_reveals_nothing() {
        let keys = DataKeys::parse(&format!("k1:{}", key(7))).unwrap();
        let secret = b"12345678901234567890";
        let sealed = keys.seal(secret, b"account-1").unwrap();
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.windows(secret.len()).any(|w| w == secret));
        assert_eq!(keys.open(&sealed, b"account-1").unwrap(), secret);
        assert_eq!(
            keys.open(&sealed, b"account-2"),
            Err(SecretBoxError::Tampered)
        );
        let mut altered = sealed.clone();
        altered.ciphertext[0] ^= 1;
        assert_eq!(
            keys.open(&altered, b"account-1"),
            Err(SecretBoxError::Tampered)
        );
        let again = keys.seal(secret, b"account-1").unwrap();
        assert_ne!(again.nonce, sealed.nonce, "a fresh nonce each time");
    }

    #[test]
    fn rotation_seals_with_the_new_key_and_still_opens_the_old() {
        let old = DataKeys::parse(&format!("k1:{}", key(1))).unwrap();
        let sealed = old.seal(b"seed", b"a").unwrap();
        let rotated = DataKeys::parse(&format!("k2:{}\nk1:{}", key(2), key(1))).unwrap();
        assert_eq!(rotated.open(&sealed, b"a").unwrap(), b"seed");
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal(b"seed", b"a").unwrap();
        assert_eq!(resealed.key_id, "k2");
        assert!(!rotated.is_stale(&resealed));
        let retired = DataKeys::parse(&format!("k2:{}", key(2))).unwrap();
        assert_eq!(
            retired.open(&sealed, b"a"),
            Err(SecretBoxError::UnknownKey("k1".to_owned()))
        );
    }

    #[test]
    fn malformed_key_lists_are_refused_and_never_printed() {
        for text in [
            "",
            "k1",
            "k1:not base64!",
            &format!("k1:{}", STANDARD.encode([0; 16])),
            &format!("k1:{0},k1:{0}", key(3)),
        ] {
            assert!(DataKeys::parse(text).is_err(), "{text:?}");
        }
        let keys = DataKeys::parse(&format!("k1:{}", key(9))).unwrap();
        assert_eq!(format!("{keys:?}"), r#"DataKeys { ids: ["k1"] }"#);
    }
}
