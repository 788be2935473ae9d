//! In-memory stores with the MongoDB stores' rules, for fast handler tests (the store
//! contract tests run the same cases against both), and a clock tests move by hand.

use crate::abuse::login_failures::{
    Attempt, FailureKey, LoginFailureStore, LoginFailures, SecondFactorFailures, next_claim,
};
use crate::abuse::rate_limits::RateLimitStore;
use crate::factors::mfa_challenges::{MfaChallenge, MfaChallengeStore};
use crate::factors::second_factors::{SecondFactor, SecondFactorStore};
use crate::factors::secret_box::Sealed;
use crate::identity::account_events::{
    AccountEvent, AccountEventStore, Cursor, EventKind, MAX_PAGE,
};
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::identity::users::{EmailVerification, Insertion, Revocation, User, UserStore};
use crate::mail::email_codes::{EmailCode, EmailCodeStore, Purpose};
use crate::mail::message::{Mail, MailError};
use crate::platform::clock::Clock;
use crate::platform::database::StoreError;
use crate::products::{Product, ProductStore, sample_products};
use crate::sessions::{
    ActiveSession, MAX_LISTED_SESSIONS, RETIRED_KEPT, Rotation, Session, SessionStore,
    StoredSession,
};
use crate::stores::Stores;
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
    pub sessions: MemorySessionStore,
    /// The sample catalogue.
    pub products: MemoryProductStore,
    /// Second factors.
    pub second_factors: MemorySecondFactorStore,
    /// Logins waiting for their second factor.
    pub mfa_challenges: MemoryMfaChallengeStore,
    /// Security histories.
    pub events: MemoryAccountEventStore,
    /// Codes sent by email.
    pub email_codes: MemoryEmailCodeStore,
    /// Rate-limit counters.
    pub rate_limits: MemoryRateLimitStore,
    /// Machine clients.
    pub clients: MemoryClientStore,
    /// Leases.
    pub leases: MemoryLeaseStore,
    /// Registered passkeys.
    pub passkeys: MemoryPasskeyStore,
    /// WebAuthn ceremonies in progress.
    pub passkey_ceremonies: MemoryPasskeyCeremonyStore,
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
    type Sessions = MemorySessionStore;
    type Products = MemoryProductStore;
    type SecondFactors = MemorySecondFactorStore;
    type MfaChallenges = MemoryMfaChallengeStore;
    type Events = MemoryAccountEventStore;
    type EmailCodes = MemoryEmailCodeStore;
    type RateLimits = MemoryRateLimitStore;
    type Clients = MemoryClientStore;
    type Leases = MemoryLeaseStore;
    type Passkeys = MemoryPasskeyStore;
    type PasskeyCeremonies = MemoryPasskeyCeremonyStore;

    fn users(&self) -> &MemoryUserStore {
        &self.users
    }
    fn login_failures(&self) -> &MemoryLoginFailureStore {
        &self.login_failures
    }
    fn sessions(&self) -> &MemorySessionStore {
        &self.sessions
    }
    fn products(&self) -> &MemoryProductStore {
        &self.products
    }
    fn second_factors(&self) -> &MemorySecondFactorStore {
        &self.second_factors
    }
    fn mfa_challenges(&self) -> &MemoryMfaChallengeStore {
        &self.mfa_challenges
    }
    fn events(&self) -> &MemoryAccountEventStore {
        &self.events
    }
    fn email_codes(&self) -> &MemoryEmailCodeStore {
        &self.email_codes
    }
    fn clients(&self) -> &MemoryClientStore {
        &self.clients
    }
    fn leases(&self) -> &MemoryLeaseStore {
        &self.leases
    }
    fn passkeys(&self) -> &MemoryPasskeyStore {
        &self.passkeys
    }
    fn passkey_ceremonies(&self) -> &MemoryPasskeyCeremonyStore {
        &self.passkey_ceremonies
    }
    fn rate_limits(&self) -> &MemoryRateLimitStore {
        &self.rate_limits
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

    /// A store holding one enabled account: the seeded user of the handler tests, with the
    /// id [`crate::testing::seeded_account_id`] gives its name.
    pub fn with_user(username: &str, password_hash: &str, created_at: SystemTime) -> Self {
        let id = crate::testing::seeded_account_id(username);
        let username = Username::parse(username).expect("a valid username");
        let user = User {
            id,
            username: username.clone(),
            password_hash: password_hash.to_owned(),
            disabled: false,
            created_at,
            token_version: 0,
            passkey_generation: 0,
            email: None,
            pending_email: None,
            roles: Vec::new(),
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

    /// Deletes an account, as an operator (or account deletion) would.
    pub fn delete(&self, username: &str) {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.users.lock().unwrap().remove(&key);
    }

    /// The stored account named `username`, for assertions.
    pub fn user(&self, username: &str) -> Option<User> {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.users.lock().unwrap().get(&key).cloned()
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

    /// Gives `username` the roles `roles`, as `grant-role` would (without a version bump).
    pub fn grant(&self, username: &str, roles: &[&str]) {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.users
            .lock()
            .unwrap()
            .get_mut(&key)
            .expect("user exists")
            .roles = roles.iter().map(|role| (*role).to_owned()).collect();
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

    /// The conditional update every hash replacement makes: only if `expected` is still
    /// stored and `also` holds for the account, revoking as `revocation` says (`None`: the
    /// token version stays).
    fn replace_hash(
        &self,
        id: &AccountId,
        expected: &str,
        new_hash: &str,
        revocation: Option<Revocation>,
        also: impl Fn(&User) -> bool,
    ) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        match users.values_mut().find(|user| user.id == *id) {
            Some(user) if user.password_hash == expected && also(user) => {
                user.password_hash = new_hash.to_owned();
                if let Some(revocation) = revocation {
                    revoke(user, revocation);
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// What every token-version bump does to the account, as the MongoDB store's one update.
fn revoke(user: &mut User, revocation: Revocation) {
    user.token_version += 1;
    user.pending_email = None;
    if revocation == Revocation::SessionsAndPasskeys {
        user.passkey_generation += 1;
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
        let looks_alike = username.skeleton_key();
        if users.contains_key(username.canonical())
            || users
                .values()
                .any(|user| user.username.skeleton_key() == looks_alike)
        {
            return Ok(Insertion::UsernameTaken);
        }
        let user = User {
            id: AccountId::generate(),
            username: username.clone(),
            password_hash: password_hash.to_owned(),
            disabled: false,
            created_at: now,
            token_version: 0,
            passkey_generation: 0,
            email: None,
            pending_email: None,
            roles: Vec::new(),
        };
        let id = user.id.clone();
        users.insert(username.canonical().to_owned(), user);
        Ok(Insertion::Created(id))
    }

    async fn find_by_id(&self, id: &AccountId) -> Result<Option<User>, StoreError> {
        self.fail_if_asked()?;
        let users = self.users.lock().unwrap();
        Ok(users.values().find(|user| user.id == *id).cloned())
    }

    async fn bump_token_version(
        &self,
        id: &AccountId,
        revocation: Revocation,
        _now: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users.values_mut().find(|user| user.id == *id).map(|user| {
            revoke(user, revocation);
            user.token_version
        }))
    }

    async fn set_disabled(
        &self,
        id: &AccountId,
        disabled: bool,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users
            .values_mut()
            .find(|user| user.id == *id)
            .map(|user| {
                user.disabled = disabled;
                if disabled {
                    revoke(user, Revocation::Sessions);
                }
            })
            .is_some())
    }

    async fn list(
        &self,
        query: &crate::identity::users::AccountQuery,
    ) -> Result<Vec<User>, StoreError> {
        self.fail_if_asked()?;
        let users = self.users.lock().unwrap();
        let mut listed: Vec<User> = users
            .values()
            .filter(|user| query.matches(user))
            .cloned()
            .collect();
        listed.sort_by(|a, b| a.username.canonical().cmp(b.username.canonical()));
        listed.truncate(query.limit as usize);
        Ok(listed)
    }

    async fn count_enabled_holding(&self, roles: &[String]) -> Result<u64, StoreError> {
        self.fail_if_asked()?;
        let users = self.users.lock().unwrap();
        Ok(users
            .values()
            .filter(|user| !user.disabled && user.roles.iter().any(|role| roles.contains(role)))
            .count() as u64)
    }

    async fn set_roles(
        &self,
        id: &AccountId,
        read_version: u64,
        roles: &[String],
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users
            .values_mut()
            .find(|user| user.id == *id && user.token_version == read_version)
            .map(|user| {
                user.roles = roles.to_vec();
                revoke(user, Revocation::Sessions);
            })
            .is_some())
    }

    async fn find_by_email(&self, address: &EmailAddress) -> Result<Option<User>, StoreError> {
        self.fail_if_asked()?;
        let users = self.users.lock().unwrap();
        Ok(users
            .values()
            .find(|user| {
                user.email
                    .as_ref()
                    .is_some_and(|e| e.key() == address.key())
            })
            .cloned())
    }

    async fn set_pending_email(
        &self,
        id: &AccountId,
        address: Option<&EmailAddress>,
        read_version: u64,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users
            .values_mut()
            .find(|user| user.id == *id && user.token_version == read_version)
            .map(|user| user.pending_email = address.cloned())
            .is_some())
    }

    async fn verify_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        _now: SystemTime,
    ) -> Result<EmailVerification, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        let taken = users.values().any(|user| {
            user.id != *id
                && user
                    .email
                    .as_ref()
                    .is_some_and(|e| e.key() == address.key())
        });
        let Some(user) = users.values_mut().find(|user| {
            user.id == *id
                && user.token_version == issued_under
                && user
                    .pending_email
                    .as_ref()
                    .is_some_and(|pending| pending.key() == address.key())
        }) else {
            return Ok(EmailVerification::NotPending);
        };
        if taken {
            return Ok(EmailVerification::AddressTaken);
        }
        user.pending_email = None;
        let previous = user.email.replace(address.clone());
        Ok(EmailVerification::Verified { previous })
    }

    async fn remove_email(
        &self,
        id: &AccountId,
        _now: SystemTime,
    ) -> Result<Option<EmailAddress>, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        Ok(users
            .values_mut()
            .find(|user| user.id == *id)
            .and_then(|user| {
                user.pending_email = None;
                user.email.take()
            }))
    }

    async fn delete(&self, id: &AccountId) -> Result<bool, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        let before = users.len();
        users.retain(|_, user| user.id != *id);
        Ok(users.len() < before)
    }

    async fn upgrade_hash(
        &self,
        id: &AccountId,
        _username: &Username,
        legacy_hash: &str,
        new_hash: &str,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.replace_hash(id, legacy_hash, new_hash, None, |_| true)
    }

    async fn change_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.replace_hash(
            id,
            current_hash,
            new_hash,
            Some(Revocation::Sessions),
            |_| true,
        )
    }

    async fn reset_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        address: Option<&EmailAddress>,
        issued_under: u64,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        let still_for_it = |user: &User| {
            !user.disabled
                && user.token_version == issued_under
                && address.is_none_or(|address| {
                    user.email
                        .as_ref()
                        .is_some_and(|e| e.key() == address.key())
                })
        };
        self.replace_hash(
            id,
            current_hash,
            new_hash,
            Some(Revocation::SessionsAndPasskeys),
            still_for_it,
        )
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

    /// The second-factor record of `account`, for assertions.
    pub fn second_factor_record_of(&self, account: &AccountId) -> LoginFailures {
        let key = SecondFactorFailures(account).counter_id().into_owned();
        self.records
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or_default()
    }
}

