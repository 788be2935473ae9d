//! The in-memory [`super::AccountEventStore`], with the MongoDB store's rules, for handler tests.

use crate::identity::account_events::{
    AccountEvent, AccountEventStore, Cursor, EventKind, MAX_PAGE,
};
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::sync::{Arc, Mutex};

/// Security events in a list, with the same rules as the MongoDB store; `fail` makes every
/// write fail, to show a request does not depend on it.
#[derive(Debug, Clone, Default)]
pub struct MemoryAccountEventStore {
    events: Arc<Mutex<Vec<AccountEvent>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl MemoryAccountEventStore {
    /// The kinds recorded for `account`, oldest first.
    pub fn kinds_of(&self, account: &AccountId) -> Vec<EventKind> {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|event| event.account == *account)
            .map(|event| event.kind)
            .collect()
    }

    /// Every event, oldest first.
    pub fn all(&self) -> Vec<AccountEvent> {
        self.events.lock().unwrap().clone()
    }

    /// From now on every append and amendment fails.
    pub fn fail(&self) {
        self.failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError(mongodb::error::Error::custom(
                "events store failing",
            )));
        }
        Ok(())
    }
}

impl AccountEventStore for MemoryAccountEventStore {
    async fn append(&self, event: &AccountEvent) -> Result<(), StoreError> {
        self.check()?;
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }

    async fn amend(
        &self,
        account: &AccountId,
        id: mongodb::bson::oid::ObjectId,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut events = self.events.lock().unwrap();
        if let Some(event) = events
            .iter_mut()
            .find(|event| event.id == id && event.account == *account)
        {
            event.kind = kind;
            event.locked_for_seconds = None;
        }
        Ok(())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        self.check()?;
        let mut events = self.events.lock().unwrap();
        let before = events.len();
        events.retain(|event| event.account != *account);
        Ok(u64::try_from(before - events.len()).unwrap_or(u64::MAX))
    }

    async fn page(
        &self,
        account: &AccountId,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<Vec<AccountEvent>, StoreError> {
        let events = self.events.lock().unwrap();
        let mut mine: Vec<AccountEvent> = events
            .iter()
            .filter(|event| event.account == *account)
            .cloned()
            .collect();
        let position = |event: &AccountEvent| Cursor::after(event).position();
        mine.sort_by_key(|event| std::cmp::Reverse(position(event)));
        let before = cursor.map(Cursor::position);
        let mine = mine
            .into_iter()
            .filter(|event| before.is_none_or(|before| position(event) < before));
        Ok(mine
            .take(usize::try_from(limit.min(MAX_PAGE)).unwrap_or(0))
            .collect())
    }
}
