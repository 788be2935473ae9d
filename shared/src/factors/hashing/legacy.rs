//! The password hashes of the FastAPI tutorial app (passlib's `sha256_crypt`, and `md5_crypt`
//! from its fallback scheme), verified so its users can log in once and be upgraded to
//! argon2id. Nothing new is ever hashed this way.

/// A stored hash format this project can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashFormat {
    /// `$argon2id$…`: ours.
    Argon2id,
    /// `$5$[rounds=N$]salt$hash`: SHA-256-crypt, as passlib's `sha256_crypt` writes it.
    Sha256Crypt,
    /// `$1$salt$hash`: MD5-crypt.
    Md5Crypt,
    /// Anything else.
    Unknown,
}

impl HashFormat {
    /// The format of a stored hash string.
    pub fn of(hash: &str) -> Self {
        if hash.starts_with("$argon2id$") {
            Self::Argon2id
        } else if hash.starts_with("$5$") {
            Self::Sha256Crypt
        } else if hash.starts_with("$1$") {
            Self::Md5Crypt
        } else {
            Self::Unknown
        }
    }

    /// Whether a successful login should replace the hash with argon2id.
    pub fn is_legacy(self) -> bool {
        matches!(self, Self::Sha256Crypt | Self::Md5Crypt)
    }
}

/// Whether `password` matches a legacy `hash` (`None` when `hash` is not a legacy format).
pub(super) fn verify(password: &[u8], hash: &str) -> Option<bool> {
    match HashFormat::of(hash) {
        HashFormat::Sha256Crypt => Some(pwhash::sha256_crypt::verify(password, hash)),
        HashFormat::Md5Crypt => Some(pwhash::md5_crypt::verify(password, hash)),
        HashFormat::Argon2id | HashFormat::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by passlib, as the FastAPI app stores them.
    const SHA256: &str =
        "$5$rounds=535000$JuAZ6X4/60L9KkQ4$.kIFE7QvsIhmHDEMKWERG8cebH.8/EBhjPveVZA/FZ0";
    const MD5: &str = "$1$PKNMEx3F$2qW0ghmi/3gyYx69ifb0l/";

    #[test]
    fn passlib_hashes_verify_their_passwords_and_no_others() {
        assert_eq!(verify(b"tutorial password 1", SHA256), Some(true));
        assert_eq!(verify(b"tutorial password 2", SHA256), Some(false));
        assert_eq!(verify(b"tutorial password 2", MD5), Some(true));
        assert_eq!(verify(b"tutorial password 1", MD5), Some(false));
    }

    #[test]
    fn formats_are_told_apart_by_prefix() {
        assert_eq!(HashFormat::of(SHA256), HashFormat::Sha256Crypt);
        assert_eq!(HashFormat::of(MD5), HashFormat::Md5Crypt);
        assert_eq!(
            HashFormat::of("$argon2id$v=19$m=19456,t=2,p=1$x$y"),
            HashFormat::Argon2id
        );
        assert_eq!(HashFormat::of("$6$salt$hash"), HashFormat::Unknown);
        assert_eq!(
            verify(b"x", "$6$salt$hash"),
            None,
            "sha512_crypt is not accepted"
        );
        assert!(HashFormat::Sha256Crypt.is_legacy() && !HashFormat::Argon2id.is_legacy());
    }

    #[test]
    fn malformed_legacy_hashes_do_not_match() {
        assert_eq!(verify(b"x", "$5$"), Some(false));
        assert_eq!(verify(b"x", "$1$$"), Some(false));
    }
}
