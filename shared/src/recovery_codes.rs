//! Recovery codes for a lost authenticator: ten single-use codes shown once at enrolment and
//! stored only as SHA-256 hashes. Each is 50 random bits written as ten characters of
//! Crockford's base32 in two groups (`7QK2M-XD9TA`), so a fast hash is right: with the
//! second-factor lockout, guessing one is hopeless, and nothing readable is stored.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Codes issued at once.
pub const CODES: usize = 10;
/// Characters in a code, without the separator.
const LENGTH: usize = 10;
/// Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or retyped survives.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A set of new codes: what the user is shown once, and what the store keeps.
#[derive(Debug)]
pub struct NewCodes {
    /// The codes, formatted for display.
    pub codes: Vec<SecretString>,
    /// Their hashes, for the store.
    pub hashes: Vec<String>,
}

/// Why no codes could be made.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for recovery codes")]
pub struct NoRandomness;

/// [`CODES`] new codes from the operating system's random generator.
pub fn generate() -> Result<NewCodes, NoRandomness> {
    let mut codes = Vec::with_capacity(CODES);
    let mut hashes = Vec::with_capacity(CODES);
    for _ in 0..CODES {
        let mut bytes = [0_u8; LENGTH];
        getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
        let text: String = bytes
            .iter()
            .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
            .collect();
        let code = format!("{}-{}", &text[..5], &text[5..]);
        hashes.push(hash(&code).ok_or(NoRandomness)?);
        codes.push(SecretString::from(code));
    }
    Ok(NewCodes { codes, hashes })
}

/// The stored hash of a presented code, after normalising what people type: case, spaces,
/// dashes, and Crockford's look-alikes (`O` → `0`, `I`/`L` → `1`). `None` when it cannot be a
/// code (wrong length or characters), so nothing is looked up.
pub fn hash(presented: &str) -> Option<String> {
    let normal: String = presented
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    let valid = normal.len() == LENGTH && normal.bytes().all(|b| ALPHABET.contains(&b));
    valid.then(|| {
        Sha256::digest(normal.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    })
}

/// The codes as one string per line, for a response body.
pub fn lines(codes: &[SecretString]) -> Vec<String> {
    codes
        .iter()
        .map(|code| code.expose_secret().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_are_made_and_only_their_hashes_kept() {
        let new = generate().unwrap();
        assert_eq!((new.codes.len(), new.hashes.len()), (CODES, CODES));
        let shown = lines(&new.codes);
        let distinct: std::collections::BTreeSet<&String> = shown.iter().collect();
        assert_eq!(distinct.len(), CODES);
        for (code, stored) in shown.iter().zip(&new.hashes) {
            assert_eq!(code.len(), 11, "{code}");
            assert_eq!(&code[5..6], "-");
            assert_eq!(hash(code).as_ref(), Some(stored));
            assert!(!stored.contains(&code[..5]));
        }
    }

    #[test]
    fn what_people_type_is_normalised_and_what_cannot_be_a_code_is_refused() {
        let stored = hash("7QK2M-XD9T0").unwrap();
        for typed in ["7qk2m-xd9t0", "7QK2MXD9T0", " 7QK2M XD9TO ", "7QK2M-XD9TO"] {
            assert_eq!(hash(typed).as_ref(), Some(&stored), "{typed:?}");
        }
        assert_eq!(hash("7QK2M-XD9T1"), hash("7QK2M-XD9TL"), "L reads as 1");
        for impossible in [
            "",
            "7QK2M-XD9T",
            "7QK2M-XD9T00",
            "7QK2M-XD9TU",
            "7QK2M-XD9T!",
        ] {
            assert_eq!(hash(impossible), None, "{impossible:?}");
        }
    }
}
