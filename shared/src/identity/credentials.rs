//! Parsed, validated credentials: a [`Username`] and a [`Password`].
//!
//! Usernames are compared by their compatibility-caseless form (Unicode NFKC plus full case
//! folding), so `Alice`, `ALICE` and `ａｌｉｃｅ` are one account, and so are `straße` and
//! `STRASSE`. A new username must also be a valid RFC 8265 UsernameCaseMapped identifier
//! (no invisible, ignorable or historic code points) made of characters UTS #39 allows in
//! identifiers, from one script (or a combination UTS #39 calls highly restrictive, such as
//! Han with Hiragana and Katakana): `аlice` with a Cyrillic `а` is refused. Passwords follow NIST SP 800-63B: 8–128 characters counted after NFC
//! normalisation, no composition rules, not the username, not a common password.

mod common_passwords;

use caseless::Caseless;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Shortest accepted username, in characters.
pub const USERNAME_MIN_CHARS: usize = 3;
/// Longest accepted username, in characters.
pub const USERNAME_MAX_CHARS: usize = 64;
/// Shortest accepted password, in characters after NFC normalisation.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// Longest accepted password, in characters after NFC normalisation.
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
    /// A new username holds an invisible, ignorable, historic or otherwise restricted
    /// character (RFC 8265 IdentifierClass, UTS #39 identifier status).
    #[error(
        "username must not contain invisible, ignorable or historic characters (such as zero-width joiners or Hangul fillers)"
    )]
    UsernameRestrictedCharacter,
    /// A new username mixes scripts in a way that can imitate another name (UTS #39).
    #[error(
        "username must be written in one script: letters from different scripts (such as Latin and Cyrillic) cannot be mixed"
    )]
    UsernameMixedScripts,
    /// The password's length is outside the accepted range.
    #[error("password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters long")]
    PasswordLength,
    /// The password is the username (ignoring case and compatibility forms).
    #[error("password must not be the username")]
    PasswordIsUsername,
    /// The password is on the list of common passwords.
    #[error("password is too common: it appears in lists of leaked passwords")]
    PasswordTooCommon,
}

impl CredentialError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::UsernameLength
            | Self::UsernameCharacters
            | Self::UsernameRestrictedCharacter
            | Self::UsernameMixedScripts => "username",
            Self::PasswordLength | Self::PasswordIsUsername | Self::PasswordTooCommon => "password",
        }
    }
}

/// The compatibility-caseless form of `text` (Unicode D146, composed): equal for strings a
/// reader cannot tell apart by case or compatibility form.
pub fn caseless_key(text: &str) -> String {
    text.nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect()
}

