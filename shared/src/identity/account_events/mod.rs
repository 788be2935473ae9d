//! Each account's security history: an append-only list of what happened to it (logins,
//! failed logins and the locks they caused, password changes, second-factor changes, session
//! ends, sign-outs, refresh-token reuse), with the IP and user agent of the request, read by
//! its owner newest first (`GET /users/me/events`). Events expire after a retention period
//! (`SECURITY_EVENT_RETENTION_DAYS`, TTL index on `expires_at`).
//!
//! Recording never fails the request it records ([`record`] logs a store failure and goes
//! on) and is sent beside the request's own database work where it can be, so it adds at
//! most one round trip. Failed logins for names with no account are recorded against nobody.

#[cfg(test)]
mod contract;
#[cfg(test)]
mod live;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoAccountEventStore;

use crate::identity::account_id::AccountId;
use crate::platform::config::{ConfigError, Source, parsed_or};
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds the events.
pub const ACCOUNT_EVENTS_COLLECTION: &str = "security_events";
/// Days an event is kept.
pub const SECURITY_EVENT_RETENTION_DAYS: &str = "SECURITY_EVENT_RETENTION_DAYS";
/// The default retention: 90 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 86_400);
/// The most events one page holds.
pub const MAX_PAGE: u32 = 100;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A login completed (password, and the second factor when on).
    LoginSucceeded,
    /// A password was refused (wrong, or the account disabled); `locked_for_seconds` says
    /// when it locked the name.
    LoginFailed,
    /// The password was right; the second factor is awaited.
    SecondFactorRequired,
    /// An authenticator or recovery code was refused.
    SecondFactorFailed,
    /// The password was changed.
    PasswordChanged,
    /// TOTP was turned on.
    SecondFactorEnabled,
    /// TOTP was turned off.
    SecondFactorDisabled,
    /// The recovery codes were replaced.
    RecoveryCodesRegenerated,
    /// One session was ended by its owner.
    SessionEnded,
    /// Every session and token was revoked.
    LoggedOutEverywhere,
    /// A retired refresh token was presented again; its session was ended.
    RefreshTokenReused,
    /// The account was deleted by its owner (kept under a pseudonymous id only).
    AccountDeleted,
    /// A wrong current password was given to confirm a sensitive change.
    ReauthenticationFailed,
    /// A verification code was sent to a new address (not yet in effect).
    EmailChangeRequested,
    /// An address was verified and is now the account's.
    EmailVerified,
    /// The account's addresses were removed by its owner.
    EmailRemoved,
    /// A password-reset code was sent to the verified address.
    PasswordResetRequested,
    /// The password was reset with a code; every session was ended.
    PasswordReset,
    /// An administrator disabled the account; every session was ended.
    AccountDisabled,
    /// An administrator enabled the account again.
    AccountEnabled,
    /// An administrator cleared the failed-login and failed-code counters.
    AccountUnlocked,
    /// An administrator removed the second factor; every session was ended.
    SecondFactorReset,
    /// An administrator changed the account's roles; every session was ended.
    RolesChanged,
    /// An administrator issued a password-reset code to pass on.
    PasswordResetIssued,
    /// A passkey was registered.
    PasskeyAdded,
    /// A passkey was deleted.
    PasskeyRemoved,
    /// A passkey's signature counter went backwards: its authenticator may have been
    /// cloned. The sign-in was refused.
    PasskeyCounterRegressed,
    /// The user allowed a third-party application scopes on the consent page.
    ConsentGiven,
    /// The user took back what a third-party application was allowed.
    ConsentRevoked,
    /// An identity at another provider was linked to the account.
    IdentityLinked,
    /// An identity at another provider was unlinked from the account.
    IdentityUnlinked,
    /// A sign-in through another provider completed.
    FederatedLogin,
    /// A hook failed in a flow of the account (for pre token generation: no token was
    /// issued and the session ended).
    HookFailed,
    /// The account was created at its first login from what the user-migration hook
    /// returned (the old system's).
    AccountImported,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    /// Its id (also the page cursor's tie-breaker).
    pub id: ObjectId,
    /// The account it happened to.
    pub account: AccountId,
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: SystemTime,
    /// The request's IP and user agent.
    pub client: RequestSource,
    /// For a failed login that locked the name: for how long.
    pub locked_for_seconds: Option<u64>,
    /// The administrator who did it, for actions taken through the admin API.
    pub actor: Option<AccountId>,
}

