//! The caller's account security, behind the authorizer:
//!
//! - `POST /users/me/password` `{"current_password","new_password"}` changes the password
//!   (sign-up policy for the new one, per-username lockout on wrong current passwords);
//! - `POST /users/me/logout` signs the caller out everywhere;
//! - `DELETE /users/me/sessions/{id}` ends one session of the caller's;
//! - `DELETE /users/me/consents/{client_id}` takes back what a third-party application was
//!   allowed, and ends its sessions;
//! - `DELETE /users/me` deletes the account and everything keyed to it;
//! - `POST /users/me/mfa/totp` starts a TOTP enrolment, `POST /users/me/mfa/totp/confirm`
//!   turns it on with a first code and answers the recovery codes,
//!   `POST /users/me/mfa/totp/disable` turns it off, `POST /users/me/mfa/recovery-codes`
//!   replaces the recovery codes;
//! - `PUT /users/me/email` `{"email"}` sends a verification code to a new address (the
//!   current one stays until the code comes back), `POST /users/me/email/verification` sends
//!   the waiting address another code, `DELETE /users/me/email` removes the addresses;
//! - `POST /users/me/passkeys/registration-options` and `POST /users/me/passkeys` register a
//!   passkey (WebAuthn), `DELETE /users/me/passkeys/{id}` deletes one;
//! - `DELETE /users/me/identities/{id}` unlinks an identity at another provider; neither
//!   it nor a passkey's deletion takes the account's last way to sign in ([`identities`]);
//!   `PUT /users/me/username` replaces a name proposed at a first sign-in there, once.
//!
//! The password change and every second-factor route need a recent login; with a second
//! factor on, the password change, turning it off and new recovery codes also need a code
//! from it in the same request ([`reauthentication`]). The password change and logout bump
//! the account's token version, which the protected functions compare with every access
//! token's `ver`, and revoke every refresh-token family of the account.

mod consents;
mod deletion;
mod email;
mod identities;
mod passkeys;
mod password;
pub mod reauthentication;
mod second_factor;
mod sessions;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::factors::hashing::PasswordHasher;
use shared::factors::mfa::MfaSettings;
use shared::factors::passkeys::webauthn::PasskeySettings;
use shared::mail::flows::Outgoing;
use shared::mail::sender::{MailSettings, Mailer};
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{ApiError, Route, json_response, not_found, route};
use shared::platform::metrics::Metrics;
use shared::stores::Stores;

/// What the account function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts, failed-login counters (shared with the login), refresh tokens and second
    /// factors.
    pub stores: S,
    /// Verifies the current password and hashes the new one.
    pub hasher: PasswordHasher,
    /// Seals TOTP secrets; the recent-login window.
    pub mfa: MfaSettings,
    /// The time used for locks, codes and modification dates.
    pub clock: Clock,
    /// Security events (wrong current passwords and codes, locked-out attempts).
    pub metrics: Metrics,
    /// Where verification codes and notices go.
    pub mailer: Mailer,
    /// Code lifetimes and the frontend URL.
    pub mail: MailSettings,
    /// The WebAuthn relying party passkeys are registered for.
    pub passkeys: PasskeySettings,
    /// The roles accounts hold (`ROLES`): the last administrator may not delete itself.
    pub roles: shared::access::roles::Roles,
    /// Refuses new passwords known from data breaches.
    pub breached: shared::factors::breached_passwords::BreachedPasswords,
    /// The custom-message hook (`HOOK_CUSTOM_MESSAGE`), when configured.
    pub hooks: shared::hooks::Hooks,
}

