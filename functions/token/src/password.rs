//! The password grant's credential check, with the per-username lockout.

use crate::oauth::OAuthError;
use crate::{SignInContext, server_error, store_error};
use shared::abuse::login_failures::{Attempt, LoginFailureStore, lock_after};
use shared::factors::hashing::PasswordHasher;
use shared::factors::hashing::legacy::HashFormat;
use shared::factors::second_factors::SecondFactorStore;
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::credentials::{Password, Username};
use shared::identity::users::{User, UserStore};
use shared::platform::http::RequestSource;
use shared::platform::metrics::SecurityEvent;
use shared::stores::Stores;

/// A correct password for an enabled account.
pub(crate) struct PasswordLogin {
    /// The account.
    pub user: User,
    /// Whether it has a confirmed second factor: then the login needs the MFA grant.
    pub second_factor_on: bool,
    /// The login's security event, recorded as failed while the password was checked: the
    /// caller amends it to what happened.
    pub event: AccountEvent,
    /// The count the check took from its source address: the caller gives it back
    /// ([`SourceClaim::refund`]) beside its other writes.
    pub source: SourceClaim,
}

/// The account when the credentials are right, the account enabled, and neither the username
/// locked nor the source address over its hourly failures ([`SourceClaim`]). The attempt is
/// claimed (and counted) against both before the password is checked, so no more passwords
/// are checked than the lockout and the address's limit allow, however many requests run at
/// once; the caller then calls [`forget_failures`] and gives the address's count back. Every path that checks a password costs one argon2id verification, and unknown
/// usernames are counted and locked like known ones, so neither the answer nor its timing
/// tells whether an account exists.
pub(crate) async fn authenticate<C: SignInContext>(
    state: &C,
    raw_username: &str,
    raw_password: &str,
    client: &RequestSource,
) -> Result<PasswordLogin, OAuthError> {
    check_credentials(state, raw_username, raw_password, client).await
}

/// One password check counted against its source address before it runs: the address's
/// counter for the hour goes up first, atomically, so of any number of parallel attempts
/// from one address at most the limit are hashed; past it the answer is `429` with
/// `Retry-After` (the end of the hour) and nothing is hashed. A check that succeeds gives
/// its count back, so the counter holds the address's failures (and attempts in flight).
pub(crate) struct SourceClaim {
    /// The limit, the address's subject and when the count was taken.
    counted: Option<(
        shared::abuse::rate_limits::Limit,
        String,
        std::time::SystemTime,
    )>,
}

impl SourceClaim {
    /// Counts the attempt against its source address: `429` past the address's limit.
    async fn take<C: SignInContext>(state: &C, client: &RequestSource) -> Result<Self, OAuthError> {
        // A request without a source address (not through API Gateway) is not counted: one
        // shared "unknown" bucket would let anyone lock everyone out.
        let (Some(limit), Some(_)) = (state.password_failures_per_ip(), &client.ip) else {
            return Ok(Self { counted: None });
        };
        let subject = shared::mail::flows::ip_subject(client.ip.as_deref());
        let now = state.clock().now();
        let decision =
            shared::abuse::rate_limits::hit(state.stores().rate_limits(), &limit, &subject, now)
                .await
                .map_err(store_error)?;
        if let shared::abuse::rate_limits::Decision::Refused {
            retry_after_seconds,
        } = decision
        {
            tracing::info!(source = %subject, "login refused: too many failed passwords from this address");
            state.metrics().record(SecurityEvent::SourceThrottled);
            return Err(OAuthError::SourceThrottled {
                retry_after: std::time::Duration::from_secs(retry_after_seconds),
            });
        }
        Ok(Self {
            counted: Some((limit, subject, now)),
        })
    }