impl AccountEvent {
    /// A new event with a fresh id.
    pub fn new(
        account: &AccountId,
        kind: EventKind,
        at: SystemTime,
        client: &RequestSource,
    ) -> Self {
        Self {
            id: ObjectId::new(),
            account: account.clone(),
            kind,
            at,
            client: client.clone(),
            locked_for_seconds: None,
            actor: None,
        }
    }

    /// The event of an administrator `actor`'s action on `account`.
    pub fn by_admin(
        account: &AccountId,
        kind: EventKind,
        at: SystemTime,
        client: &RequestSource,
        actor: &AccountId,
    ) -> Self {
        Self {
            actor: Some(actor.clone()),
            ..Self::new(account, kind, at, client)
        }
    }
}

/// One event as the API shows it: `id`, `type`, `at` (RFC 3339), `ip`, `user_agent`,
/// `locked_for_seconds` only when the failure locked, and for an administrator's action
/// `by_administrator: true`, with the administrator's account id as `actor` when
/// `reveal_actor` (the admin API). The owner sees only that an administrator did it: not
/// who, and not the administrator's IP or user agent (`null`).
pub fn shown(event: &AccountEvent, reveal_actor: bool) -> serde_json::Value {
    let mut shown = serde_json::json!({
        "id": event.id.to_hex(),
        "type": event.kind,
        "at": humantime::format_rfc3339_millis(event.at).to_string(),
        "ip": event.client.ip,
        "user_agent": event.client.user_agent,
    });
    if let Some(seconds) = event.locked_for_seconds {
        shown["locked_for_seconds"] = seconds.into();
    }
    if let Some(actor) = &event.actor {
        shown["by_administrator"] = true.into();
        if reveal_actor {
            shown["actor"] = actor.as_str().into();
        } else {
            shown["ip"] = serde_json::Value::Null;
            shown["user_agent"] = serde_json::Value::Null;
        }
    }
    shown
}

/// Where a page of events starts: after this event (exclusive), newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    at_millis: i64,
    id: ObjectId,
}

impl Cursor {
    /// The cursor that continues after `event`.
    pub fn after(event: &AccountEvent) -> Self {
        Self {
            at_millis: DateTime::from_system_time(event.at).timestamp_millis(),
            id: event.id,
        }
    }

    /// Where it stands in the newest-first order: later `(at, id)` come first.
    pub fn position(&self) -> (i64, ObjectId) {
        (self.at_millis, self.id)
    }

    /// The opaque text form clients pass back (`<millis>-<id>`).
    pub fn encode(&self) -> String {
        format!("{}-{}", self.at_millis, self.id.to_hex())
    }

    /// Reads [`Cursor::encode`]'s form; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let (millis, id) = text.split_once('-')?;
        Some(Self {
            at_millis: millis.parse().ok()?,
            id: ObjectId::parse_str(id).ok()?,
        })
    }
}

/// Where events live. Implemented for MongoDB and, for handler tests, in memory.
pub trait AccountEventStore: Send + Sync {
    /// Appends `event`.
    fn append(&self, event: &AccountEvent) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes what the event `id` of `account` says happened (a login first recorded as
    /// failed, while its password was being checked, that then succeeded).
    fn amend(
        &self,
        account: &AccountId,
        id: ObjectId,
        kind: EventKind,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every event of `account`. Returns how many there were.
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Up to `limit` events of `account`, newest first, after `cursor`.
    fn page(
        &self,
        account: &AccountId,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AccountEvent>, StoreError>> + Send;
}

/// The pseudonymous id a deleted account's deletion event is kept under: the first 24 hex
/// digits of the SHA-256 of the account id, so it names no account that exists, and an
/// operator who has the old id (from a support request) can still find it.
pub fn pseudonym(account: &AccountId) -> AccountId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("deleted:{}", account.as_str()).as_bytes());
    let hex: String = digest
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    AccountId::parse(&hex).expect("24 lowercase hex digits")
}

/// The longest a request waits for its event to be written: a slow or stuck write is given
/// up (and logged) rather than holding the request, whose answer must not depend on it.
pub const WRITE_BUDGET: Duration = Duration::from_millis(250);

/// Appends `event` within [`WRITE_BUDGET`], logging a failure instead of answering with it.
pub async fn record(store: &impl AccountEventStore, event: &AccountEvent) {
    match tokio::time::timeout(WRITE_BUDGET, store.append(event)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, kind = ?event.kind, "security event not recorded"),
        Err(_) => tracing::warn!(kind = ?event.kind, "security event not recorded in time"),
    }
}

