//! Time-based one-time passwords for the second factor: RFC 6238 with HMAC-SHA-1, 6 digits
//! and 30-second steps, what every authenticator app speaks (codes computed by `totp-rs`).
//! A code is accepted for its own step and one step either side (clock drift), and never for
//! a step at or before the last one accepted, so a code cannot be replayed within its window.

use secrecy::{ExposeSecret, SecretBox, SecretString};
use std::time::{SystemTime, UNIX_EPOCH};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Random bytes in a secret (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u16 = 1;

/// Why a secret could not be made.
#[derive(Debug, thiserror::Error)]
#[error("TOTP secret: {0}")]
pub struct TotpError(String);

/// A user's shared secret. Its bytes never reach a log (`Debug` prints nothing).
pub struct TotpSecret(SecretBox<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new secret from the operating system's random generator.
    pub fn generate() -> Result<Self, TotpError> {
        let mut bytes = vec![0_u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| TotpError(error.to_string()))?;
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// The secret from its stored bytes (after decryption).
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The secret from its base32 form (as [`Self::base32`] gives it and `otpauth://` URIs
    /// carry it); `None` when it is not base32.
    pub fn from_base32(text: &str) -> Option<Self> {
        let bytes = Secret::try_from_base32(text).ok()?.as_bytes().to_vec();
        Some(Self::from_bytes(bytes))
    }

    /// The raw bytes, for encryption before storage.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The secret in base32 (RFC 4648, no padding), as authenticator apps take it typed in.
    pub fn base32(&self) -> SecretString {
        SecretString::from(Secret::from(self.expose_bytes().to_vec()).to_base32())
    }

    /// The `otpauth://totp/…` URI authenticator apps take from a QR code, naming `issuer` and
    /// the user's `account`.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<SecretString, TotpError> {
        let totp = self
            .builder()
            .with_issuer(Some(issuer))
            .with_account_name(account)
            .build()
            .map_err(|error| TotpError(error.to_string()))?;
        let uri = totp
            .to_url()
            .map_err(|error| TotpError(error.to_string()))?;
        Ok(SecretString::from(uri))
    }

    /// The step `code` is valid for at `now`, when it is within [`SKEW_STEPS`] of the current
    /// step and later than `last_accepted` (the step of the last code accepted for this
    /// secret); `None` otherwise. Store the returned step as the new `last_accepted`.
    pub fn accept(&self, code: &str, now: SystemTime, last_accepted: Option<u64>) -> Option<u64> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let seconds = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let totp = self.totp()?;
        let current = seconds / STEP_SECONDS;
        let first = current.saturating_sub(u64::from(SKEW_STEPS));
        (first..=current + u64::from(SKEW_STEPS))
            .filter(|step| last_accepted.is_none_or(|last| *step > last))
            .find(|step| totp.generate(step * STEP_SECONDS).to_string() == code)
    }

    /// The code an authenticator app shows at `now` (for tests and tools; a server only
    /// checks codes).
    pub fn code_at(&self, now: SystemTime) -> Option<String> {
        let seconds = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Some(self.totp()?.generate(seconds).to_string())
    }

    fn builder(&self) -> Builder {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(0)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.expose_bytes().to_vec())
    }

    fn totp(&self) -> Option<Totp> {
        self.builder().build().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// RFC 6238 appendix B's SHA-1 seed.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn the_base32_form_round_trips() {
        let secret = TotpSecret::generate().unwrap();
        let again = TotpSecret::from_base32(secret.base32().expose_secret()).unwrap();
        assert_eq!(again.expose_bytes(), secret.expose_bytes());
        assert!(TotpSecret::from_base32("not base32!").is_none());
    }

    #[test]
    fn the_rfc_6238_appendix_b_sha1_vectors_are_accepted() {
        // The appendix's 8-digit values; a 6-digit code is their last six digits.
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight_digits) in vectors {
            let code = &eight_digits[2..];
            assert_eq!(
                secret.accept(code, at(time), None),
                Some(time / STEP_SECONDS),
                "T = {time}"
            );
        }
    }

    #[test]
    fn one_step_of_drift_is_accepted_two_are_not() {
        let secret = rfc_secret();
        let code = "287082"; // step 1 (T = 30..59)
        for (now, accepted) in [(0, true), (45, true), (75, true), (105, false)] {
            assert_eq!(
                secret.accept(code, at(now), None).is_some(),
                accepted,
                "at {now} s"
            );
        }
    }

    #[test]
    fn an_accepted_code_is_refused_for_the_rest_of_its_window() {
        let secret = rfc_secret();
        let step = secret.accept("287082", at(59), None).unwrap();
        assert_eq!(secret.accept("287082", at(59), Some(step)), None);
        assert_eq!(secret.accept("287082", at(75), Some(step)), None);
        assert_eq!(secret.accept("287082", at(59), Some(step - 1)), Some(step));
    }

    #[test]
    fn malformed_codes_are_refused_without_computing() {
        let secret = rfc_secret();
        for code in ["", "28708", "2870820", "28708a", "２８７０８２"] {
            assert_eq!(secret.accept(code, at(59), None), None, "{code:?}");
        }
        assert_eq!(
            secret.accept(" 287082 ", at(59), None),
            Some(1),
            "spaces around are fine"
        );
    }

    #[test]
    fn a_new_secret_is_160_random_bits_shown_in_base32_and_an_otpauth_uri() {
        let (first, second) = (
            TotpSecret::generate().unwrap(),
            TotpSecret::generate().unwrap(),
        );
        assert_eq!(first.expose_bytes().len(), SECRET_BYTES);
        assert_ne!(first.expose_bytes(), second.expose_bytes());
        let base32 = first.base32();
        assert_eq!(base32.expose_secret().len(), 32);
        let uri = first.otpauth_uri("lambda-auth", "alice").unwrap();
        let uri = uri.expose_secret();
        assert!(
            uri.starts_with("otpauth://totp/lambda-auth:alice?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", base32.expose_secret())),
            "{uri}"
        );
        assert!(uri.contains("issuer=lambda-auth"), "{uri}");
        assert_eq!(format!("{first:?}"), "TotpSecret(…)");
    }
}
