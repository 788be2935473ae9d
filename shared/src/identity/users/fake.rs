//! The in-memory [`super::UserStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::identity::users::{EmailVerification, Insertion, Renaming, Revocation, User, UserStore};
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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
            username_provisional: false,
            email_vouched: false,
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

impl MemoryUserStore {
    /// What both address verifications do; `vouched` marks a hook's word.
    fn adopt_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        _now: SystemTime,
        vouched: bool,
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
        user.email_vouched = vouched;
        let previous = user.email.replace(address.clone());
        Ok(EmailVerification::Verified { previous })
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
            username_provisional: false,
            email_vouched: false,
        };
        let id = user.id.clone();
        users.insert(username.canonical().to_owned(), user);
        Ok(Insertion::Created(id))
    }

    async fn insert_provisional(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        let inserted = self.insert(username, super::NO_PASSWORD_HASH, now).await?;
        if let Insertion::Created(_) = inserted
            && let Some(user) = self.users.lock().unwrap().get_mut(username.canonical())
        {
            user.username_provisional = true;
        }
        Ok(inserted)
    }

    async fn rename_provisional(
        &self,
        id: &AccountId,
        username: &Username,
        _now: SystemTime,
    ) -> Result<Renaming, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        let Some(key) = users
            .iter()
            .find(|(_, user)| user.id == *id && user.username_provisional)
            .map(|(key, _)| key.clone())
        else {
            return Ok(Renaming::NotProvisional);
        };
        let looks_alike = username.skeleton_key();
        let taken = users.iter().any(|(other, user)| {
            *other != key
                && (other == username.canonical() || user.username.skeleton_key() == looks_alike)
        });
        if taken {
            return Ok(Renaming::UsernameTaken);
        }
        let mut user = users.remove(&key).expect("found above");
        user.username = username.clone();
        user.username_provisional = false;
        users.insert(username.canonical().to_owned(), user);
        Ok(Renaming::Renamed)
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
        now: SystemTime,
    ) -> Result<EmailVerification, StoreError> {
        self.adopt_email(id, address, issued_under, now, false)
    }

    async fn vouch_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
    ) -> Result<EmailVerification, StoreError> {
        self.adopt_email(id, address, issued_under, now, true)
    }

    async fn remove_email(
        &self,
        id: &AccountId,
        _now: SystemTime,
    ) -> Result<Option<EmailAddress>, StoreError> {
        self.fail_if_asked()?;
        let mut users = self.users.lock().unwrap();
        if let Some(user) = users.values_mut().find(|user| user.id == *id) {
            user.email_vouched = false;
        }
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
