//! The caller's account security, behind the authorizer:
//!
//! - `POST /users/me/password` `{"current_password","new_password"}` changes the password
//!   (sign-up policy for the new one, per-username lockout on wrong current passwords);
//! - `POST /users/me/logout` signs the caller out everywhere.
//!
//! Both bump the account's token version, which the protected functions compare with every
//! access token's `ver`, and revoke every refresh-token family of the account.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::account_id::AccountId;
use shared::clock::Clock;
use shared::config::{ConfigError, Source};
use shared::credentials::{CredentialError, Password};
use shared::hashing::PasswordHasher;
use shared::http::{
    ApiError, Route, body_text, has_content_type, json_object, json_response, not_found, route,
    string_field,
};
use shared::login_failures::{Attempt, LoginFailureStore, retry_after_seconds};
use shared::metrics::{Metrics, SecurityEvent};
use shared::principal::authenticated_user;
use shared::refresh::RefreshTokenStore;
use shared::stores::Stores;
use shared::users::UserStore;

/// What the account function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts, failed-login counters (shared with the login) and refresh tokens.
    pub stores: S,
    /// Verifies the current password and hashes the new one.
    pub hasher: PasswordHasher,
    /// The time used for locks and modification dates.
    pub clock: Clock,
    /// Security events (wrong current passwords, locked-out attempts).
    pub metrics: Metrics,
}

impl<S> State<S> {
    /// The state from the environment (hashing settings).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            hasher: PasswordHasher::from_source(env)?,
            clock: Clock::system(),
            metrics: Metrics::from_source(env),
        })
    }
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Change the password, confirming the current one.
    ChangePassword,
    /// Revoke every token of the account.
    LogoutEverywhere,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 2] = [
    (Route::post("/users/me/password"), Endpoint::ChangePassword),
    (Route::post("/users/me/logout"), Endpoint::LogoutEverywhere),
];

/// Handles one request; a route this function does not serve is a `404`. Every outcome is a
/// response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::ChangePassword) => change_password(state, &request).await,
        Some(Endpoint::LogoutEverywhere) => logout_everywhere(state, &request).await,
        None => return not_found(&request),
    };
    match outcome {
        Ok(message) => json_response(StatusCode::OK, &json!({ "message": message })),
        Err(error) => error.into_response(),
    }
}

async fn logout_everywhere<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<&'static str, ApiError> {
    let user = authenticated_user(state.stores.users(), request, state.clock.now()).await?;
    let username = &user.username;
    state
        .stores
        .users()
        .bump_token_version(&user.id, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    revoke_sessions(state.stores.refresh_tokens(), &user.id).await?;
    tracing::info!(username = %username, "signed out everywhere");
    Ok("signed out everywhere: every access and refresh token issued so far is revoked")
}

async fn change_password<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<&'static str, ApiError> {
    let (users, login_failures) = (state.stores.users(), state.stores.login_failures());
    let user = authenticated_user(users, request, state.clock.now()).await?;
    let username = &user.username;
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let current = Password::presented(string_field(&fields, "current_password")?);
    let new_password = Password::for_new_account(string_field(&fields, "new_password")?, username)
        .map_err(|error| new_password_refused(&error))?;

    let now = state.clock.now();
    let attempt = login_failures
        .claim_attempt(username, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if let Attempt::Locked { retry_after, .. } = attempt {
        tracing::info!(username = %username, "password change refused: locked");
        state.metrics.record(SecurityEvent::LockedOut);
        return Err(ApiError::TooManyAttempts {
            retry_after_seconds: retry_after_seconds(retry_after),
        });
    }
    let matches = !current.exceeds_presented_limit()
        && state
            .hasher
            .verify(&current, &user.password_hash)
            .await
            .map_err(internal)?;
    if !matches {
        tracing::info!(username = %username, "password change refused: wrong current password");
        state.metrics.record(SecurityEvent::FailedLogin);
        return Err(ApiError::WrongPassword);
    }
    if let Err(error) = login_failures.reset(username).await {
        tracing::warn!(%error, "password confirmed but its failure counter was not reset");
    }

    let new_hash = state.hasher.hash(&new_password).await.map_err(internal)?;
    let changed = users
        .change_password(&user.id, &user.password_hash, &new_hash, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !changed {
        // The stored hash moved since we read it: a concurrent change won.
        tracing::info!(username = %username, "password change lost a race");
        return Err(ApiError::WrongPassword);
    }
    revoke_sessions(state.stores.refresh_tokens(), &user.id).await?;
    tracing::info!(username = %username, "password changed");
    Ok("password changed: sign in again on every device")
}

async fn revoke_sessions(
    refresh_tokens: &impl RefreshTokenStore,
    account: &AccountId,
) -> Result<(), ApiError> {
    refresh_tokens
        .revoke_account(account)
        .await
        .map(|_| ())
        .map_err(|error| ApiError::from_store(&error))
}

fn new_password_refused(error: &CredentialError) -> ApiError {
    ApiError::InvalidField {
        field: "new_password",
        message: format!("new {error}"),
    }
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "password hashing failed");
    ApiError::Internal
}
