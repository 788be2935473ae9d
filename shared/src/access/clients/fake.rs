//! The in-memory [`super::ClientStore`], with the MongoDB store's rules, for handler tests.

use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};

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