impl LoginFailureStore for MemoryLoginFailureStore {
    async fn record(&self, key: &impl FailureKey) -> Result<LoginFailures, StoreError> {
        let records = self.records.lock().unwrap();
        Ok(records
            .get(key.counter_id().as_ref())
            .copied()
            .unwrap_or_default())
    }

    async fn claim_attempt(
        &self,
        key: &impl FailureKey,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let mut records = self.records.lock().unwrap();
        let record = records.entry(key.counter_id().into_owned()).or_default();
        let (attempt, claimed) = next_claim(*record, now);
        if let Some(claimed) = claimed {
            *record = claimed;
        }
        Ok(attempt)
    }

    async fn reset(&self, key: &impl FailureKey) -> Result<(), StoreError> {
        self.records
            .lock()
            .unwrap()
            .remove(key.counter_id().as_ref());
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct MemorySession {
    session: Session,
    current: String,
    current_expires_at: SystemTime,
    retired: Vec<String>,
    revoked: bool,
    last_used_at: SystemTime,
}

/// Sessions in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemorySessionStore {
    sessions: Arc<Mutex<HashMap<String, MemorySession>>>,
}

impl MemorySessionStore {
    /// Whether the token whose secret is `secret` is its session's current token and the
    /// session is not revoked (expiry aside).
    pub fn is_current(&self, secret: &str) -> bool {
        let hash = crate::sessions::hash(secret);
        let sessions = self.sessions.lock().unwrap();
        sessions
            .values()
            .any(|stored| stored.current == hash && !stored.revoked)
    }

