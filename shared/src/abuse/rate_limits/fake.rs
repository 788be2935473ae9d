//! The in-memory [`super::RateLimitStore`], with the MongoDB store's rules, for handler tests.

use crate::abuse::rate_limits::RateLimitStore;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Rate-limit counters in a map (expired windows are never reached again: ids carry the
/// window start).
#[derive(Debug, Clone, Default)]
pub struct MemoryRateLimitStore {
    counters: Arc<Mutex<HashMap<String, u32>>>,
}

impl RateLimitStore for MemoryRateLimitStore {
    async fn increment(&self, id: &str, _expires_at: SystemTime) -> Result<u32, StoreError> {
        let mut counters = self.counters.lock().unwrap();
        let count = counters.entry(id.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
        Ok(*count)
    }

    async fn refund(&self, id: &str) -> Result<(), StoreError> {
        if let Some(count) = self.counters.lock().unwrap().get_mut(id) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}
