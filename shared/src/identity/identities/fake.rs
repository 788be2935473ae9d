//! The in-memory [`super::IdentityStore`], with the MongoDB store's rules, for handler tests.

use super::{Identity, IdentityStore, Link};
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Identities in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryIdentityStore(Arc<Mutex<Vec<Identity>>>);

impl IdentityStore for MemoryIdentityStore {
    async fn link(&self, identity: &Identity) -> Result<Link, StoreError> {
        let mut held = self.0.lock().unwrap();
        if let Some(linked) = held
            .iter()
            .find(|known| known.issuer == identity.issuer && known.subject == identity.subject)
        {
            return Ok(Link::AlreadyLinked(linked.account.clone()));
        }
        held.push(identity.clone());
        Ok(Link::Linked)
    }

    async fn find(&self, issuer: &str, subject: &str) -> Result<Option<Identity>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|known| known.issuer == issuer && known.subject == subject)
            .cloned())
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Identity>, StoreError> {
        let mut listed: Vec<Identity> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|known| known.account == *account)
            .cloned()
            .collect();
        listed.sort_by_key(|identity| identity.linked_at);
        Ok(listed)
    }

    async fn touch(&self, issuer: &str, subject: &str, now: SystemTime) -> Result<(), StoreError> {
        if let Some(known) = self
            .0
            .lock()
            .unwrap()
            .iter_mut()
            .find(|known| known.issuer == issuer && known.subject == subject)
        {
            known.last_used_at = now;
        }
        Ok(())
    }

    async fn unlink(
        &self,
        account: &AccountId,
        issuer: &str,
        subject: &str,
    ) -> Result<bool, StoreError> {
        let mut held = self.0.lock().unwrap();
        let before = held.len();
        held.retain(|known| {
            !(known.account == *account && known.issuer == issuer && known.subject == subject)
        });
        Ok(held.len() < before)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .retain(|known| known.account != *account);
        Ok(())
    }
}