    /// How many sessions are stored, revoked or not.
    pub fn len(&self) -> usize {
        self.sessions.lock().unwrap().len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sessions stored, revoked or not.
    pub fn sessions(&self) -> Vec<Session> {
        let sessions = self.sessions.lock().unwrap();
        sessions
            .values()
            .map(|stored| stored.session.clone())
            .collect()
    }
}

impl SessionStore for MemorySessionStore {
    async fn start(
        &self,
        session: &Session,
        first_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<(), StoreError> {
        let stored = MemorySession {
            session: session.clone(),
            current: first_hash.to_owned(),
            current_expires_at: session.token_expiry(now, idle),
            retired: Vec::new(),
            revoked: false,
            last_used_at: now,
        };
        let mut sessions = self.sessions.lock().unwrap();
        sessions.insert(session.family.clone(), stored);
        Ok(())
    }

    async fn rotate(
        &self,
        hash: &str,
        successor_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<Rotation, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let live = |stored: &MemorySession| !stored.revoked && stored.session.expires_at > now;
        if let Some(stored) = sessions.values_mut().find(|stored| {
            stored.current == hash && live(stored) && stored.current_expires_at > now
        }) {
            stored.retired.push(stored.current.clone());
            let keep = usize::try_from(RETIRED_KEPT).unwrap();
            let excess = stored.retired.len().saturating_sub(keep);
            stored.retired.drain(..excess);
            stored.current = successor_hash.to_owned();
            stored.current_expires_at = stored.session.token_expiry(now, idle);
            stored.last_used_at = now;
            return Ok(Rotation::Rotated(stored.session.clone()));
        }
        if let Some(stored) = sessions
            .values_mut()
            .find(|stored| stored.retired.iter().any(|retired| retired == hash) && live(stored))
        {
            stored.revoked = true;
            return Ok(Rotation::Reused {
                family: stored.session.family.clone(),
                account: stored.session.account.clone(),
            });
        }
        Ok(Rotation::Invalid)
    }

    async fn family_of(&self, hash: &str) -> Result<Option<(String, AccountId)>, StoreError> {
        let sessions = self.sessions.lock().unwrap();
        Ok(sessions
            .values()
            .find(|stored| stored.current == hash || stored.retired.iter().any(|r| r == hash))
            .map(|stored| {
                (
                    stored.session.family.clone(),
                    stored.session.account.clone(),
                )
            }))
    }

    async fn revoke_family(&self, family: &str) -> Result<bool, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        Ok(match sessions.get_mut(family) {
            Some(stored) if !stored.revoked => {
                stored.revoked = true;
                true
            }
            _ => false,
        })
    }

