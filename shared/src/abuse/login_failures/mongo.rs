//! The MongoDB implementation of [`super::LoginFailureStore`].

use super::*;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// [`MongoLoginFailureStore::ensure_indexes`] once per deployment (`setup-database`).
    pub fn new(database: &Database) -> Self {
        Self {
            counters: database.collection(LOGIN_FAILURES_COLLECTION),
        }
    }

    /// Creates the TTL index that deletes counters once `expires_at` has passed (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.counters
            .create_index(crate::platform::database::expiry_index())
            .await?;
        Ok(())
    }

    fn counter(key: &impl FailureKey, record: LoginFailures, now: SystemTime) -> CounterDocument {
        CounterDocument {
            username_canonical: key.counter_id().into_owned(),
            failures: i64::from(record.failures),
            locked_until: record.locked_until.map(DateTime::from_system_time),
            expires_at: DateTime::from_system_time(now + COUNTER_LIFETIME),
        }
    }

    /// One round of the claim: the first attempt inserts the counter; later ones replace the
    /// counter only if it is still the one read (compare and set). `None` when a concurrent
    /// claim or reset changed it first.
    async fn try_claim(
        &self,
        key: &impl FailureKey,
        now: SystemTime,
    ) -> Result<Option<Attempt>, StoreError> {
        let filter = doc! { "_id": key.counter_id().as_ref() };
        let current = self.counters.find_one(filter.clone()).await?;
        let record = current
            .as_ref()
            .map_or_else(LoginFailures::default, |document| {
                LoginFailures::from(document.clone())
            });
        let (attempt, claimed) = next_claim(record, now);
        let Some(claimed) = claimed else {
            return Ok(Some(attempt));
        };
        let replacement = Self::counter(key, claimed, now);
        let Some(current) = current else {
            return match self.counters.insert_one(replacement).await {
                Ok(_) => Ok(Some(attempt)),
                Err(error) if is_duplicate_key(&error) => Ok(None),
                Err(error) => Err(error.into()),
            };
        };
        let unchanged = doc! {
            "_id": key.counter_id().as_ref(),
            "failures": current.failures,
            "locked_until": current.locked_until,
        };
        let replaced = self.counters.replace_one(unchanged, replacement).await?;
        Ok((replaced.matched_count == 1).then_some(attempt))
    }
}

/// Compare-and-set rounds a claim tries before giving up; each lost round means another claim
/// for the same name won one.
const CLAIM_ROUNDS: usize = 32;

impl LoginFailureStore for MongoLoginFailureStore {
    async fn record(&self, key: &impl FailureKey) -> Result<LoginFailures, StoreError> {
        let found = self
            .counters
            .find_one(doc! { "_id": key.counter_id().as_ref() })
            .await?;
        Ok(found.map(LoginFailures::from).unwrap_or_default())
    }

    async fn claim_attempt(
        &self,
        key: &impl FailureKey,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        // Most logins find no counter: try creating it first, one round trip.
        let (first, claimed) = next_claim(LoginFailures::default(), now);
        if let Some(claimed) = claimed {
            match self
                .counters
                .insert_one(Self::counter(key, claimed, now))
                .await
            {
                Ok(_) => return Ok(first),
                Err(error) if is_duplicate_key(&error) => {}
                Err(error) => return Err(error.into()),
            }
        }
        for _ in 0..CLAIM_ROUNDS {
            if let Some(attempt) = self.try_claim(key, now).await? {
                return Ok(attempt);
            }
        }
        // So many concurrent claims for one name that this one never got a turn: an attack,
        // refused like a lock rather than checked.
        tracing::warn!("login attempt claim contended past {CLAIM_ROUNDS} rounds: refused");
        Ok(Attempt::Locked {
            failures: u32::MAX,
            retry_after: FIRST_LOCK,
        })
    }

    async fn reset(&self, key: &impl FailureKey) -> Result<(), StoreError> {
        self.counters
            .delete_one(doc! { "_id": key.counter_id().as_ref() })
            .await?;
        Ok(())
    }
}
