//! The in-memory [`super::ConsentStore`], with the MongoDB store's rules, for handler tests.

use super::{Consent, ConsentStore};
use crate::access::client_id::RelyingPartyId;
use crate::access::scopes::Scopes;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Consents in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryConsentStore(Arc<Mutex<Vec<Consent>>>);

impl MemoryConsentStore {
    /// Whether no consent is held.
    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap().is_empty()
    }
}

impl ConsentStore for MemoryConsentStore {
    async fn grant(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
        scopes: &Scopes,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut consents = self.0.lock().unwrap();
        match consents
            .iter_mut()
            .find(|consent| consent.account == *account && consent.client == *client)
        {
            Some(consent) => {
                consent.scopes = consent.scopes.iter().chain(scopes.iter()).collect();
                consent.granted_at = now;
            }
            None => consents.push(Consent {
                account: account.clone(),
                client: client.clone(),
                scopes: scopes.clone(),
                granted_at: now,
            }),
        }
        Ok(())
    }

    async fn find(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<Option<Consent>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|consent| consent.account == *account && consent.client == *client)
            .cloned())
    }

    async fn list(&self, account: &AccountId) -> Result<Vec<Consent>, StoreError> {
        let mut held: Vec<Consent> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|consent| consent.account == *account)
            .cloned()
            .collect();
        held.sort_by(|a, b| a.client.cmp(&b.client));
        Ok(held)
    }

    async fn revoke(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<bool, StoreError> {
        let mut consents = self.0.lock().unwrap();
        let before = consents.len();
        consents.retain(|consent| !(consent.account == *account && consent.client == *client));
        Ok(consents.len() < before)
    }

    async fn delete_account(&self, account: &AccountId) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .retain(|consent| consent.account != *account);
        Ok(())
    }
}