    async fn revoke_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let mut revoked = 0;
        for stored in sessions.values_mut() {
            if stored.session.account == *account && !stored.revoked {
                stored.revoked = true;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    async fn active_sessions(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> Result<Vec<ActiveSession>, StoreError> {
        let sessions = self.sessions.lock().unwrap();
        let mut active: Vec<ActiveSession> = sessions
            .values()
            .filter(|stored| {
                stored.session.account == *account
                    && !stored.revoked
                    && stored.current_expires_at > now
                    && stored.session.expires_at > now
            })
            .map(|stored| ActiveSession {
                session: stored.session.clone(),
                last_used_at: stored.last_used_at,
            })
            .collect();
        active.sort_by_key(|active| std::cmp::Reverse(active.last_used_at));
        active.truncate(usize::try_from(MAX_LISTED_SESSIONS).unwrap_or(usize::MAX));
        Ok(active)
    }

    async fn sessions_of(&self, account: &AccountId) -> Result<Vec<StoredSession>, StoreError> {
        let sessions = self.sessions.lock().unwrap();
        let mut mine: Vec<StoredSession> = sessions
            .values()
            .filter(|stored| stored.session.account == *account)
            .map(|stored| StoredSession {
                session: stored.session.clone(),
                last_used_at: stored.last_used_at,
                revoked: stored.revoked,
            })
            .collect();
        mine.sort_by_key(|stored| std::cmp::Reverse(stored.session.authenticated_at));
        Ok(mine)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let before = sessions.len();
        sessions.retain(|_, stored| stored.session.account != *account);
        Ok(u64::try_from(before - sessions.len()).unwrap_or(u64::MAX))
    }

    async fn end_session(&self, account: &AccountId, family: &str) -> Result<bool, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        Ok(match sessions.get_mut(family) {
            Some(stored) if stored.session.account == *account && !stored.revoked => {
                stored.revoked = true;
                true
            }
            _ => false,
        })
    }
}

/// Second factors in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemorySecondFactorStore {
    factors: Arc<Mutex<HashMap<AccountId, SecondFactor>>>,
}

impl SecondFactorStore for MemorySecondFactorStore {
    async fn begin_enrolment(
        &self,
        account: &AccountId,
        secret: &Sealed,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        if factors.get(account).is_some_and(|factor| factor.confirmed) {
            return Ok(false);
        }
        let factor = SecondFactor {
            secret: secret.clone(),
            confirmed: false,
            last_step: None,
            recovery_codes: Vec::new(),
        };
        factors.insert(account.clone(), factor);
        Ok(true)
    }

