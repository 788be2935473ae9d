//! The in-memory [`super::PendingStore`], with the MongoDB store's rules, for handler tests.

use super::PendingStore;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A record (none for a use mark) and when it expires.
type Held = (Option<String>, SystemTime);

/// Records in memory; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryPendingStore(Arc<Mutex<HashMap<String, Held>>>);

impl PendingStore for MemoryPendingStore {
    async fn put(&self, key: &str, record: &str, expires_at: SystemTime) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), (Some(record.to_owned()), expires_at));
        Ok(())
    }

    async fn take(&self, key: &str, now: SystemTime) -> Result<Option<String>, StoreError> {
        let mut held = self.0.lock().unwrap();
        let live = held
            .get(key)
            .is_some_and(|(record, expires_at)| record.is_some() && *expires_at > now);
        Ok(if live {
            held.remove(key).and_then(|(record, _)| record)
        } else {
            None
        })
    }

    async fn use_once(
        &self,
        key: &str,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut held = self.0.lock().unwrap();
        if held.get(key).is_some_and(|(_, until)| *until > now) {
            return Ok(false);
        }
        held.insert(key.to_owned(), (None, expires_at));
        Ok(true)
    }
}
