//! In-memory stores with the MongoDB stores' rules, for fast handler tests (the store
//! contract tests run the same cases against both), and a clock tests move by hand.

use crate::clock::Clock;
use crate::credentials::Username;
use crate::db::StoreError;
use crate::login_failures::{Attempt, LoginFailureStore, LoginFailures, next_claim};
use crate::products::{Product, ProductStore, sample_products};
use crate::refresh::{Exchange, RefreshRecord, RefreshTokenStore};
use crate::stores::Stores;
use crate::users::{Insertion, User, UserStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Every store in memory: the handler tests' [`Stores`]. Like the MongoDB stores, each is a
/// handle: clones share their data, so a test keeps one to look inside after a request.
#[derive(Debug, Clone, Default)]
pub struct MemoryStores {
    /// Accounts.
    pub users: MemoryUserStore,
    /// Failed-login counters.
    pub login_failures: MemoryLoginFailureStore,
    /// Refresh tokens.
    pub refresh_tokens: MemoryRefreshTokenStore,
    /// The sample catalogue.
    pub products: MemoryProductStore,
}

impl MemoryStores {
    /// Empty stores but for `users`.
    pub fn with_users(users: &MemoryUserStore) -> Self {
        Self {
            users: users.clone(),
            ..Self::default()
        }
    }
}

impl Stores for MemoryStores {
    type Users = MemoryUserStore;
    type LoginFailures = MemoryLoginFailureStore;
    type RefreshTokens = MemoryRefreshTokenStore;
    type Products = MemoryProductStore;

    fn users(&self) -> &MemoryUserStore {
        &self.users
    }
    fn login_failures(&self) -> &MemoryLoginFailureStore {
        &self.login_failures
    }
    fn refresh_tokens(&self) -> &MemoryRefreshTokenStore {
        &self.refresh_tokens
    }
    fn products(&self) -> &MemoryProductStore {
        &self.products
    }
}

/// Users in a map, keyed by canonical username, for handler tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryUserStore {
    users: Arc<Mutex<HashMap<String, User>>>,
    failing: bool,
    unreachable: bool,
}

impl MemoryUserStore {
    /// A store whose every call fails, to test the 5xx paths.
    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    /// A store that behaves like an unreachable database, to test the 503 paths.
    pub fn unreachable() -> Self {
        Self {
            unreachable: true,
            ..Self::default()
        }
    }

    /// Whether this store was made by [`MemoryUserStore::failing`].
    pub fn failing_store(&self) -> bool {
        self.failing || self.unreachable
    }

    /// A store holding one enabled account: the seeded user of the handler tests.
    pub fn with_user(username: &str, password_hash: &str, created_at: SystemTime) -> Self {
        let username = Username::parse(username).expect("a valid username");
        let user = User {
            username: username.clone(),
            password_hash: password_hash.to_owned(),
            disabled: false,
            created_at,
            token_version: 0,
        };
        let store = Self::default();
        let key = username.canonical().to_owned();
        store.users.lock().unwrap().insert(key, user);
        store
    }

    /// How many accounts are stored.
    pub fn len(&self) -> usize {
        self.users.lock().unwrap().len()
    }

    /// Whether no account is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Marks an account disabled.
    pub fn disable(&self, username: &str) {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.users
            .lock()
            .unwrap()
            .get_mut(&key)
            .expect("user exists")
            .disabled = true;
    }

    fn fail_if_asked(&self) -> Result<(), StoreError> {
        if self.failing {
            let error = mongodb::error::Error::custom("simulated failure");
            return Err(StoreError(error));
        }
        if self.unreachable {
            let refused =
                std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "simulated outage");
            return Err(StoreError(mongodb::error::Error::from(refused)));
        }
        Ok(())
    }

    /// The conditional update both hash replacements make: only if `expected` is still
    /// stored, bumping the token version by `version_bump`.
    fn replace_hash(
        &self,
        username: &Username,
        expected: &str,
        new_hash: &str,
        version_bump: u64,
    ) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        match users.get_mut(username.canonical()) {
            Some(user) if user.password_hash == expected => {
                user.password_hash = new_hash.to_owned();
                user.token_version += version_bump;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl UserStore for MemoryUserStore {
    async fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        if users.contains_key(username.canonical()) {
            return Ok(Insertion::UsernameTaken);
        }
        let user = User {
            username: username.clone(),
            password_hash: password_hash.to_owned(),
            disabled: false,
            created_at: now,
            token_version: 0,
        };
        users.insert(username.canonical().to_owned(), user);
        Ok(Insertion::Created)
    }

    async fn bump_token_version(
        &self,
        username: &Username,
        _now: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users.get_mut(username.canonical()).map(|user| {
            user.token_version += 1;
            user.token_version
        }))
    }

    async fn upgrade_hash(
        &self,
        username: &Username,
        legacy_hash: &str,
        new_hash: &str,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.replace_hash(username, legacy_hash, new_hash, 0)
    }

    async fn change_password(
        &self,
        username: &Username,
        current_hash: &str,
        new_hash: &str,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.replace_hash(username, current_hash, new_hash, 1)
    }

    async fn find(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.fail_if_asked()?;
        Ok(self
            .users
            .lock()
            .unwrap()
            .get(username.canonical())
            .cloned())
    }
}