    async fn find(&self, account: &AccountId) -> Result<Option<SecondFactor>, StoreError> {
        Ok(self.factors.lock().unwrap().get(account).cloned())
    }

    async fn confirm(
        &self,
        account: &AccountId,
        pending: &Sealed,
        step: u64,
        recovery_codes: &[String],
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if !factor.confirmed && factor.secret == *pending => {
                factor.confirmed = true;
                factor.last_step = Some(step);
                factor.recovery_codes = recovery_codes.to_vec();
                true
            }
            _ => false,
        })
    }

    async fn accept_step(&self, account: &AccountId, step: u64) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if factor.confirmed && factor.last_step.is_none_or(|last| last < step) => {
                factor.last_step = Some(step);
                true
            }
            _ => false,
        })
    }

    async fn spend_recovery_code(
        &self,
        account: &AccountId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        let Some(factor) = factors.get_mut(account).filter(|factor| factor.confirmed) else {
            return Ok(false);
        };
        let before = factor.recovery_codes.len();
        factor.recovery_codes.retain(|code| code != hash);
        Ok(factor.recovery_codes.len() < before)
    }

    async fn reseal(
        &self,
        account: &AccountId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if factor.secret == *old => {
                factor.secret = new.clone();
                true
            }
            _ => false,
        })
    }

    async fn replace_recovery_codes(
        &self,
        account: &AccountId,
        hashes: &[String],
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        let Some(factor) = factors.get_mut(account).filter(|factor| factor.confirmed) else {
            return Ok(false);
        };
        factor.recovery_codes = hashes.to_vec();
        Ok(true)
    }

    async fn remove(&self, account: &AccountId) -> Result<bool, StoreError> {
        Ok(self.factors.lock().unwrap().remove(account).is_some())
    }
}

/// Pending second-factor logins in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryMfaChallengeStore {
    challenges: Arc<Mutex<HashMap<String, MfaChallenge>>>,
}

impl MfaChallengeStore for MemoryMfaChallengeStore {
    async fn create(&self, hash: &str, challenge: &MfaChallenge) -> Result<(), StoreError> {
        let mut challenges = self.challenges.lock().unwrap();
        challenges.insert(hash.to_owned(), challenge.clone());
        Ok(())
    }

    async fn find(&self, hash: &str, now: SystemTime) -> Result<Option<MfaChallenge>, StoreError> {
        let challenges = self.challenges.lock().unwrap();
        Ok(challenges
            .get(hash)
            .filter(|challenge| challenge.expires_at > now)
            .cloned())
    }

    async fn pending_of(
        &self,
        account: &AccountId,
        now: SystemTime,
    ) -> Result<Vec<MfaChallenge>, StoreError> {
        let challenges = self.challenges.lock().unwrap();
        Ok(challenges
            .values()
            .filter(|challenge| challenge.account == *account && challenge.expires_at > now)
            .cloned()
            .collect())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut challenges = self.challenges.lock().unwrap();
        let before = challenges.len();
        challenges.retain(|_, challenge| challenge.account != *account);
        Ok(u64::try_from(before - challenges.len()).unwrap_or(u64::MAX))
    }

    async fn consume(&self, hash: &str, now: SystemTime) -> Result<bool, StoreError> {
        let mut challenges = self.challenges.lock().unwrap();
        let live = challenges
            .get(hash)
            .is_some_and(|challenge| challenge.expires_at > now);
        if live {
            challenges.remove(hash);
        }
        Ok(live)
    }
}

