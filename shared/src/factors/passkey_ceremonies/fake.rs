//! The in-memory [`super::PasskeyCeremonyStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

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