impl<S> State<S> {
    /// The state from the environment (hashing settings, `SECOND_FACTOR_KEYS`).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            hasher: PasswordHasher::from_source(env)?,
            mfa: MfaSettings::from_source(env)?,
            clock: Clock::system(),
            metrics: Metrics::from_source(env),
            mailer: Mailer::from_source(env)?,
            mail: MailSettings::from_source(env)?,
            passkeys: PasskeySettings::from_source(env)?,
            roles: shared::access::roles::Roles::from_source(env)?,
            breached: shared::factors::breached_passwords::BreachedPasswords::from_source(env)?,
            hooks: shared::hooks::Hooks::from_source(
                env,
                &[shared::hooks::Trigger::CustomMessage],
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
    /// Change the password, confirming the current one.
    ChangePassword,
    /// Revoke every token of the account.
    LogoutEverywhere,
    /// Start a TOTP enrolment: a new secret, not yet guarding anything.
    StartTotp,
    /// Turn TOTP on with a first code; answers the recovery codes.
    ConfirmTotp,
    /// Turn TOTP off.
    DisableTotp,
    /// Replace the recovery codes.
    RegenerateRecoveryCodes,
    /// End one session.
    EndSession,
    /// Delete the account.
    DeleteAccount,
    /// Send a verification code to a new address.
    ChangeEmail,
    /// Send the waiting address another code.
    ResendVerification,
    /// Remove the addresses.
    RemoveEmail,
    /// Options for registering a passkey.
    PasskeyRegistrationOptions,
    /// Register a passkey.
    RegisterPasskey,
    /// Delete a passkey.
    DeletePasskey,
    /// Unlink an identity at another provider.
    UnlinkIdentity,
    /// Choose the username once, in place of a proposed one.
    ChooseUsername,
    /// Take back what a third-party application was allowed.
    RevokeConsent,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 17] = [
    (Route::post("/users/me/password"), Endpoint::ChangePassword),
    (Route::post("/users/me/logout"), Endpoint::LogoutEverywhere),
    (Route::post("/users/me/mfa/totp"), Endpoint::StartTotp),
    (
        Route::post("/users/me/mfa/totp/confirm"),
        Endpoint::ConfirmTotp,
    ),
    (
        Route::post("/users/me/mfa/totp/disable"),
        Endpoint::DisableTotp,
    ),
    (
        Route::post("/users/me/mfa/recovery-codes"),
        Endpoint::RegenerateRecoveryCodes,
    ),
    (
        Route::delete("/users/me/sessions/{id}"),
        Endpoint::EndSession,
    ),
    (Route::delete("/users/me"), Endpoint::DeleteAccount),
    (Route::put("/users/me/email"), Endpoint::ChangeEmail),
    (
        Route::post("/users/me/email/verification"),
        Endpoint::ResendVerification,
    ),
    (Route::delete("/users/me/email"), Endpoint::RemoveEmail),
    (
        Route::post("/users/me/passkeys/registration-options"),
        Endpoint::PasskeyRegistrationOptions,
    ),
    (Route::post("/users/me/passkeys"), Endpoint::RegisterPasskey),
    (
        Route::delete("/users/me/passkeys/{id}"),
        Endpoint::DeletePasskey,
    ),
    (
        Route::delete("/users/me/identities/{id}"),
        Endpoint::UnlinkIdentity,
    ),
    (Route::put("/users/me/username"), Endpoint::ChooseUsername),
    (
        Route::delete("/users/me/consents/{client_id}"),
        Endpoint::RevokeConsent,
    ),
];

/// Handles one request; a route this function does not serve is a `404`. Every outcome is a
/// response, never cached (some carry secrets shown once).
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::ChangePassword) => password::change_password(state, &request).await,
        Some(Endpoint::LogoutEverywhere) => password::logout_everywhere(state, &request).await,
        Some(Endpoint::StartTotp) => second_factor::start(state, &request).await,
        Some(Endpoint::ConfirmTotp) => second_factor::confirm(state, &request).await,
        Some(Endpoint::DisableTotp) => second_factor::disable(state, &request).await,
        Some(Endpoint::RegenerateRecoveryCodes) => {
            second_factor::regenerate_recovery_codes(state, &request).await
        }
        Some(Endpoint::ChangeEmail) => {
            return email::change(state, &request)
                .await
                .unwrap_or_else(ApiError::into_response);
        }
        Some(Endpoint::ResendVerification) => {
            return email::resend(state, &request)
                .await
                .unwrap_or_else(ApiError::into_response);
        }
        Some(Endpoint::RemoveEmail) => email::remove(state, &request).await,
        Some(Endpoint::DeleteAccount) => {
            return deletion::delete(state, &request)
                .await
                .unwrap_or_else(ApiError::into_response);
        }
        Some(Endpoint::PasskeyRegistrationOptions) => {
            passkeys::registration_options(state, &request).await
        }
        Some(Endpoint::RegisterPasskey) => {
            return match passkeys::register(state, &request).await {
                Ok((status, body)) => json_response(status, &body),
                Err(error) => error.into_response(),
            };
        }
        Some(Endpoint::DeletePasskey) => {
            return match passkeys::remove(state, &request).await {
                Ok(()) => no_content(),
                Err(error) => error.into_response(),
            };
        }
        Some(Endpoint::ChooseUsername) => {
            return match identities::choose_username(state, &request).await {
                Ok(body) => json_response(lambda_http::http::StatusCode::OK, &body),
                Err(error) => error.into_response(),
            };
        }
        Some(Endpoint::UnlinkIdentity) => {
            return match identities::unlink(state, &request).await {
                Ok(()) => no_content(),
                Err(error) => error.into_response(),
            };
        }
        Some(Endpoint::EndSession) => {
            return sessions::end(state, &request)
                .await
                .unwrap_or_else(ApiError::into_response);
        }
        Some(Endpoint::RevokeConsent) => {
            return consents::revoke(state, &request)
                .await
                .unwrap_or_else(ApiError::into_response);
        }
        None => return not_found(&request),
    };
    match outcome {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

/// Records `kind` in the account's security history (a failure is only logged).
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

pub(crate) fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "account request failed");
    ApiError::Internal
}
