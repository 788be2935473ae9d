//! The factors that prove an account's owner: passwords ([`hashing`] with argon2id and the
//! FastAPI app's legacy hashes, [`breached_passwords`]), the second factor (TOTP codes in
//! [`totp`], [`recovery_codes`], secrets sealed at rest in [`secret_box`], the enrolments in
//! [`second_factors`], the check in [`mfa`] and pending second-factor logins in
//! [`mfa_challenges`]) and passkeys ([`passkeys`] with their WebAuthn ceremonies, the
//! ceremonies in progress in [`passkey_ceremonies`]).
//!
//! Builds on [`crate::platform`], [`crate::identity`], [`crate::access`] and
//! [`crate::tokens`].

#[cfg(feature = "breach-check")]
pub mod breached_passwords;
pub mod hashing;

#[cfg(feature = "database")]
pub mod mfa;
#[cfg(feature = "database")]
pub mod mfa_challenges;
#[cfg(feature = "database")]
pub mod passkey_ceremonies;
#[cfg(feature = "database")]
pub mod passkeys;
#[cfg(feature = "database")]
pub mod recovery_codes;
#[cfg(feature = "database")]
pub mod second_factors;
#[cfg(feature = "database")]
pub mod secret_box;
#[cfg(feature = "database")]
pub mod totp;