/// A username as the user typed it, plus the canonical form used for uniqueness and lookup.
///
/// Two usernames are the same account when their canonical forms are equal; see
/// [`caseless_key`].
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
        let canonical = caseless_key(&display);
        Ok(Self { display, canonical })
    }

    /// Parses a username chosen for a new account: [`Username::parse`]'s rules, plus RFC 8265
    /// UsernameCaseMapped (IdentifierClass and the bidi rule), UTS #39's identifier status for
    /// every character, and at most UTS #39's highly restrictive mix of scripts. Logins keep
    /// using [`Username::parse`], so accounts created before these rules still sign in.
    pub fn for_new_account(raw: &str) -> Result<Self, CredentialError> {
        use precis_profiles::precis_core::profile::Profile as _;
        use unicode_security::{
            GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection,
        };
        let username = Self::parse(raw)?;
        let name = username.as_str();
        let identifier = precis_profiles::UsernameCaseMapped::new()
            .enforce(name)
            .is_ok();
        if !identifier || !name.chars().all(GeneralSecurityProfile::identifier_allowed) {
            return Err(CredentialError::UsernameRestrictedCharacter);
        }
        if !name.check_restriction_level(RestrictionLevel::HighlyRestrictive) {
            return Err(CredentialError::UsernameMixedScripts);
        }
        Ok(username)
    }

    /// A username read back from the store, trusted as it was validated when stored; the
    /// FastAPI app's documents have no canonical form yet, so it is computed.
    pub fn from_stored(display: String, canonical: Option<String>) -> Self {
        let canonical = canonical.unwrap_or_else(|| caseless_key(&display));
        Self { display, canonical }
    }

    /// The name as the user chose it (NFKC-normalised), for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The case-insensitive key that identifies the account.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The key two names that look alike share: the caseless form ([`caseless_key`]) of the
    /// name's UTS #39 skeleton, taken of the name as typed (before case folding, which would
    /// turn the capital `I` of `aIice` into an `i` that no longer looks like `l`). All-Cyrillic
    /// `сое` and Latin `coe`, `aIice` and `alice`, `jirn` and `jim` share one.
    pub fn skeleton_key(&self) -> String {
        let skeleton: String = unicode_security::skeleton(&self.display).collect();
        caseless_key(&skeleton)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// The longest password a login or a password change checks, in bytes after NFC. Longer ones
/// are refused as wrong before any hashing: legacy hashes (sha256_crypt's 535,000 rounds)
/// cost time in proportion to the length, so an unbounded one would hold a function past its
/// timeout. Far above the sign-up maximum of [`PASSWORD_MAX_CHARS`] characters.
pub const PRESENTED_PASSWORD_MAX_BYTES: usize = 1024;

/// A password, NFC-normalised so that the same characters typed on different systems hash
/// alike. Its `Debug` output never shows the value.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// Accepts 8–128 characters of any kind, counted after NFC normalisation.
    pub fn parse(raw: &str) -> Result<Self, CredentialError> {
        let normalised: String = raw.nfc().collect();
        let length = normalised.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&length) {
            return Err(CredentialError::PasswordLength);
        }
        Ok(Self(SecretString::from(normalised)))
    }

    /// The full policy for a password chosen for `username`: [`Password::parse`]'s length
    /// rule, then not the username and not a common password.
    pub fn for_new_account(raw: &str, username: &Username) -> Result<Self, CredentialError> {
        let password = Self::parse(raw)?;
        let key = caseless_key(password.0.expose_secret());
        if key == username.canonical() {
            return Err(CredentialError::PasswordIsUsername);
        }
        if common_passwords::contains(&key) {
            return Err(CredentialError::PasswordTooCommon);
        }
        Ok(password)
    }

    /// Wraps a password presented at login without applying the sign-up rules, so that a
    /// wrong password of any length is answered like every other wrong password.
    pub fn presented(raw: &str) -> Self {
        Self(SecretString::from(raw.nfc().collect::<String>()))
    }

    /// Whether this presented password is longer than any login checks
    /// ([`PRESENTED_PASSWORD_MAX_BYTES`]): such a password is wrong without hashing it.
    pub fn exceeds_presented_limit(&self) -> bool {
        self.expose_bytes().len() > PRESENTED_PASSWORD_MAX_BYTES
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
    fn names_that_look_alike_share_a_skeleton_key_and_others_do_not() {
        let key = |name: &str| Username::parse(name).unwrap().skeleton_key();
        for (one, other) in [
            ("coe", "\u{441}\u{43e}\u{435}"),
            ("alice", "aIice"),
            ("alice", "Alice"),
            ("alice", "a1ice"),
            ("jim", "jirn"),
            ("paypal", "\u{440}\u{430}\u{443}\u{440}\u{430}\u{04cf}"),
        ] {
            assert_eq!(key(one), key(other), "{one} and {other}");
        }
        for (one, other) in [("alice", "alicia"), ("bob", "rob"), ("coe", "cod")] {
            assert_ne!(key(one), key(other), "{one} and {other}");
        }
    }

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
    fn look_alike_and_invisible_names_are_refused_for_new_accounts() {
        use CredentialError::{
            UsernameCharacters, UsernameMixedScripts, UsernameRestrictedCharacter,
        };
        let cases = [
            (
                "alice\u{3164}",
                UsernameRestrictedCharacter,
                "Hangul filler",
            ),
            (
                "alice\u{FFA0}",
                UsernameRestrictedCharacter,
                "halfwidth Hangul filler",
            ),
            (
                "al\u{1160}ice",
                UsernameRestrictedCharacter,
                "conjoining jamo filler",
            ),
            (
                "al\u{115F}ice",
                UsernameRestrictedCharacter,
                "choseong filler",
            ),
            ("al\u{200D}ice", UsernameCharacters, "zero-width joiner"),
            ("al\u{200C}ice", UsernameCharacters, "zero-width non-joiner"),
            ("al\u{200B}ice", UsernameCharacters, "zero-width space"),
            ("ali\u{00AD}ce", UsernameCharacters, "soft hyphen"),
            ("alice\u{E0061}", UsernameCharacters, "tag character"),
            (
                "al\u{034F}ice",
                UsernameCharacters,
                "combining grapheme joiner",
            ),
            (
                "\u{0430}lice",
                UsernameMixedScripts,
                "Cyrillic а among Latin",
            ),
            (
                "p\u{0430}ypal",
                UsernameMixedScripts,
                "Cyrillic а inside Latin",
            ),
            ("\u{03B1}lice", UsernameMixedScripts, "Greek α among Latin"),
            ("\u{0561}lice", UsernameMixedScripts, "Armenian among Latin"),
        ];
        for (raw, expected, why) in cases {
            assert_eq!(expected.field(), "username");
            assert_eq!(
                Username::for_new_account(raw),
                Err(expected),
                "{why}: {raw:?}"
            );
        }
    }

    #[test]
    fn names_in_one_script_and_japanese_mixes_are_accepted_for_new_accounts() {
        for raw in [
            "alice",
            "alice.smith_42-x",
            "Ölçer",
            "Zoë",
            "straße",
            "Иван",
            "Ελένη",
            "山田太郎",
            "やまだ太郎",
            "田中タロウ",
            "김민준",
            "محمد",
            "דוד",
            "राहुल",
            "محمد١٢٣",
        ] {
            let parsed = Username::for_new_account(raw);
            assert!(parsed.is_ok(), "{raw:?}: {parsed:?}");
        }
    }

    #[test]
    fn names_refused_for_new_accounts_still_parse_for_login() {
        for raw in ["\u{0430}lice", "alice\u{3164}", "al\u{1160}ice"] {
            assert!(
                Username::parse(raw).is_ok(),
                "{raw:?}: an existing account signs in"
            );
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

    #[test]
    fn full_case_folding_makes_case_variants_one_account() {
        let pairs = [
            ("straße", "STRASSE"),
            ("Straße", "strasse"),
            ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("ǅemal", "džemal"),
            ("ﬃx-user", "ffix-user"),
            ("Åsa", "A\u{30a}sa"),
        ];
        for (left, right) in pairs {
            let (left, right) = (
                Username::parse(left).unwrap(),
                Username::parse(right).unwrap(),
            );
            assert_eq!(left.canonical(), right.canonical(), "{left} vs {right}");
        }
        assert_ne!(
            Username::parse("alice").unwrap().canonical(),
            Username::parse("alicia").unwrap().canonical()
        );
    }

    #[test]
    fn password_length_is_counted_after_nfc_normalisation() {
        let decomposed_four = "e\u{301}".repeat(4);
        assert_eq!(decomposed_four.chars().count(), 8, "eight code points");
        assert_eq!(
            Password::parse(&decomposed_four).unwrap_err(),
            CredentialError::PasswordLength,
            "but four characters after NFC"
        );
        let decomposed = Password::parse(&"e\u{301}".repeat(8)).unwrap();
        let composed = Password::parse(&"\u{e9}".repeat(8)).unwrap();
        assert_eq!(decomposed.expose_bytes(), composed.expose_bytes());
        assert_eq!(
            Password::presented(&"e\u{301}".repeat(8)).expose_bytes(),
            composed.expose_bytes(),
            "a login hashes the same bytes as the sign-up did"
        );
    }

    #[test]
    fn a_new_password_must_not_be_the_username_in_any_case() {
        let username = Username::parse("Sisyphus42").unwrap();
        for raw in [
            "Sisyphus42",
            "sisyphus42",
            "SISYPHUS42",
            "ｓｉｓｙｐｈｕｓ42",
        ] {
            assert_eq!(
                Password::for_new_account(raw, &username).unwrap_err(),
                CredentialError::PasswordIsUsername,
                "{raw}"
            );
        }
        assert!(Password::for_new_account("Sisyphus42!", &username).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert!(
            common_passwords::len() >= 10_000,
            "{}",
            common_passwords::len()
        );
        let username = Username::parse("someone").unwrap();
        for raw in [
            "password",
            "Password",
            "12345678",
            "TRUSTNO1x",
            "iloveyou1",
            "qwertyuiop",
        ] {
            let result = Password::for_new_account(raw, &username);
            if raw == "TRUSTNO1x" {
                assert!(result.is_ok(), "not on the list: {raw}");
            } else {
                assert_eq!(
                    result.unwrap_err(),
                    CredentialError::PasswordTooCommon,
                    "{raw}"
                );
            }
        }
        assert!(Password::for_new_account("correct horse battery staple", &username).is_ok());
    }

    #[test]
    fn every_refusal_names_the_password_field_and_its_reason() {
        for error in [
            CredentialError::PasswordIsUsername,
            CredentialError::PasswordTooCommon,
        ] {
            assert_eq!(error.field(), "password");
        }
        assert!(
            CredentialError::PasswordTooCommon
                .to_string()
                .contains("common")
        );
        assert!(
            CredentialError::PasswordIsUsername
                .to_string()
                .contains("username")
        );
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_on_any_string(raw in "\\PC*") {
            let username = Username::parse(&raw);
            let _ = Password::parse(&raw);
            let _ = Password::presented(&raw);
            if let Ok(username) = username {
                let _ = Password::for_new_account(&raw, &username);
                proptest::prop_assert_eq!(caseless_key(username.canonical()), username.canonical());
            }
        }

        #[test]
        fn accepted_passwords_respect_the_length_rule(raw in "\\PC{0,140}") {
            if let Ok(password) = Password::parse(&raw) {
                let length = std::str::from_utf8(password.expose_bytes()).unwrap().chars().count();
                proptest::prop_assert!((PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&length));
            }
        }
    }
}
