//! The in-memory [`super::RelyingPartyStore`], with the MongoDB store's rules, for handler
//! tests.

use super::{
    ClientKind, RelyingParty, RelyingPartyId, RelyingPartyStore, SecretAddition, SecretRemoval,
};
use crate::access::clients::{MAX_SECRETS, StoredSecret};
use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};

/// Relying parties in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryRelyingPartyStore(Arc<Mutex<Vec<RelyingParty>>>);

impl RelyingPartyStore for MemoryRelyingPartyStore {
    async fn create(&self, party: &RelyingParty) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(party.clone());
        Ok(())
    }

    async fn find(&self, id: &RelyingPartyId) -> Result<Option<RelyingParty>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .find(|party| party.id == *id)
            .cloned())
    }

    async fn list(
        &self,
        after: Option<&RelyingPartyId>,
        limit: u32,
    ) -> Result<Vec<RelyingParty>, StoreError> {
        let mut parties: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|party| after.is_none_or(|after| party.id > *after))
            .cloned()
            .collect();
        parties.sort_by(|a, b| a.id.cmp(&b.id));
        parties.truncate(limit as usize);
        Ok(parties)
    }

    async fn add_secret(
        &self,
        id: &RelyingPartyId,
        secret: &StoredSecret,
    ) -> Result<SecretAddition, StoreError> {
        let mut parties = self.0.lock().unwrap();
        let Some(party) = parties.iter_mut().find(|party| party.id == *id) else {
            return Ok(SecretAddition::NotFound);
        };
        match &mut party.kind {
            ClientKind::Public => Ok(SecretAddition::NotFound),
            ClientKind::Confidential { secrets } if secrets.len() >= MAX_SECRETS => {
                Ok(SecretAddition::Full)
            }
            ClientKind::Confidential { secrets } => {
                secrets.push(secret.clone());
                Ok(SecretAddition::Added)
            }
        }
    }

    async fn remove_secret(
        &self,
        id: &RelyingPartyId,
        secret_id: &str,
    ) -> Result<SecretRemoval, StoreError> {
        let mut parties = self.0.lock().unwrap();
        let secrets = match parties.iter_mut().find(|party| party.id == *id) {
            Some(RelyingParty {
                kind: ClientKind::Confidential { secrets },
                ..
            }) => secrets,
            _ => return Ok(SecretRemoval::NotFound),
        };
        if !secrets.iter().any(|secret| secret.id == secret_id) {
            return Ok(SecretRemoval::NotFound);
        }
        if secrets.len() == 1 {
            return Ok(SecretRemoval::LastSecret);
        }
        secrets.retain(|secret| secret.id != secret_id);
        Ok(SecretRemoval::Removed)
    }

    async fn delete(&self, id: &RelyingPartyId) -> Result<bool, StoreError> {
        let mut parties = self.0.lock().unwrap();
        let before = parties.len();
        parties.retain(|party| party.id != *id);
        Ok(parties.len() < before)
    }
}