/// Codes sent by email in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryEmailCodeStore {
    codes: Arc<Mutex<HashMap<String, EmailCode>>>,
}

impl MemoryEmailCodeStore {
    /// How many codes are stored (expired ones included).
    pub fn len(&self) -> usize {
        self.codes.lock().unwrap().len()
    }

    /// Whether no code is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many codes are stored for `account`.
    pub fn codes_of(&self, account: &AccountId) -> usize {
        self.codes
            .lock()
            .unwrap()
            .values()
            .filter(|code| code.account == *account)
            .count()
    }
}

impl EmailCodeStore for MemoryEmailCodeStore {
    async fn create(&self, hash: &str, code: &EmailCode) -> Result<(), StoreError> {
        let mut codes = self.codes.lock().unwrap();
        codes.insert(hash.to_owned(), code.clone());
        Ok(())
    }

    async fn find(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let codes = self.codes.lock().unwrap();
        Ok(codes
            .get(hash)
            .filter(|code| code.purpose == purpose && code.expires_at > now)
            .cloned())
    }

    async fn redeem(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let mut codes = self.codes.lock().unwrap();
        let live = codes
            .get(hash)
            .is_some_and(|code| code.purpose == purpose && code.expires_at > now);
        Ok(if live { codes.remove(hash) } else { None })
    }

    async fn delete_account(
        &self,
        account: &AccountId,
        purpose: Option<Purpose>,
    ) -> Result<u64, StoreError> {
        let mut codes = self.codes.lock().unwrap();
        let before = codes.len();
        codes.retain(|_, code| {
            code.account != *account || purpose.is_some_and(|purpose| code.purpose != purpose)
        });
        Ok(u64::try_from(before - codes.len()).unwrap_or(u64::MAX))
    }
}

/// Rate-limit counters in a map (expired windows are never reached again: ids carry the
/// window start).
#[derive(Debug, Clone, Default)]
pub struct MemoryRateLimitStore {
    counters: Arc<Mutex<HashMap<String, u32>>>,
}

impl RateLimitStore for MemoryRateLimitStore {
    async fn increment(&self, id: &str, _expires_at: SystemTime) -> Result<u32, StoreError> {
        let mut counters = self.counters.lock().unwrap();
        let count = counters.entry(id.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        Ok(*count)
    }

    async fn refund(&self, id: &str) -> Result<(), StoreError> {
        if let Some(count) = self.counters.lock().unwrap().get_mut(id) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}

/// A mailer that keeps what it is given, for handler tests; `fail` makes every delivery
/// fail as an unreachable mail service would.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<Mail>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
    delay: Arc<Mutex<Duration>>,
}

impl RecordingMailer {
    /// Every message delivered so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap().clone()
    }

    /// Makes every later delivery fail (or succeed again).
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every later delivery take `by` first, as a slow mail service would.
    pub fn delay(&self, by: Duration) {
        *self.delay.lock().unwrap() = by;
    }

    /// Records `mail` (after the delay), or fails when asked to.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError::Sending("simulated outage".to_owned()));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// Security events in a list, with the same rules as the MongoDB store; `fail` makes every
/// write fail, to show a request does not depend on it.
#[derive(Debug, Clone, Default)]
pub struct MemoryAccountEventStore {
    events: Arc<Mutex<Vec<AccountEvent>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryAccountEventStore {
    /// The kinds recorded for `account`, oldest first.
    pub fn kinds_of(&self, account: &AccountId) -> Vec<EventKind> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|event| event.account == *account)
            .map(|event| event.kind)
            .collect()
    }

    /// Every event, oldest first.
    pub fn all(&self) -> Vec<AccountEvent> {
        self.events.lock().unwrap().clone()
    }

    /// From now on every append and amendment fails.
    pub fn fail(&self) {
        self.failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError(mongodb::error::Error::custom(
                "events store failing",
            )));
        }
        Ok(())
    }
}

impl AccountEventStore for MemoryAccountEventStore {
    async fn append(&self, event: &AccountEvent) -> Result<(), StoreError> {
        self.check()?;
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }

    async fn amend(
        &self,
        account: &AccountId,
        id: mongodb::bson::oid::ObjectId,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut events = self.events.lock().unwrap();
        if let Some(event) = events
            .iter_mut()
            .find(|event| event.id == id && event.account == *account)
        {
            event.kind = kind;
            event.locked_for_seconds = None;
        }
        Ok(())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        self.check()?;
        let mut events = self.events.lock().unwrap();
        let before = events.len();
        events.retain(|event| event.account != *account);
        Ok(u64::try_from(before - events.len()).unwrap_or(u64::MAX))
    }

