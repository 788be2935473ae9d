//! The in-memory [`super::LoginFailureStore`], with the MongoDB store's rules, for handler tests.

use crate::abuse::login_failures::{
    Attempt, FailureKey, LoginFailureStore, LoginFailures, SecondFactorFailures, next_claim,
};
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Failure counters in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryLoginFailureStore {
    records: Arc<Mutex<HashMap<String, LoginFailures>>>,
}

impl MemoryLoginFailureStore {
    /// The record of `username` (raw form), for assertions.
    pub fn record_of(&self, username: &str) -> LoginFailures {
        let key = Username::parse(username).unwrap().canonical().to_owned();
        self.records
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or_default()
    }

    /// The second-factor record of `account`, for assertions.
    pub fn second_factor_record_of(&self, account: &AccountId) -> LoginFailures {
        let key = SecondFactorFailures(account).counter_id().into_owned();
        self.records
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or_default()
    }
}

impl LoginFailureStore for MemoryLoginFailureStore {
    async fn record(&self, key: &impl FailureKey) -> Result<LoginFailures, StoreError> {
        let records = self.records.lock().unwrap();
        Ok(records
            .get(key.counter_id().as_ref())
            .copied()
            .unwrap_or_default())
    }

    async fn claim_attempt(
        &self,
        key: &impl FailureKey,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let mut records = self.records.lock().unwrap();
        let record = records.entry(key.counter_id().into_owned()).or_default();
        let (attempt, claimed) = next_claim(*record, now);
        if let Some(claimed) = claimed {
            *record = claimed;
        }
        Ok(attempt)
    }

    async fn reset(&self, key: &impl FailureKey) -> Result<(), StoreError> {
        self.records
            .lock()
            .unwrap()
            .remove(key.counter_id().as_ref());
        Ok(())
    }
}
