//! The in-memory [`super::MfaChallengeStore`], with the MongoDB store's rules, for handler tests.

use crate::factors::mfa_challenges::{MfaChallenge, MfaChallengeStore};
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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