/// Amends an event within [`WRITE_BUDGET`], logging a failure instead of answering with it.
pub async fn amend(store: &impl AccountEventStore, event: &AccountEvent, kind: EventKind) {
    match tokio::time::timeout(WRITE_BUDGET, store.amend(&event.account, event.id, kind)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, ?kind, "security event not amended"),
        Err(_) => tracing::warn!(?kind, "security event not amended in time"),
    }
}

/// How long events are kept: [`SECURITY_EVENT_RETENTION_DAYS`], 1 to 3650, default 90.
pub fn retention_from(source: &impl Source) -> Result<Duration, ConfigError> {
    let days: u64 = parsed_or(source, SECURITY_EVENT_RETENTION_DAYS, 90)?;
    if !(1..=3650).contains(&days) {
        return Err(ConfigError::Invalid {
            var: SECURITY_EVENT_RETENTION_DAYS,
            reason: "must be between 1 and 3650".to_owned(),
        });
    }
    Ok(Duration::from_secs(days * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn a_cursor_round_trips_and_nonsense_is_none() {
        let event = AccountEvent::new(
            &AccountId::parse("2bd806c97f0e00af1a1fc332").unwrap(),
            EventKind::LoginSucceeded,
            UNIX_EPOCH + Duration::from_millis(1_795_926_600_123),
            &RequestSource::default(),
        );
        let cursor = Cursor::after(&event);
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        for nonsense in ["", "12", "x-y", "12-nothex", "-5f2b"] {
            assert_eq!(Cursor::decode(nonsense), None, "{nonsense}");
        }
    }

    #[test]
    fn retention_is_days_within_bounds() {
        assert_eq!(retention_from(&[("X", "")]).unwrap(), DEFAULT_RETENTION);
        assert_eq!(
            retention_from(&[(SECURITY_EVENT_RETENTION_DAYS, "7")]).unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        for bad in ["0", "3651", "week"] {
            assert!(retention_from(&[(SECURITY_EVENT_RETENTION_DAYS, bad)]).is_err());
        }
    }

    #[test]
    fn the_owner_sees_that_an_administrator_acted_but_not_who_or_from_where() {
        let account = AccountId::parse("2bd806c97f0e00af1a1fc332").unwrap();
        let admin = AccountId::parse("5f1d7c2e9a4b3c6d7e8f9a0b").unwrap();
        let client = RequestSource {
            ip: Some("198.51.100.7".to_owned()),
            user_agent: Some("admin-console/1.0".to_owned()),
        };
        let event = AccountEvent::by_admin(
            &account,
            EventKind::AccountDisabled,
            UNIX_EPOCH,
            &client,
            &admin,
        );
        let owners = shown(&event, false);
        assert_eq!(owners["by_administrator"], true);
        assert_eq!(
            (&owners["ip"], &owners["user_agent"], owners.get("actor")),
            (&serde_json::Value::Null, &serde_json::Value::Null, None),
            "{owners}"
        );
        let administrators = shown(&event, true);
        assert_eq!(administrators["actor"], admin.as_str());
        assert_eq!(administrators["ip"], "198.51.100.7");
        let own = AccountEvent::new(&account, EventKind::LoginSucceeded, UNIX_EPOCH, &client);
        assert_eq!(
            shown(&own, false)["ip"],
            "198.51.100.7",
            "the owner's own IP"
        );
    }

    #[test]
    fn kinds_are_snake_case_in_json() {
        assert_eq!(
            serde_json::to_value(EventKind::RefreshTokenReused).unwrap(),
            "refresh_token_reused"
        );
    }
}