    /// Gives the count back, to the window it was taken from, after a correct password or
    /// an attempt refused before any check (a locked name). A failure here only brings the
    /// address's limit closer, so it is logged.
    pub(crate) async fn refund<C: SignInContext>(&self, state: &C) {
        let Some((limit, subject, taken_at)) = &self.counted else {
            return;
        };
        let refunded = shared::abuse::rate_limits::refund(
            state.stores().rate_limits(),
            limit,
            subject,
            *taken_at,
        );
        if let Err(error) = refunded.await {
            tracing::warn!(%error, "a login's count was not given back to its address");
        }
    }
}

async fn check_credentials<C: SignInContext>(
    state: &C,
    raw_username: &str,
    raw_password: &str,
    client: &RequestSource,
) -> Result<PasswordLogin, OAuthError> {
    let password = Password::presented(raw_password);
    let Ok(username) = Username::parse(raw_username) else {
        // No account can have this name, and it has no counter to lock; the address's does.
        SourceClaim::take(state, client).await?;
        if !password.exceeds_presented_limit() {
            verify_dummy(state.hasher(), &password).await?;
        }
        tracing::info!("login refused: unknown user");
        return Err(OAuthError::InvalidGrant);
    };
    let (users, login_failures) = (state.stores().users(), state.stores().login_failures());
    let now = state.clock().now();
    // The claims count this attempt before any hashing, so parallel guesses cannot all read
    // "not locked" first. The user read rides along: one round trip instead of three.
    let (source, attempt, found) = tokio::join!(
        SourceClaim::take(state, client),
        login_failures.claim_attempt(&username, now),
        users.find(&username)
    );
    let source = source?;
    let (attempt, found) = (attempt.map_err(store_error)?, found.map_err(store_error)?);
    let locked = matches!(attempt, Attempt::Locked { .. });
    // A name this service does not know may be one the old system does (the migration hook),
    // asked only for an attempt the lockout lets through, with a password a login checks.
    let found = match found {
        None if !locked && !password.exceeds_presented_limit() => {
            crate::migration::import(state, &username, &password, client).await?
        }
        found => found,
    };
    // What was typed as a username may be a password typed into the wrong field: it is
    // logged only when it names an account.
    let account = found.as_ref().map(|user| user.username.to_string());
    let failures = match attempt {
        Attempt::Granted { failures } => failures,
        Attempt::Locked {
            failures,
            retry_after,
        } => {
            tracing::info!(username = account, failures, "login refused: locked");
            // No password was checked: the address's count goes back.
            source.refund(state).await;
            state.metrics().record(SecurityEvent::LockedOut);
            return Err(OAuthError::TooManyAttempts { retry_after });
        }
    };

    let refusal = match found {
        // Wrong for every account, so it is counted like any wrong password, unhashed.
        _ if password.exceeds_presented_limit() => "password longer than any login checks",
        None => {
            verify_dummy(state.hasher(), &password).await?;
            "unknown user"
        }
        Some(user) => {
            // The second factor is read, and the attempt recorded as failed, while the
            // password hashes: no added latency, and done for wrong passwords too, so the
            // answer and its timing depend on neither.
            let mut event = AccountEvent::new(&user.id, EventKind::LoginFailed, now, client);
            event.locked_for_seconds = lock_after(failures).map(|lock| lock.as_secs());
            let (matches, factor, ()) = tokio::join!(
                verify_stored(state.hasher(), &username, &password, &user),
                state.stores().second_factors().find(&user.id),
                account_events::record(state.stores().events(), &event)
            );
            match (matches?, user.disabled) {
                (true, false) => {
                    let second_factor_on = factor
                        .map_err(store_error)?
                        .is_some_and(|factor| factor.confirmed);
                    upgrade_outdated_hash(state, &user, &password).await;
                    return Ok(PasswordLogin {
                        user,
                        second_factor_on,
                        event,
                        source,
                    });
                }
                (false, _) => "wrong password",
                (true, true) => "account disabled",
            }
        }
    };
    tracing::info!(username = account, failures, "login refused: {refusal}");
    state.metrics().record(SecurityEvent::FailedLogin);
    Err(OAuthError::InvalidGrant)
}

