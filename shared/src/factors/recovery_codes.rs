//! Recovery codes for a lost authenticator: ten single-use codes shown once at enrolment and
//! stored only as SHA-256 hashes salted with the account id. Each is 80 random bits written as
//! sixteen characters of Crockford's base32 in four groups (`7QK2-MXD9-TA4R-W8NP`), so a fast
//! hash is right: online, the second-factor lockout makes guessing hopeless; offline, a
//! database dump leaves 2^80 candidates per code, salted per account so no work is shared
//! between accounts.

use crate::identity::account_id::AccountId;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Codes issued at once.
pub const CODES: usize = 10;
/// Characters in a code, without the separators: 80 bits.
const LENGTH: usize = 16;
/// Characters between separators.
const GROUP: usize = 4;
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

/// [`CODES`] new codes for `account` from the operating system's random generator.
pub fn generate(account: &AccountId) -> Result<NewCodes, NoRandomness> {
    let mut codes = Vec::with_capacity(CODES);
    let mut hashes = Vec::with_capacity(CODES);
    for _ in 0..CODES {
        let code = random_code()?;
        hashes.push(hash(account, &code).ok_or(NoRandomness)?);
        codes.push(SecretString::from(code));
    }
    Ok(NewCodes { codes, hashes })
}

/// One new code of 80 random bits, formatted for display (`7QK2-MXD9-TA4R-W8NP`).
pub(crate) fn random_code() -> Result<String, NoRandomness> {
    let mut bytes = [0_u8; LENGTH];
    getrandom::fill(&mut bytes).map_err(|_| NoRandomness)?;
    let text: String = bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect();
    let groups: Vec<&str> = (0..LENGTH / GROUP)
        .map(|group| &text[group * GROUP..(group + 1) * GROUP])
        .collect();
    Ok(groups.join("-"))
}

/// What people type, normalised: case, spaces, dashes, and Crockford's look-alikes (`O` →
/// `0`, `I`/`L` → `1`). `None` when it cannot be a code (wrong length or characters).
pub(crate) fn normalise(presented: &str) -> Option<String> {
    let normal: String = presented
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    (normal.len() == LENGTH && normal.bytes().all(|b| ALPHABET.contains(&b))).then_some(normal)
}

/// The stored hash of a code `account` presents, after [`normalise`]. `None` when it cannot
/// be a code, so nothing is looked up.
pub fn hash(account: &AccountId, presented: &str) -> Option<String> {
    normalise(presented).map(|normal| {
        let mut hasher = Sha256::new();
        hasher.update(account.as_str().as_bytes());
        hasher.update(b":");
        hasher.update(normal.as_bytes());
        hasher
            .finalize()
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

    fn account(n: u8) -> AccountId {
        AccountId::parse(&format!("{n:024x}")).unwrap()
    }

    #[test]
    fn ten_distinct_codes_of_80_bits_are_made_and_only_their_hashes_kept() {
        let new = generate(&account(1)).unwrap();
        assert_eq!((new.codes.len(), new.hashes.len()), (CODES, CODES));
        let shown = lines(&new.codes);
        let distinct: std::collections::BTreeSet<&String> = shown.iter().collect();
        assert_eq!(distinct.len(), CODES);
        for (code, stored) in shown.iter().zip(&new.hashes) {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3, "{code}");
            assert_eq!(hash(&account(1), code).as_ref(), Some(stored));
            assert!(!stored.contains(&code[..4]));
        }
    }

    #[test]
    fn a_hash_is_salted_with_the_account() {
        let code = "7QK2-MXD9-T0A4-RW8N";
        assert_ne!(hash(&account(1), code), hash(&account(2), code));
    }

    #[test]
    fn what_people_type_is_normalised_and_what_cannot_be_a_code_is_refused() {
        let alice = account(1);
        let stored = hash(&alice, "7QK2-MXD9-T0A4-RW8N").unwrap();
        for typed in [
            "7qk2-mxd9-t0a4-rw8n",
            "7QK2MXD9T0A4RW8N",
            " 7QK2 MXD9 TOA4 RW8N ",
            "7QK2-MXD9-TOA4-RW8N",
        ] {
            assert_eq!(hash(&alice, typed).as_ref(), Some(&stored), "{typed:?}");
        }
        assert_eq!(
            hash(&alice, "7QK2-MXD9-T0A4-RW81"),
            hash(&alice, "7QK2-MXD9-T0A4-RW8L"),
            "L reads as 1"
        );
        for impossible in [
            "",
            "7QK2-MXD9-T0A4-RW8",
            "7QK2-MXD9-T0A4-RW8N0",
            "7QK2-MXD9-T0A4-RW8U",
            "7QK2-MXD9-T0A4-RW8!",
        ] {
            assert_eq!(hash(&alice, impossible), None, "{impossible:?}");
        }
    }
}
