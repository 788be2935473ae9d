//! The in-memory [`super::SessionStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use crate::sessions::{
    ActiveSession, LOGIN_KEY_PREFIX, MAX_LISTED_SESSIONS, RETIRED_KEPT, Rotation, Session,
    SessionStore, StoredSession,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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

    async fn find_login(
        &self,
        key: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<Option<Session>, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let found = sessions.values_mut().find(|stored| {
            stored.current == key
                && !stored.revoked
                && stored.current_expires_at > now
                && stored.session.expires_at > now
        });
        Ok(found.map(|stored| {
            stored.last_used_at = now;
            stored.current_expires_at = stored.session.token_expiry(now, idle);
            stored.session.clone()
        }))
    }

    async fn rotate(
        &self,
        hash: &str,
        successor_hash: &str,
        now: SystemTime,
        idle: Duration,
    ) -> Result<Rotation, StoreError> {
        if hash.starts_with(LOGIN_KEY_PREFIX) {
            return Ok(Rotation::Invalid);
        }
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

    async fn revoke_client(
        &self,
        account: &AccountId,
        client: &crate::access::client_id::RelyingPartyId,
    ) -> Result<u64, StoreError> {
        let mut sessions = self.sessions.lock().unwrap();
        let mut revoked = 0;
        for stored in sessions.values_mut() {
            let held_by_client = stored
                .session
                .relying_party
                .as_ref()
                .is_some_and(|grant| grant.client == *client);
            if stored.session.account == *account && held_by_client && !stored.revoked {
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
