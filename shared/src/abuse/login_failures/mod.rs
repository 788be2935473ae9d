//! Brute-force protection per username: every password check is claimed first, atomically,
//! and counted as a failure until it succeeds. From the fifth claim on, each one locks the
//! username for an exponentially growing delay, so whatever the concurrency no more than five
//! passwords are ever checked before the first lock, and one per lock after it.
//!
//! Counters are kept for every syntactically valid username, existing or not, so a lock
//! never reveals whether an account exists. Second-factor codes have counters of their own,
//! one per account ([`SecondFactorFailures`]), with the same rules: a right password does not
//! forget wrong codes, only a right code does. A counter disappears (TTL index) a day after its
//! last attempt, and a successful login deletes it.

#[cfg(test)]
mod contract;
#[cfg(test)]
mod live;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoLoginFailureStore;

use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use std::borrow::Cow;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds failure counters, one document per canonical username.
pub const LOGIN_FAILURES_COLLECTION: &str = "login_failures";

/// Attempts (failed or in flight) tolerated before the first lock.
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

/// The answer to a claim for one password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The password may be checked. The attempt is already counted as a failure; a success
    /// calls [`LoginFailureStore::reset`].
    Granted {
        /// Attempts counted for the username, this one included.
        failures: u32,
    },
    /// The username is locked: refuse without checking the password.
    Locked {
        /// Attempts counted so far.
        failures: u32,
        /// How long the lock lasts from now.
        retry_after: Duration,
    },
}

/// The claim that `record` allows at `now`, and the record it leaves behind when granted.
pub fn next_claim(record: LoginFailures, now: SystemTime) -> (Attempt, Option<LoginFailures>) {
    if let Some(retry_after) = record.remaining_lock(now) {
        let locked = Attempt::Locked {
            failures: record.failures,
            retry_after,
        };
        return (locked, None);
    }
    let failures = record.failures.saturating_add(1);
    let claimed = LoginFailures {
        failures,
        locked_until: lock_after(failures).map(|lock| now + lock),
    };
    (Attempt::Granted { failures }, Some(claimed))
}

/// Whole seconds for a `Retry-After` header, rounded up so a client never retries into the
/// lock.
pub fn retry_after_seconds(remaining: Duration) -> u64 {
    remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0)
}

/// What a counter counts failures of: the key it is stored under.
pub trait FailureKey: Sync {
    /// The counter's id.
    fn counter_id(&self) -> Cow<'_, str>;
}

/// Password failures, per canonical username.
impl FailureKey for Username {
    fn counter_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.canonical())
    }
}

/// Second-factor failures (wrong authenticator or recovery codes) of one account. Its id has
/// a `:`, which no username has, so it never meets a password counter.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactorFailures<'a>(pub &'a AccountId);

impl FailureKey for SecondFactorFailures<'_> {
    fn counter_id(&self) -> Cow<'_, str> {
        Cow::Owned(format!("second-factor:{}", self.0.as_str()))
    }
}

/// Failed passkey sign-ins: per credential id, and per account once the credential is
/// known. Their ids have a `:` too.
#[derive(Debug, Clone, Copy)]
pub enum PasskeyFailures<'a> {
    /// Assertions naming this credential id (base64url) that did not verify.
    Credential(&'a str),
    /// Assertions by any passkey of this account that did not verify.
    Account(&'a AccountId),
}

impl FailureKey for PasskeyFailures<'_> {
    fn counter_id(&self) -> Cow<'_, str> {
        match self {
            Self::Credential(id) => Cow::Owned(format!("passkey:{id}")),
            Self::Account(account) => Cow::Owned(format!("passkey-account:{}", account.as_str())),
        }
    }
}

/// Where failure counters live. Implemented for MongoDB and, for handler tests, in memory.
pub trait LoginFailureStore: Send + Sync {
    /// The record for `key` (a username, or [`SecondFactorFailures`]); the default (no
    /// failures) when there is none.
    fn record(
        &self,
        key: &impl FailureKey,
    ) -> impl Future<Output = Result<LoginFailures, StoreError>> + Send;

    /// Claims one check (of a password, or a code) for `key`: refused while it is locked,
    /// otherwise counted as a failure and the lock it earns applied, in one atomic step, so
    /// concurrent claims are granted one at a time exactly as sequential ones would be.
    fn claim_attempt(
        &self,
        key: &impl FailureKey,
        now: SystemTime,
    ) -> impl Future<Output = Result<Attempt, StoreError>> + Send;

    /// Forgets the failures after a successful check.
    fn reset(&self, key: &impl FailureKey) -> impl Future<Output = Result<(), StoreError>> + Send;
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
