//! argon2id password hashing. Hashing is CPU-bound, so it runs on tokio's blocking pool and
//! never stalls the runtime that drives the database connection. Verification also accepts
//! the FastAPI app's legacy hashes ([`legacy`]), for their one-time upgrade.

pub mod legacy;

use crate::credentials::Password;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingParams {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl Default for HashingParams {
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl HashingParams {
    /// Cheap parameters for tests only; production code reads [`HashingParams::from_source`].
    pub const FAST_INSECURE_FOR_TESTS: Self = Self {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    pub(crate) fn validate(&self) -> Result<(), String> {
        self.argon2_params()
            .map(|_| ())
            .map_err(|error| error.to_string())
    }

    fn argon2_params(&self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, None)
    }
}

/// A hashing failure: a bug or resource exhaustion, never the caller's fault.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

/// Hashes and verifies passwords with argon2id at fixed parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon2: Argon2<'static>,
    dummy_hash: OnceLock<String>,
    verifications: AtomicU64,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with the given cost parameters.
    pub fn new(params: HashingParams) -> Result<Self, HashingError> {
        let params = params
            .argon2_params()
            .map_err(|error| HashingError(error.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        Ok(Self {
            inner: Arc::new(Inner {
                argon2,
                dummy_hash: OnceLock::new(),
                verifications: AtomicU64::new(0),
            }),
        })
    }

    /// Hashes `password` with a fresh random salt into a PHC string (`$argon2id$v=19$...`).
    pub async fn hash(&self, password: &Password) -> Result<String, HashingError> {
        let inner = Arc::clone(&self.inner);
        let password = password.clone();
        tokio::task::spawn_blocking(move || inner.hash(password.expose_bytes()))
            .await
            .map_err(|error| HashingError(error.to_string()))?
    }

    /// Whether `password` matches the stored `hash`: an argon2id PHC string, or a legacy
    /// `$5$`/`$1$` hash (see [`legacy::HashFormat::is_legacy`]). A malformed argon2id hash or
    /// an unknown format is an error.
    pub async fn verify(&self, password: &Password, hash: &str) -> Result<bool, HashingError> {
        let inner = Arc::clone(&self.inner);
        let password = password.clone();
        let hash = hash.to_owned();
        tokio::task::spawn_blocking(move || inner.verify(password.expose_bytes(), &hash))
            .await
            .map_err(|error| HashingError(error.to_string()))?
    }

    /// Spends the same work as a real verification against a hash no password matches, so a
    /// login for an unknown user takes as long as one with a wrong password.
    pub async fn verify_dummy(&self, password: &Password) -> Result<(), HashingError> {
        let inner = Arc::clone(&self.inner);
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let dummy = match inner.dummy_hash.get() {
                Some(hash) => hash.clone(),
                None => {
                    let salt = argon2::password_hash::generate_salt();
                    let unguessable = uuid::Uuid::new_v4();
                    let hash = inner.hash_with_salt(unguessable.as_bytes(), &salt)?;
                    inner.dummy_hash.get_or_init(|| hash).clone()
                }
            };
            inner.verify(password.expose_bytes(), &dummy).map(|_| ())
        })
        .await
        .map_err(|error| HashingError(error.to_string()))?
    }

    /// How many argon2id verifications (real or dummy) this hasher has run: the proof, in
    /// tests, that every login path spends the same work.
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn hash(&self, password: &[u8]) -> Result<String, HashingError> {
        self.hash_with_salt(password, &argon2::password_hash::generate_salt())
    }

    fn hash_with_salt(&self, password: &[u8], salt: &[u8]) -> Result<String, HashingError> {
        self.argon2
            .hash_password_with_salt(password, salt)
            .map(|hash| hash.to_string())
            .map_err(|error| HashingError(error.to_string()))
    }

    fn verify(&self, password: &[u8], hash: &str) -> Result<bool, HashingError> {
        self.verifications.fetch_add(1, Ordering::Relaxed);
        if let Some(matches) = legacy::verify(password, hash) {
            return Ok(matches);
        }
        let parsed =
            argon2::PasswordHash::new(hash).map_err(|error| HashingError(error.to_string()))?;
        match self.argon2.verify_password(password, &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(error) => Err(HashingError(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_and_no_other() {
        let hasher = hasher();
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$"),
            "PHC string for argon2id: {hash}"
        );
        assert!(hasher.verify(&password, &hash).await.unwrap());
        let wrong = Password::presented("correct horse battery!");
        assert!(!hasher.verify(&wrong, &hash).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = hasher();
        let password = Password::parse("correct horse battery").unwrap();
        assert_ne!(
            hasher.hash(&password).await.unwrap(),
            hasher.hash(&password).await.unwrap()
        );
    }

    #[tokio::test]
    async fn the_default_parameters_are_owasps_argon2id_recommendation() {
        let hasher = PasswordHasher::new(HashingParams::default()).unwrap();
        let hash = hasher
            .hash(&Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let result = hasher()
            .verify(&Password::presented("whatever1"), "not-a-hash")
            .await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn dummy_verification_succeeds_without_matching_anything() {
        hasher()
            .verify_dummy(&Password::presented("anything at all"))
            .await
            .unwrap();
    }
}
