//! Public routes that work with the codes this service emails:
//!
//! - `POST /email/verify` `{"code"}` makes the address the code was sent to the account's
//!   verified address (and tells the address it replaces);
//! - `POST /password-reset` `{"username"}` or `{"email"}` sends a reset code to the
//!   account's verified address, answering the same bytes after the same time whether or not
//!   there is an account or an address to send to;
//! - `POST /password-reset/confirm` `{"code","new_password"}` sets the password (the sign-up
//!   policy applies), bumps the token version, ends every session and sends a notice.
//!
//! Codes are single-use (one find-and-delete decides between concurrent redemptions); a
//! wrong, expired or spent code is one answer, `400 invalid_code`. Requests and redemptions
//! are rate-limited per source IP and per account with atomic counters
//! ([`shared::abuse::rate_limits`]).

pub mod reset;
mod verify;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::factors::hashing::PasswordHasher;
use shared::mail::flows::Outgoing;
use shared::mail::sender::{MailSettings, Mailer};
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{Route, json_response, not_found, route};
use shared::platform::metrics::Metrics;
use shared::stores::Stores;
use std::time::Duration;

/// How long every answer to a reset request takes: longer than looking up an account,
/// storing a code and handing the mail to SES usually take, so the time says nothing about
/// the account. A request that takes longer is counted (`SlowResetRequests`).
pub const RESET_ANSWER_TIME: Duration = Duration::from_millis(500);

/// What the recovery function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts, codes, rate limits, sessions.
    pub stores: S,
    /// Hashes the new password.
    pub hasher: PasswordHasher,
    /// Where mail goes.
    pub mailer: Mailer,
    /// Code lifetimes and the frontend URL.
    pub mail: MailSettings,
    /// The time codes and limits are judged at.
    pub clock: Clock,
    /// Mail failures, rate limits, slow reset requests.
    pub metrics: Metrics,
    /// The fixed time of a reset request's answer ([`RESET_ANSWER_TIME`]).
    pub reset_answer_time: Duration,
    /// The scopes each role grants (`ROLES`): a code an administrator issued works only
    /// while their roles still allow it.
    pub roles: shared::access::roles::Roles,
    /// Refuses new passwords known from data breaches.
    pub breached: shared::factors::breached_passwords::BreachedPasswords,
    /// The custom-message, post-confirmation and user-migration hooks (`HOOK_CUSTOM_MESSAGE`,
    /// `HOOK_POST_CONFIRMATION`, `HOOK_USER_MIGRATION`), when configured.
    pub hooks: shared::hooks::Hooks,
}

impl<S> State<S> {
    /// The state from the environment (hashing and mail settings).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            hasher: PasswordHasher::from_source(env)?,
            roles: shared::access::roles::Roles::from_source(env)?,
            mailer: Mailer::from_source(env)?,
            mail: MailSettings::from_source(env)?,
            clock: Clock::system(),
            metrics: Metrics::from_source(env),
            reset_answer_time: RESET_ANSWER_TIME,
            breached: shared::factors::breached_passwords::BreachedPasswords::from_source(env)?,
            hooks: shared::hooks::Hooks::from_source(
                env,
                &[
                    shared::hooks::Trigger::CustomMessage,
                    shared::hooks::Trigger::PostConfirmation,
                    shared::hooks::Trigger::UserMigration,
                ],
                Metrics::from_source(env),
            )?,
        })
    }
}

impl<S: Stores> State<S> {
    fn outgoing(&self) -> Outgoing<'_, S::EmailCodes> {
        Outgoing::new(
            self.stores.email_codes(),
            &self.mailer,
            &self.mail,
            &self.metrics,
        )
        .with_hooks(&self.hooks)
    }
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Redeem a verification code.
    VerifyEmail,
    /// Ask for a reset code.
    RequestReset,
    /// Redeem a reset code with a new password.
    ConfirmReset,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 3] = [
    (Route::post("/email/verify"), Endpoint::VerifyEmail),
    (Route::post("/password-reset"), Endpoint::RequestReset),
    (
        Route::post("/password-reset/confirm"),
        Endpoint::ConfirmReset,
    ),
];

/// Handles one request; every outcome is a response, never cached.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::VerifyEmail) => verify::verify(state, &request)
            .await
            .map(|body| (StatusCode::OK, body)),
        Some(Endpoint::RequestReset) => reset::request(state, &request)
            .await
            .map(|body| (StatusCode::ACCEPTED, body)),
        Some(Endpoint::ConfirmReset) => reset::confirm(state, &request)
            .await
            .map(|body| (StatusCode::OK, body)),
        None => return not_found(&request),
    };
    match outcome {
        Ok((status, body)) => json_response(status, &body),
        Err(error) => error.into_response(),
    }
}

/// The hash of a presented code, after counting the request against the per-address limit on
/// redemptions (`429 rate_limited` past it): how both code-redeeming routes begin. A code
/// that cannot be one of ours is `400 invalid_code`.
async fn redeemable_code_hash<S: Stores>(
    state: &State<S>,
    request: &Request,
    presented: &str,
    now: std::time::SystemTime,
) -> Result<String, shared::platform::http::ApiError> {
    shared::mail::flows::limit(
        state.stores.rate_limits(),
        &state.metrics,
        &shared::abuse::rate_limits::REDEMPTIONS_PER_IP,
        &source_ip(request),
        now,
    )
    .await?;
    shared::mail::email_codes::hash(presented).ok_or(shared::platform::http::ApiError::InvalidCode)
}

fn source_ip(request: &Request) -> String {
    shared::mail::flows::ip_subject(
        shared::platform::http::RequestSource::of(request)
            .ip
            .as_deref(),
    )
}

async fn record<S: Stores>(
    state: &State<S>,
    account: &shared::identity::account_id::AccountId,
    kind: shared::identity::account_events::EventKind,
    request: &Request,
) {
    let client = shared::platform::http::RequestSource::of(request);
    let event = shared::identity::account_events::AccountEvent::new(
        account,
        kind,
        state.clock.now(),
        &client,
    );
    shared::identity::account_events::record(state.stores.events(), &event).await;
}
