//! The in-memory [`super::SecondFactorStore`], with the MongoDB store's rules, for handler tests.

use crate::factors::second_factors::{SecondFactor, SecondFactorStore};
use crate::factors::secret_box::Sealed;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Second factors in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemorySecondFactorStore {
    factors: Arc<Mutex<HashMap<AccountId, SecondFactor>>>,
}

impl SecondFactorStore for MemorySecondFactorStore {
    async fn begin_enrolment(
        &self,
        account: &AccountId,
        secret: &Sealed,
        _now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        if factors.get(account).is_some_and(|factor| factor.confirmed) {
            return Ok(false);
        }
        let factor = SecondFactor {
            secret: secret.clone(),
            confirmed: false,
            last_step: None,
            recovery_codes: Vec::new(),
        };
        factors.insert(account.clone(), factor);
        Ok(true)
    }

    async fn find(&self, account: &AccountId) -> Result<Option<SecondFactor>, StoreError> {
        Ok(self.factors.lock().unwrap().get(account).cloned())
    }

    async fn confirm(
        &self,
        account: &AccountId,
        pending: &Sealed,
        step: u64,
        recovery_codes: &[String],
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if !factor.confirmed && factor.secret == *pending => {
                factor.confirmed = true;
                factor.last_step = Some(step);
                factor.recovery_codes = recovery_codes.to_vec();
                true
            }
            _ => false,
        })
    }

    async fn accept_step(&self, account: &AccountId, step: u64) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if factor.confirmed && factor.last_step.is_none_or(|last| last < step) => {
                factor.last_step = Some(step);
                true
            }
            _ => false,
        })
    }

    async fn spend_recovery_code(
        &self,
        account: &AccountId,
        hash: &str,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        let Some(factor) = factors.get_mut(account).filter(|factor| factor.confirmed) else {
            return Ok(false);
        };
        let before = factor.recovery_codes.len();
        factor.recovery_codes.retain(|code| code != hash);
        Ok(factor.recovery_codes.len() < before)
    }

    async fn reseal(
        &self,
        account: &AccountId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        Ok(match factors.get_mut(account) {
            Some(factor) if factor.secret == *old => {
                factor.secret = new.clone();
                true
            }
            _ => false,
        })
    }

    async fn replace_recovery_codes(
        &self,
        account: &AccountId,
        hashes: &[String],
    ) -> Result<bool, StoreError> {
        let mut factors = self.factors.lock().unwrap();
        let Some(factor) = factors.get_mut(account).filter(|factor| factor.confirmed) else {
            return Ok(false);
        };
        factor.recovery_codes = hashes.to_vec();
        Ok(true)
    }

    async fn remove(&self, account: &AccountId) -> Result<bool, StoreError> {
        Ok(self.factors.lock().unwrap().remove(account).is_some())
    }
}