    async fn page(
        &self,
        account: &AccountId,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<Vec<AccountEvent>, StoreError> {
        let events = self.events.lock().unwrap();
        let mut mine: Vec<AccountEvent> = events
            .iter()
            .filter(|event| event.account == *account)
            .cloned()
            .collect();
        let position = |event: &AccountEvent| Cursor::after(event).position();
        mine.sort_by_key(|event| std::cmp::Reverse(position(event)));
        let before = cursor.map(Cursor::position);
        let mine = mine
            .into_iter()
            .filter(|event| before.is_none_or(|before| position(event) < before));
        Ok(mine
            .take(usize::try_from(limit.min(MAX_PAGE)).unwrap_or(0))
            .collect())
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
    /// A clock standing at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(time)))
    }

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

/// Products in memory, starting with the sample products; clones share them.
#[derive(Debug, Clone)]
pub struct MemoryProductStore(Arc<Mutex<std::collections::BTreeMap<String, Product>>>);

impl Default for MemoryProductStore {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(
            sample_products()
                .into_iter()
                .map(|product| (product.id.clone(), product))
                .collect(),
        )))
    }
}

impl ProductStore for MemoryProductStore {
    async fn list(&self) -> Result<Vec<Product>, StoreError> {
        Ok(self.0.lock().unwrap().values().cloned().collect())
    }

    async fn insert(&self, product: &Product) -> Result<bool, StoreError> {
        let mut products = self.0.lock().unwrap();
        if products.contains_key(&product.id) {
            return Ok(false);
        }
        products.insert(product.id.clone(), product.clone());
        Ok(true)
    }

    async fn replace(&self, product: &Product) -> Result<bool, StoreError> {
        let mut products = self.0.lock().unwrap();
        match products.get_mut(&product.id) {
            Some(stored) => {
                *stored = product.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().remove(id).is_some())
    }
}

/// Machine clients in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryClientStore(Arc<Mutex<Vec<crate::access::clients::MachineClient>>>);

impl crate::access::clients::ClientStore for MemoryClientStore {
    async fn create(
        &self,
        client: &crate::access::clients::MachineClient,
    ) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(client.clone());
        Ok(())
    }

    async fn find(
        &self,
        id: &crate::access::clients::ClientId,
    ) -> Result<Option<crate::access::clients::MachineClient>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|client| client.id == *id)
            .cloned())
    }

    async fn list(
        &self,
        after: Option<&crate::access::clients::ClientId>,
        limit: u32,
    ) -> Result<Vec<crate::access::clients::MachineClient>, StoreError> {
        let mut clients: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|client| after.is_none_or(|after| client.id > *after))
            .cloned()
            .collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        clients.truncate(limit as usize);
        Ok(clients)
    }

    async fn add_secret(
        &self,
        id: &crate::access::clients::ClientId,
        secret: &crate::access::clients::StoredSecret,
    ) -> Result<crate::access::clients::SecretAddition, StoreError> {
        use crate::access::clients::SecretAddition;
        let mut clients = self.0.lock().unwrap();
        let Some(client) = clients.iter_mut().find(|client| client.id == *id) else {
            return Ok(SecretAddition::NotFound);
        };
        if client.secrets.len() >= crate::access::clients::MAX_SECRETS {
            return Ok(SecretAddition::Full);
        }
        client.secrets.push(secret.clone());
        Ok(SecretAddition::Added)
    }

    async fn remove_secret(
        &self,
        id: &crate::access::clients::ClientId,
        secret_id: &str,
    ) -> Result<crate::access::clients::SecretRemoval, StoreError> {
        use crate::access::clients::SecretRemoval;
        let mut clients = self.0.lock().unwrap();
        let Some(client) = clients.iter_mut().find(|client| client.id == *id) else {
            return Ok(SecretRemoval::NotFound);
        };
        if !client.secrets.iter().any(|secret| secret.id == secret_id) {
            return Ok(SecretRemoval::NotFound);
        }
        if client.secrets.len() < 2 {
            return Ok(SecretRemoval::LastSecret);
        }
        client.secrets.retain(|secret| secret.id != secret_id);
        Ok(SecretRemoval::Removed)
    }

    async fn delete(&self, id: &crate::access::clients::ClientId) -> Result<bool, StoreError> {
        let mut clients = self.0.lock().unwrap();
        let before = clients.len();
        clients.retain(|client| client.id != *id);
        Ok(clients.len() < before)
    }
}

