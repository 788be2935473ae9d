//! Fixed-window rate limits on actions that send mail or redeem codes, per account and per
//! source IP. Each hit adds one to the counter of the current window (`<limit>:<subject>:
//! <window start>`) with one atomic increment (or the insert that creates it), and the count
//! that returns decides: of N concurrent hits in a window exactly `max` are allowed, whatever
//! the number of function instances. A TTL index removes counters once their window has
//! passed.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoRateLimitStore;

use crate::platform::database::StoreError;
use mongodb::bson::doc;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds the counters.
pub const RATE_LIMITS_COLLECTION: &str = "rate_limits";

/// One limit: at most `max` hits per `window` for each subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the counter (`reset-request-ip`).
    pub name: &'static str,
    /// Hits allowed per window.
    pub max: u32,
    /// The window.
    pub window: Duration,
}

const HOUR: Duration = Duration::from_secs(60 * 60);

/// Verification mails for one account.
pub const VERIFICATION_MAILS_PER_ACCOUNT: Limit = Limit {
    name: "verify-mail-account",
    max: 5,
    window: HOUR,
};
/// Verification mails asked for from one source IP (sign-ups with an address).
pub const VERIFICATION_MAILS_PER_IP: Limit = Limit {
    name: "verify-mail-ip",
    max: 20,
    window: HOUR,
};
/// Password-reset requests from one source IP.
pub const RESET_REQUESTS_PER_IP: Limit = Limit {
    name: "reset-request-ip",
    max: 10,
    window: HOUR,
};
/// Password-reset mails to one account (further requests are answered alike, not sent).
pub const RESET_MAILS_PER_ACCOUNT: Limit = Limit {
    name: "reset-mail-account",
    max: 3,
    window: HOUR,
};
/// Code redemptions (verification and reset) from one source IP.
pub const REDEMPTIONS_PER_IP: Limit = Limit {
    name: "redeem-ip",
    max: 20,
    window: HOUR,
};
/// Password resets completed for one account (a found code counts, so a leaked mailbox
/// cannot churn the password).
pub const RESETS_PER_ACCOUNT: Limit = Limit {
    name: "reset-account",
    max: 3,
    window: HOUR,
};

/// Passkey challenges (sign-in and second-factor options) asked for from one source IP.
pub const PASSKEY_CHALLENGES_PER_IP: Limit = Limit {
    name: "passkey-challenge-ip",
    max: 120,
    window: Duration::from_secs(10 * 60),
};

/// Every limit, for the documentation and its tests.
pub const ALL: [Limit; 7] = [
    PASSKEY_CHALLENGES_PER_IP,
    VERIFICATION_MAILS_PER_ACCOUNT,
    VERIFICATION_MAILS_PER_IP,
    RESET_REQUESTS_PER_IP,
    RESET_MAILS_PER_ACCOUNT,
    REDEMPTIONS_PER_IP,
    RESETS_PER_ACCOUNT,
];

/// The default of `LOGIN_FAILURES_PER_IP`: failed password checks one source address may
/// cause per hour before its password logins are refused unhashed. Auth0's suspicious-IP
/// throttling allows 100 failed logins per address a day; an hour here lets a shared NAT
/// recover sooner.
pub const DEFAULT_LOGIN_FAILURES_PER_IP: u32 = 100;

/// The limit on failed password checks per source address (`LOGIN_FAILURES_PER_IP`, 0 to
/// turn it off, at most 100,000), per clock hour. `None` when off.
pub fn password_failures_per_ip(
    source: &impl crate::platform::config::Source,
) -> Result<Option<Limit>, crate::platform::config::ConfigError> {
    let max: u32 = crate::platform::config::parsed_or(
        source,
        "LOGIN_FAILURES_PER_IP",
        DEFAULT_LOGIN_FAILURES_PER_IP,
    )?;
    if max > 100_000 {
        return Err(crate::platform::config::ConfigError::Invalid {
            var: "LOGIN_FAILURES_PER_IP",
            reason: "must be at most 100000 (0 turns the limit off)".to_owned(),
        });
    }
    Ok((max > 0).then_some(Limit {
        name: "password-failures-ip",
        max,
        window: HOUR,
    }))
}

/// The outcome of a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit.
    Allowed,
    /// Over it until the window ends, this many whole seconds from now (at least 1).
    Refused {
        /// Whole seconds until the next window.
        retry_after_seconds: u64,
    },
}

/// The window `now` falls in: its start and end.
pub fn window_of(limit: &Limit, now: SystemTime) -> (u64, SystemTime) {
    let seconds = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let length = limit.window.as_secs().max(1);
    let start = seconds - seconds % length;
    (
        start,
        SystemTime::UNIX_EPOCH + Duration::from_secs(start + length),
    )
}

/// The counter id of `subject` under `limit` in the window starting at `start`.
pub fn counter_id(limit: &Limit, subject: &str, start: u64) -> String {
    format!("{}:{subject}:{start}", limit.name)
}

/// Where the counters live.
pub trait RateLimitStore: Send + Sync {
    /// Adds one to the counter `id` (created with expiry `expires_at` when missing) and
    /// returns the new count.
    fn increment(
        &self,
        id: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Takes one back from the counter `id` (never below zero): a hit that turned out not to
    /// count, such as a password check that succeeded.
    fn refund(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Takes back one hit of `subject` under `limit` in the window of `hit_at` (when the hit was
/// counted: a refund after the window turned must not free room in the next one).
pub async fn refund(
    store: &impl RateLimitStore,
    limit: &Limit,
    subject: &str,
    hit_at: SystemTime,
) -> Result<(), StoreError> {
    let (start, _) = window_of(limit, hit_at);
    store.refund(&counter_id(limit, subject, start)).await
}

/// Counts one hit of `subject` under `limit` and decides it.
pub async fn hit(
    store: &impl RateLimitStore,
    limit: &Limit,
    subject: &str,
    now: SystemTime,
) -> Result<Decision, StoreError> {
    let (start, end) = window_of(limit, now);
    let count = store
        .increment(&counter_id(limit, subject, start), end)
        .await?;
    if count <= limit.max {
        return Ok(Decision::Allowed);
    }
    let remaining = end.duration_since(now).unwrap_or_default();
    Ok(Decision::Refused {
        retry_after_seconds: remaining.as_secs().max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_their_end_is_the_retry_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(3 * 3600 + 125);
        let (start, end) = window_of(&RESET_REQUESTS_PER_IP, now);
        assert_eq!(start, 3 * 3600);
        assert_eq!(end, SystemTime::UNIX_EPOCH + Duration::from_secs(4 * 3600));
        assert_eq!(
            counter_id(&RESET_REQUESTS_PER_IP, "203.0.113.7", start),
            "reset-request-ip:203.0.113.7:10800"
        );
    }

    #[test]
    fn the_password_failure_limit_is_configured_or_off() {
        let default = password_failures_per_ip(&[]).unwrap().unwrap();
        assert_eq!((default.max, default.window), (100, HOUR));
        let set = password_failures_per_ip(&[("LOGIN_FAILURES_PER_IP", "10")]).unwrap();
        assert_eq!(set.map(|limit| limit.max), Some(10));
        assert_eq!(
            password_failures_per_ip(&[("LOGIN_FAILURES_PER_IP", "0")]).unwrap(),
            None
        );
        for bad in ["-1", "many", "100001"] {
            assert!(password_failures_per_ip(&[("LOGIN_FAILURES_PER_IP", bad)]).is_err());
        }
    }

    #[test]
    fn limits_have_distinct_names() {
        let mut names: Vec<_> = ALL.iter().map(|limit| limit.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