/// Deletes the failure counter after a successful login. A failure here must not answer
/// differently from a wrong password's path, so it is only logged: the counter stays, which
/// only brings this user's next lock closer.
pub(crate) async fn forget_failures<C: SignInContext>(state: &C, username: &Username) {
    if let Err(error) = state.stores().login_failures().reset(username).await {
        tracing::warn!(%error, "login succeeded but its failure counter was not reset");
    }
}

/// Checks `password` against the account's stored hash, spending at least one argon2id
/// verification whatever the hash: a FastAPI-era md5_crypt check takes about a millisecond, so
/// without the dummy its answer would come faster than an unknown user's. A hash in no format
/// this project reads is logged and answered like a wrong password (and counted as one).
async fn verify_stored(
    hasher: &PasswordHasher,
    username: &Username,
    password: &Password,
    user: &User,
) -> Result<bool, OAuthError> {
    match HashFormat::of(&user.password_hash) {
        // An argon2id hash written at lighter costs (another app's) would fail faster than
        // an unknown name: it spends the dummy verification on top, as a legacy hash does.
        HashFormat::Argon2id if hasher.costs_less(&user.password_hash) => {
            let matches = hasher.verify(password, &user.password_hash).await;
            verify_dummy(hasher, password).await?;
            matches.map_err(|error| server_error(&error))
        }
        HashFormat::Argon2id => hasher
            .verify(password, &user.password_hash)
            .await
            .map_err(|error| server_error(&error)),
        HashFormat::Sha256Crypt | HashFormat::Md5Crypt => {
            let matches = hasher.verify(password, &user.password_hash).await;
            verify_dummy(hasher, password).await?;
            matches.map_err(|error| server_error(&error))
        }
        HashFormat::Unknown if !user.has_password() => {
            // An account created through another provider: no password signs in to it.
            verify_dummy(hasher, password).await?;
            Ok(false)
        }
        HashFormat::Unknown => {
            tracing::error!(username = %username, "stored password hash in no known format: refused as a wrong password");
            verify_dummy(hasher, password).await?;
            Ok(false)
        }
    }
}

async fn verify_dummy(hasher: &PasswordHasher, password: &Password) -> Result<(), OAuthError> {
    hasher
        .verify_dummy(password)
        .await
        .map_err(|error| server_error(&error))
}

/// After a successful login with a hash that is not argon2id at this project's parameters
/// (a FastAPI-era hash, or argon2 the FastAPI app wrote with argon2-cffi's costs), stores
/// the argon2id hash of the same password in its place, conditionally on the old hash still
/// being there: its failures then cost what every other account's do. A failure here does
/// not fail the login: the next one tries again.
async fn upgrade_outdated_hash<C: SignInContext>(state: &C, user: &User, password: &Password) {
    let (users, hasher, clock) = (state.stores().users(), state.hasher(), state.clock());
    let format = HashFormat::of(&user.password_hash);
    if hasher.is_current(&user.password_hash) {
        return;
    }
    let username = &user.username;
    let new_hash = match hasher.hash(password).await {
        Ok(hash) => hash,
        Err(error) => {
            tracing::error!(%error, "hashing for the legacy upgrade failed");
            return;
        }
    };
    match users
        .upgrade_hash(
            &user.id,
            username,
            &user.password_hash,
            &new_hash,
            clock.now(),
        )
        .await
    {
        Ok(true) => {
            tracing::info!(username = %username, from = ?format, "hash upgraded to argon2id at this project's parameters");
            state.metrics().record(SecurityEvent::LegacyHashUpgrade);
        }
        Ok(false) => {
            tracing::info!(username = %username, "legacy hash already replaced by a concurrent request")
        }
        Err(error) => {
            tracing::warn!(%error, "legacy hash upgrade failed; retried at the next login")
        }
    }
}
