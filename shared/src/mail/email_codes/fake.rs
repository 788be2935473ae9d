//! The in-memory [`super::EmailCodeStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_id::AccountId;
use crate::mail::email_codes::{EmailCode, EmailCodeStore, Purpose};
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// Codes sent by email in a map, with the same rules as the MongoDB store.
#[derive(Debug, Clone, Default)]
pub struct MemoryEmailCodeStore {
    codes: Arc<Mutex<HashMap<String, EmailCode>>>,
}

impl MemoryEmailCodeStore {
    /// How many codes are stored (expired ones included).
    pub fn len(&self) -> usize {
        self.codes.lock().unwrap().len()
    }

    /// Whether no code is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many codes are stored for `account`.
    pub fn codes_of(&self, account: &AccountId) -> usize {
        self.codes
            .lock()
            .unwrap()
            .values()
            .filter(|code| code.account == *account)
            .count()
    }
}

impl EmailCodeStore for MemoryEmailCodeStore {
    async fn create(&self, hash: &str, code: &EmailCode) -> Result<(), StoreError> {
        let mut codes = self.codes.lock().unwrap();
        codes.insert(hash.to_owned(), code.clone());
        Ok(())
    }

    async fn find(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let codes = self.codes.lock().unwrap();
        Ok(codes
            .get(hash)
            .filter(|code| code.purpose == purpose && code.expires_at > now)
            .cloned())
    }

    async fn redeem(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> Result<Option<EmailCode>, StoreError> {
        let mut codes = self.codes.lock().unwrap();
        let live = codes
            .get(hash)
            .is_some_and(|code| code.purpose == purpose && code.expires_at > now);
        Ok(if live { codes.remove(hash) } else { None })
    }

    async fn delete_account(
        &self,
        account: &AccountId,
        purpose: Option<Purpose>,
    ) -> Result<u64, StoreError> {
        let mut codes = self.codes.lock().unwrap();
        let before = codes.len();
        codes.retain(|_, code| {
            code.account != *account || purpose.is_some_and(|purpose| code.purpose != purpose)
        });
        Ok(u64::try_from(before - codes.len()).unwrap_or(u64::MAX))
    }
}