/// Failure counters in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryLoginFailureStore {
    records: Arc<Mutex<HashMap<String, LoginFailures>>>,
}

impl MemoryLoginFailureStore {
    /// The record of `username` (raw form), for assertions.
    pub fn record_of(&self, username: &str) -> LoginFailures {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.records
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or_default()
    }
}

impl LoginFailureStore for MemoryLoginFailureStore {
    async fn record(&self, username: &Username) -> Result<LoginFailures, StoreError> {
        let records = self.records.lock().unwrap();
        Ok(records
            .get(username.canonical())
            .copied()
            .unwrap_or_default())
    }

    async fn claim_attempt(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let mut records = self.records.lock().unwrap();
        let record = records.entry(username.canonical().to_owned()).or_default();
        let (attempt, claimed) = next_claim(*record, now);
        if let Some(claimed) = claimed {
            *record = claimed;
        }
        Ok(attempt)
    }

    async fn reset(&self, username: &Username) -> Result<(), StoreError> {
        self.records.lock().unwrap().remove(username.canonical());
        Ok(())
    }
}

/// The state of a refresh token in [`MemoryRefreshTokenStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    /// Can be exchanged once.
    Active,
    /// Exchanged; presenting it again is reuse.
    Used,
    /// Revoked with its family.
    Revoked,
}

/// Refresh tokens in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryRefreshTokenStore {
    tokens: Arc<Mutex<HashMap<String, (RefreshRecord, RefreshState)>>>,
}

impl MemoryRefreshTokenStore {
    /// The state of the token whose secret is `secret`, if stored.
    pub fn state_of(&self, secret: &str) -> Option<RefreshState> {
        let hash = crate::refresh::hash(secret);
        self.tokens
            .lock()
            .unwrap()
            .get(&hash)
            .map(|(_, state)| *state)
    }

    /// How many tokens are stored.
    pub fn len(&self) -> usize {
        self.tokens.lock().unwrap().len()
    }

    /// Whether no token is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn revoke_where(&self, matches: impl Fn(&RefreshRecord) -> bool) -> u64 {
        let mut changed = 0;
        for (record, state) in self.tokens.lock().unwrap().values_mut() {
            if matches(record) && *state != RefreshState::Revoked {
                *state = RefreshState::Revoked;
                changed += 1;
            }
        }
        changed
    }
}

impl RefreshTokenStore for MemoryRefreshTokenStore {
    async fn insert(&self, record: &RefreshRecord, _now: SystemTime) -> Result<(), StoreError> {
        self.tokens
            .lock()
            .unwrap()
            .insert(record.hash.clone(), (record.clone(), RefreshState::Active));
        Ok(())
    }

    async fn exchange(&self, hash: &str, now: SystemTime) -> Result<Exchange, StoreError> {
        let mut tokens = self.tokens.lock().unwrap();
        Ok(match tokens.get_mut(hash) {
            Some((record, state)) if *state == RefreshState::Active && record.expires_at > now => {
                *state = RefreshState::Used;
                Exchange::Rotated(record.clone())
            }
            Some((record, RefreshState::Used)) => Exchange::Reused {
                family: record.family.clone(),
            },
            _ => Exchange::Invalid,
        })
    }

    async fn family_of(&self, hash: &str) -> Result<Option<String>, StoreError> {
        let tokens = self.tokens.lock().unwrap();
        Ok(tokens.get(hash).map(|(record, _)| record.family.clone()))
    }

    async fn revoke_family(&self, family: &str) -> Result<u64, StoreError> {
        Ok(self.revoke_where(|record| record.family == family))
    }

    async fn revoke_user(&self, username: &Username) -> Result<u64, StoreError> {
        Ok(self.revoke_where(|record| record.username.canonical() == username.canonical()))
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(SystemTime::now())))
    }
}

impl ManualClock {
    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// The [`Clock`] that reads this time.
    pub fn clock(&self) -> Clock {
        let time = Arc::clone(&self.0);
        Clock::from_fn(move || *time.lock().unwrap())
    }
}

/// The sample products in memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryProductStore;

impl ProductStore for MemoryProductStore {
    async fn list(&self) -> Result<Vec<Product>, StoreError> {
        Ok(sample_products())
    }
}