/// Leases in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryLeaseStore(Arc<Mutex<HashMap<String, (String, SystemTime)>>>);

impl crate::abuse::leases::LeaseStore for MemoryLeaseStore {
    async fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut leases = self.0.lock().unwrap();
        match leases.get(name) {
            Some((_, until)) if *until > now => Ok(false),
            _ => {
                leases.insert(name.to_owned(), (holder.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut leases = self.0.lock().unwrap();
        if leases
            .get(name)
            .is_some_and(|(held_by, _)| held_by == holder)
        {
            leases.remove(name);
        }
        Ok(())
    }
}

/// Passkeys in memory, keyed by credential id; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryPasskeyStore(Arc<Mutex<Vec<crate::factors::passkeys::Passkey>>>);

impl crate::factors::passkeys::PasskeyStore for MemoryPasskeyStore {
    async fn add(&self, passkey: &crate::factors::passkeys::Passkey) -> Result<bool, StoreError> {
        let mut passkeys = self.0.lock().unwrap();
        if passkeys.iter().any(|stored| stored.id == passkey.id) {
            return Ok(false);
        }
        passkeys.push(passkey.clone());
        Ok(true)
    }

    async fn find(
        &self,
        id: &str,
    ) -> Result<Option<crate::factors::passkeys::Passkey>, StoreError> {
        let passkeys = self.0.lock().unwrap();
        Ok(passkeys.iter().find(|stored| stored.id == id).cloned())
    }

    async fn list(
        &self,
        account: &AccountId,
    ) -> Result<Vec<crate::factors::passkeys::Passkey>, StoreError> {
        let passkeys = self.0.lock().unwrap();
        Ok(passkeys
            .iter()
            .filter(|stored| &stored.account == account)
            .cloned()
            .collect())
    }

    async fn record_use(
        &self,
        id: &str,
        used: &crate::factors::passkeys::PasskeyUse<'_>,
    ) -> Result<bool, StoreError> {
        let mut passkeys = self.0.lock().unwrap();
        let Some(stored) = passkeys
            .iter_mut()
            .find(|stored| stored.id == id && stored.state == used.previous_state)
        else {
            return Ok(false);
        };
        stored.state = used.state.to_vec();
        stored.sign_count = used.sign_count;
        stored.last_used_at = Some(used.at);
        Ok(true)
    }

    async fn remove(&self, account: &AccountId, id: &str) -> Result<bool, StoreError> {
        let mut passkeys = self.0.lock().unwrap();
        let before = passkeys.len();
        passkeys.retain(|stored| !(stored.id == id && &stored.account == account));
        Ok(passkeys.len() < before)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut passkeys = self.0.lock().unwrap();
        let before = passkeys.len();
        passkeys.retain(|stored| &stored.account != account);
        Ok((before - passkeys.len()) as u64)
    }
}

/// WebAuthn ceremonies in memory, keyed by challenge; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryPasskeyCeremonyStore(
    Arc<Mutex<HashMap<String, crate::factors::passkey_ceremonies::Ceremony>>>,
);

impl crate::factors::passkey_ceremonies::PasskeyCeremonyStore for MemoryPasskeyCeremonyStore {
    async fn create(
        &self,
        challenge: &str,
        ceremony: &crate::factors::passkey_ceremonies::Ceremony,
    ) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .insert(challenge.to_owned(), ceremony.clone());
        Ok(())
    }

    async fn consume(
        &self,
        challenge: &str,
        kind: crate::factors::passkey_ceremonies::CeremonyKind,
        now: SystemTime,
    ) -> Result<Option<crate::factors::passkey_ceremonies::Ceremony>, StoreError> {
        let mut ceremonies = self.0.lock().unwrap();
        let live = ceremonies
            .get(challenge)
            .is_some_and(|ceremony| ceremony.kind == kind && ceremony.expires_at > now);
        Ok(if live {
            ceremonies.remove(challenge)
        } else {
            None
        })
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut ceremonies = self.0.lock().unwrap();
        let before = ceremonies.len();
        ceremonies.retain(|_, ceremony| ceremony.account.as_ref() != Some(account));
        Ok((before - ceremonies.len()) as u64)
    }
}
