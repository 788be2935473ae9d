//! The in-memory [`super::PasskeyStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};

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
