//! Brute-force protection per username: consecutive failed logins are counted in MongoDB and,
//! from the fifth on, each failure locks the username for an exponentially growing delay.
//!
//! Counters are kept for every syntactically valid username, existing or not, so a lock
//! never reveals whether an account exists. A counter disappears (TTL index) a day after its
//! last failure, and a successful login deletes it.

use crate::credentials::Username;
use crate::db::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc};
use mongodb::options::{FindOneAndUpdateOptions, IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds failure counters, one document per canonical username.
pub const LOGIN_FAILURES_COLLECTION: &str = "login_failures";

/// Failures tolerated before the first lock.
pub const FREE_FAILURES: u32 = 4;
/// The lock after the fifth consecutive failure; each further failure doubles it.
pub const FIRST_LOCK: Duration = Duration::from_secs(1);
/// The longest lock.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// How long a counter is kept after its last failure.
pub const COUNTER_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a username is locked after its `failures`-th consecutive failure:
/// nothing for the first four, then 1 s, 2 s, 4 s … capped at [`MAX_LOCK`].
pub fn lock_after(failures: u32) -> Option<Duration> {
    let doublings = failures.checked_sub(FREE_FAILURES + 1)?;
    let lock = FIRST_LOCK.saturating_mul(2u32.saturating_pow(doublings.min(31)));
    Some(lock.min(MAX_LOCK))
}

/// A username's current record of failed logins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoginFailures {
    /// Consecutive failures since the last success.
    pub failures: u32,
    /// Logins are refused without checking the password until this time.
    pub locked_until: Option<SystemTime>,
}

impl LoginFailures {
    /// How long logins stay refused, measured from `now`; `None` when not locked.
    pub fn remaining_lock(&self, now: SystemTime) -> Option<Duration> {
        self.locked_until?
            .duration_since(now)
            .ok()
            .filter(|left| !left.is_zero())
    }
}

/// Whole seconds for a `Retry-After` header, rounded up so a client never retries into the
/// lock.
pub fn retry_after_seconds(remaining: Duration) -> u64 {
    remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0)
}

/// Where failure counters live. Implemented for MongoDB and, for handler tests, in memory.
pub trait LoginFailureStore: Send + Sync {
    /// The record for `username`; the default (no failures) when there is none.
    fn record(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<LoginFailures, StoreError>> + Send;

    /// Counts one more failure atomically (concurrent failures are all counted) and applies
    /// the lock it earns. Returns the updated record.
    fn record_failure(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> impl Future<Output = Result<LoginFailures, StoreError>> + Send;

    /// Forgets the failures after a successful login.
    fn reset(&self, username: &Username) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Serialize, Deserialize)]
struct CounterDocument {
    #[serde(rename = "_id")]
    username_canonical: String,
    failures: i64,
    #[serde(default)]
    locked_until: Option<DateTime>,
    expires_at: DateTime,
}

impl From<CounterDocument> for LoginFailures {
    fn from(document: CounterDocument) -> Self {
        Self {
            failures: u32::try_from(document.failures).unwrap_or(u32::MAX),
            locked_until: document.locked_until.map(DateTime::to_system_time),
        }
    }
}

/// Failure counters in MongoDB, expired by a TTL index on `expires_at`.
#[derive(Debug, Clone)]
pub struct MongoLoginFailureStore {
    counters: Collection<CounterDocument>,
}

impl MongoLoginFailureStore {
    /// The counters in `database`'s `login_failures` collection. Call
    /// [`MongoLoginFailureStore::ensure_indexes`] once per cold start.
    pub fn new(database: &Database) -> Self {
        Self {
            counters: database.collection(LOGIN_FAILURES_COLLECTION),
        }
    }

    /// Creates the TTL index that deletes counters once `expires_at` has passed (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let ttl = IndexOptions::builder()
            .expire_after(Duration::ZERO)
            .name("expires_at_ttl".to_owned())
            .build();
        let index = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(ttl)
            .build();
        self.counters.create_index(index).await?;
        Ok(())
    }

    async fn increment(&self, username: &Username, now: SystemTime) -> Result<u32, StoreError> {
        let expires_at = DateTime::from_system_time(now + COUNTER_LIFETIME);
        let options = FindOneAndUpdateOptions::builder()
            .upsert(true)
            .return_document(ReturnDocument::After)
            .build();
        let update = doc! { "$inc": { "failures": 1_i64 }, "$set": { "expires_at": expires_at } };
        let filter = doc! { "_id": username.canonical() };
        // Two first failures racing to create the counter: one upsert inserts, the other
        // hits the duplicate key and, retried, increments the document that now exists.
        let mut attempts_left = 2;
        loop {
            attempts_left -= 1;
            match self
                .counters
                .find_one_and_update(filter.clone(), update.clone())
                .with_options(options.clone())
                .await
            {
                Ok(Some(document)) => return Ok(LoginFailures::from(document).failures),
                Ok(None) => unreachable!("an upsert returning the new document returns one"),
                Err(error) if is_duplicate_key(&error) && attempts_left > 0 => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }
}

impl LoginFailureStore for MongoLoginFailureStore {
    async fn record(&self, username: &Username) -> Result<LoginFailures, StoreError> {
        let found = self
            .counters
            .find_one(doc! { "_id": username.canonical() })
            .await?;
        Ok(found.map(LoginFailures::from).unwrap_or_default())
    }

    async fn record_failure(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<LoginFailures, StoreError> {
        let failures = self.increment(username, now).await?;
        let Some(lock) = lock_after(failures) else {
            return Ok(LoginFailures {
                failures,
                locked_until: None,
            });
        };
        let locked_until = now + lock;
        // `$max`: of two racing failures, the longer lock wins whatever the order.
        self.counters
            .update_one(
                doc! { "_id": username.canonical() },
                doc! { "$max": { "locked_until": DateTime::from_system_time(locked_until) } },
            )
            .await?;
        Ok(LoginFailures {
            failures,
            locked_until: Some(locked_until),
        })
    }

    async fn reset(&self, username: &Username) -> Result<(), StoreError> {
        self.counters
            .delete_one(doc! { "_id": username.canonical() })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_seconds(Duration::from_nanos(1)), 1);
    }

    #[test]
    fn the_first_four_failures_are_free_then_the_lock_doubles_up_to_fifteen_minutes() {
        let locks: Vec<_> = (1..=16).map(lock_after).collect();
        assert_eq!(&locks[..4], &[None, None, None, None]);
        let seconds: Vec<u64> = locks[4..]
            .iter()
            .map(|lock| lock.unwrap().as_secs())
            .collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(lock_after(u32::MAX), Some(MAX_LOCK));
    }

    #[test]
    fn a_lock_in_the_past_is_no_lock() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let record = |secs| LoginFailures {
            failures: 5,
            locked_until: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        };
        assert_eq!(record(999).remaining_lock(now), None);
        assert_eq!(record(1_000).remaining_lock(now), None);
        assert_eq!(
            record(1_003).remaining_lock(now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(LoginFailures::default().remaining_lock(now), None);
    }
}
