//! argon2id password hashing. Hashing is CPU-bound, so it runs on tokio's blocking pool and
//! never stalls the runtime that drives the database connection. Verification also accepts
//! the FastAPI app's legacy hashes ([`legacy`]), for their one-time upgrade.

pub mod legacy;

use crate::identity::credentials::Password;
use crate::platform::config::{ConfigError, Source, parsed_or};
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
    /// argon2's work area (`memory_kib`), allocated on first use and reused by every hash.
    /// A fresh allocation per hash is what the crate does by default; glibc then keeps one
    /// such block per thread arena, and a busy instance grew to hundreds of MB. Reusing it
    /// also saves faulting the pages in again on every login.
    memory: Mutex<Vec<Block>>,
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
                memory: Mutex::new(Vec::new()),
                dummy_hash: OnceLock::new(),
                verifications: AtomicU64::new(0),
            }),
        })
    }

    /// A hasher with the cost parameters of `source` (see [`HashingParams::from_source`]).
    pub fn from_source(source: &impl crate::platform::config::Source) -> Result<Self, ConfigError> {
        Self::new(HashingParams::from_source(source)?).map_err(|error| ConfigError::Invalid {
            var: "ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM",
            reason: error.to_string(),
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
    ///
    /// An empty hash (an account created through another provider, with no password) matches
    /// nothing, after the same work as a wrong password.
    pub async fn verify(&self, password: &Password, hash: &str) -> Result<bool, HashingError> {
        if hash.is_empty() {
            self.verify_dummy(password).await?;
            return Ok(false);
        }
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

    /// Whether `hash` is argon2id at exactly this hasher's parameters: anything else (a
    /// FastAPI-era hash, argon2 written by argon2-cffi at its own costs) is replaced at the
    /// next successful login.
    pub fn is_current(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        let ours = self.inner.argon2.params();
        parsed.algorithm == Algorithm::Argon2id.ident()
            && parsed.version == Some(Version::V0x13.into())
            && Params::try_from(&parsed).is_ok_and(|params| {
                (params.m_cost(), params.t_cost(), params.p_cost())
                    == (ours.m_cost(), ours.t_cost(), ours.p_cost())
            })
    }

    /// Whether verifying against `hash` (an argon2 PHC string) costs less work than one
    /// verification at this hasher's parameters (memory times passes): its failures would
    /// then answer faster than an unknown name's.
    pub fn costs_less(&self, hash: &str) -> bool {
        let ours = self.inner.argon2.params();
        let work = |m: u32, t: u32| u64::from(m) * u64::from(t);
        PasswordHash::new(hash)
            .ok()
            .and_then(|parsed| Params::try_from(&parsed).ok())
            .is_some_and(|params| {
                work(params.m_cost(), params.t_cost()) < work(ours.m_cost(), ours.t_cost())
            })
    }

    /// How many argon2id verifications (real or dummy) this hasher has run, legacy checks
    /// and unreadable hashes not included: the proof, in tests, that every login path spends
    /// the same argon2id work.
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }
}

fn failure(error: impl std::fmt::Display) -> HashingError {
    HashingError(error.to_string())
}

impl Inner {
    fn hash(&self, password: &[u8]) -> Result<String, HashingError> {
        self.hash_with_salt(password, &argon2::password_hash::generate_salt())
    }

    fn hash_with_salt(&self, password: &[u8], salt: &[u8]) -> Result<String, HashingError> {
        let salt = Salt::new(salt).map_err(failure)?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(&self.argon2, password, &salt, &mut out)?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(self.argon2.params()).map_err(failure)?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(failure)?),
        };
        Ok(hash.to_string())
    }

    fn verify(&self, password: &[u8], hash: &str) -> Result<bool, HashingError> {
        if let Some(matches) = legacy::verify(password, hash) {
            return Ok(matches);
        }
        let parsed = PasswordHash::new(hash).map_err(failure)?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).map_err(failure)?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).map_err(failure)?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(failure)?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return Err(HashingError(
                "the stored hash has no salt or output".to_owned(),
            ));
        };
        let mut out = vec![0u8; expected.len()];
        self.verifications.fetch_add(1, Ordering::Relaxed);
        self.compute(
            &Argon2::new(algorithm, version, params),
            password,
            salt,
            &mut out,
        )?;
        // `Output` compares in constant time.
        Ok(Output::new(&out).map_err(failure)? == *expected)
    }

    /// Runs `argon2` in the reused work area. A hash that needs more memory than the
    /// configured cost (an old hash with other parameters), or a second hash at the same time
    /// (possible in tests, not in a Lambda instance), gets a temporary one.
    fn compute(
        &self,
        argon2: &Argon2<'_>,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashingError> {
        let needed = argon2.params().block_count();
        if needed <= self.argon2.params().block_count()
            && let Ok(mut memory) = self.memory.try_lock()
        {
            if memory.len() < needed {
                memory.resize(needed, Block::new());
            }
            return argon2
                .hash_password_into_with_memory(password, salt, out, &mut memory[..needed])
                .map_err(failure);
        }
        argon2
            .hash_password_into(password, salt, out)
            .map_err(failure)
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

    /// The RFC 9106 / reference-implementation form is what other argon2 libraries read and
    /// write: hashes made here verify there, and theirs (other costs, other variants) here.
    #[tokio::test]
    async fn hashes_are_interchangeable_with_the_argon2_crates_own_phc_code() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let hasher = hasher();
        let password = Password::parse("correct horse battery").unwrap();
        let ours = hasher.hash(&password).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );

        for (algorithm, m_cost) in [(Algorithm::Argon2id, 4096), (Algorithm::Argon2i, 64)] {
            let params = Params::new(m_cost, 3, 2, None).unwrap();
            let theirs = Argon2::new(algorithm, Version::V0x13, params)
                .hash_password(b"correct horse battery")
                .unwrap()
                .to_string();
            assert!(hasher.verify(&password, &theirs).await.unwrap(), "{theirs}");
            let wrong = Password::presented("correct horse battery?");
            assert!(!hasher.verify(&wrong, &theirs).await.unwrap());
        }
    }

    #[tokio::test]
    async fn a_hash_at_other_costs_is_not_current_and_a_lighter_one_costs_less() {
        let hasher = hasher();
        let password = Password::parse("correct horse battery").unwrap();
        let ours = hasher.hash(&password).await.unwrap();
        assert!(hasher.is_current(&ours) && !hasher.costs_less(&ours));
        let cffi = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(!hasher.is_current(cffi) && !hasher.costs_less(cffi));
        let lighter = PasswordHasher::new(HashingParams {
            memory_kib: 32,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
        .hash(&password)
        .await
        .unwrap();
        assert!(!hasher.is_current(&lighter) && hasher.costs_less(&lighter));
        assert!(!hasher.is_current("$5$rounds=535000$salt$hash"));
    }

    #[tokio::test]
    async fn the_work_area_is_allocated_once_at_the_configured_size() {
        let hasher = hasher();
        let password = Password::parse("correct horse battery").unwrap();
        for _ in 0..3 {
            let hash = hasher.hash(&password).await.unwrap();
            assert!(hasher.verify(&password, &hash).await.unwrap());
        }
        let blocks = hasher.inner.memory.lock().unwrap().len();
        assert_eq!(
            blocks,
            HashingParams::FAST_INSECURE_FOR_TESTS.memory_kib as usize
        );
    }
}

impl HashingParams {
    /// Reads `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS` and `ARGON2_PARALLELISM`; the defaults
    /// are OWASP's argon2id recommendation (19 MiB, 2 iterations, 1 lane).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let params = Self {
            memory_kib: parsed_or(source, "ARGON2_MEMORY_KIB", defaults.memory_kib)?,
            iterations: parsed_or(source, "ARGON2_ITERATIONS", defaults.iterations)?,
            parallelism: parsed_or(source, "ARGON2_PARALLELISM", defaults.parallelism)?,
        };
        params.validate().map_err(|reason| ConfigError::Invalid {
            var: "ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM",
            reason,
        })?;
        Ok(params)
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn unusable_costs_are_refused_with_the_variable_name() {
        let error = HashingParams::from_source(&[("ARGON2_MEMORY_KIB", "1")]).unwrap_err();
        assert!(error.to_string().contains("ARGON2_MEMORY_KIB"), "{error}");
    }
}
