//! The in-memory [`super::LeaseStore`], with the MongoDB store's rules, for handler tests.

use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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
