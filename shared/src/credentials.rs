//! Parsed, validated sign-up credentials: a [`Username`] and a [`Password`].

use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Shortest accepted username, in characters.
pub const USERNAME_MIN_CHARS: usize = 3;
/// Longest accepted username, in characters.
pub const USERNAME_MAX_CHARS: usize = 64;
/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Why a credential was refused; the message is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// The username's length is outside the accepted range.
    #[error("username must be {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} characters long")]
    UsernameLength,
    /// The username holds a character other than letters, digits, `.`, `_` and `-`.
    #[error("username may contain only letters, digits, '.', '_' and '-'")]
    UsernameCharacters,
    /// The password's length is outside the accepted range.
    #[error("password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters long")]
    PasswordLength,
}

impl CredentialError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UsernameLength | Self::UsernameCharacters => "username",
            Self::PasswordLength => "password",
        }
    }
}

/// A username as the user typed it, plus the canonical form used for uniqueness and lookup.
///
/// Two usernames are the same account when their canonical forms are equal: the canonical
/// form is the NFKC-normalised, lower-cased name, so `Alice` and `alice` collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    display: String,
    canonical: String,
}

impl Username {
    /// Parses a raw username: 3–64 characters, each a letter, a digit, `.`, `_` or `-`.
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let display: String = raw.nfkc().collect();
        let length = display.chars().count();
        if !(USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&length) {
            return Err(CredentialError::UsernameLength);
        }
        let allowed = |c: char| c.is_alphabetic() || c.is_numeric() || matches!(c, '.' | '_' | '-');
        if !display.chars().all(allowed) {
            return Err(CredentialError::UsernameCharacters);
        }
        let canonical = display.to_lowercase().nfkc().collect();
        Ok(Self { display, canonical })
    }

    /// The name as the user chose it (NFKC-normalised), for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-insensitive key that identifies the account.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// A password that met the length rules. Its `Debug` output never shows the value.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// Accepts 8–128 characters of any kind.
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let length = raw.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&length) {
            return Err(CredentialError::PasswordLength);
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// Wraps a password presented at login without applying the sign-up rules, so that a
    /// wrong password of any length is answered like every other wrong password.
    pub fn presented(raw: &str) -> Self {
        Self(SecretString::from(raw))
    }

    /// The password bytes, for hashing only.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_within_the_rules_are_accepted() {
        for raw in [
            "bob",
            "alice.smith",
            "a_b-c.d",
            "Zoë",
            "user42",
            &"x".repeat(64),
        ] {
            assert!(Username::parse(raw).is_ok(), "{raw:?} should be accepted");
        }
    }

    #[test]
    fn usernames_outside_the_rules_are_refused_with_the_reason() {
        let cases = [
            ("ab", CredentialError::UsernameLength, "too short"),
            (&"x".repeat(65), CredentialError::UsernameLength, "too long"),
            ("", CredentialError::UsernameLength, "empty"),
            ("bob smith", CredentialError::UsernameCharacters, "space"),
            (
                "bob@example.com",
                CredentialError::UsernameCharacters,
                "at sign",
            ),
            (
                "$where",
                CredentialError::UsernameCharacters,
                "operator-like",
            ),
            ("bob\u{0}", CredentialError::UsernameCharacters, "NUL"),
        ];
        for (raw, expected, why) in cases {
            assert_eq!(Username::parse(raw), Err(expected), "{why}");
        }
    }

    #[test]
    fn usernames_differing_only_in_case_share_a_canonical_form() {
        let upper = Username::parse("Alice").unwrap();
        let lower = Username::parse("alice").unwrap();
        assert_eq!(upper.canonical(), lower.canonical());
        assert_eq!(
            upper.as_str(),
            "Alice",
            "the chosen spelling is kept for display"
        );
    }

    #[test]
    fn compatibility_forms_share_a_canonical_form() {
        let fullwidth = Username::parse("ａｌｉｃｅ").unwrap();
        assert_eq!(fullwidth.canonical(), "alice");
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(
            Username::parse("äöü").is_ok(),
            "three characters, six bytes"
        );
        assert!(
            Password::parse("ééééééé").is_err(),
            "seven characters, fourteen bytes"
        );
        assert!(Password::parse(&"é".repeat(128)).is_ok());
    }

    #[test]
    fn password_length_limits_are_enforced() {
        assert_eq!(
            Password::parse("1234567").unwrap_err(),
            CredentialError::PasswordLength
        );
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"p".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"p".repeat(129)).unwrap_err(),
            CredentialError::PasswordLength
        );
    }

    #[test]
    fn passwords_accept_any_characters() {
        assert!(Password::parse("  spaces \u{1F600} and \"quotes\" ").is_ok());
    }

    #[test]
    fn password_debug_output_hides_the_value() {
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }
}
