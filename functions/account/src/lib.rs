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
use shared::clock::Clock;
use shared::credentials::{CredentialError, Password, Username};
use shared::hashing::PasswordHasher;
use shared::http::{
    ApiError, body_text, has_content_type, json_object, json_response, resource_path, string_field,
};
use shared::lockout::LoginAttempts;
use shared::principal::authenticated_user;
use shared::refresh::RefreshTokenStore;
use shared::users::{User, UserStore};

/// What the account function needs, built once per execution environment.
pub struct AccountService<S, A, R> {
    /// Where accounts live.
    pub store: S,
    /// Failed-password counters, shared with the login.
    pub attempts: A,
    /// Refresh tokens, revoked on every change here.
    pub refresh_tokens: R,
    /// Verifies the current password and hashes the new one.
    pub hasher: PasswordHasher,
    /// The time used for locks and modification dates.
    pub clock: Clock,
}

/// Handles one request, chosen by its API Gateway resource path. Every outcome is a response.
pub async fn handle<S, A, R>(service: &AccountService<S, A, R>, request: Request) -> Response<Body>
where
    S: UserStore,
    A: LoginAttempts,
    R: RefreshTokenStore,
{
    let outcome = match resource_path(&request).as_str() {
        "/users/me/password" => change_password(service, &request).await,
        _ => logout_everywhere(service, &request).await,
    };
    match outcome {
        Ok(message) => json_response(StatusCode::OK, &json!({ "message": message })),
        Err(error) => error.into_response(),
    }
}

async fn logout_everywhere<S: UserStore, A, R: RefreshTokenStore>(
    service: &AccountService<S, A, R>,
    request: &Request,
) -> Result<&'static str, ApiError> {
    let user = authenticated_user(&service.store, request).await?;
    let username = username_of(&user)?;
    service
        .store
        .bump_token_version(&username, service.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    revoke_refresh_tokens(service, &username).await?;
    tracing::info!(username = %username, "signed out everywhere");
    Ok("signed out everywhere: every access and refresh token issued so far is revoked")
}

async fn change_password<S: UserStore, A: LoginAttempts, R: RefreshTokenStore>(
    service: &AccountService<S, A, R>,
    request: &Request,
) -> Result<&'static str, ApiError> {
    let user = authenticated_user(&service.store, request).await?;
    let username = username_of(&user)?;
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let current = Password::presented(string_field(&fields, "current_password")?);
    let new_password = Password::for_new_account(string_field(&fields, "new_password")?, &username)
        .map_err(|error| new_password_refused(&error))?;

    let now = service.clock.now();
    let record = service
        .attempts
        .record(&username)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if let Some(left) = record.remaining_lock(now) {
        tracing::info!(username = %username, "password change refused: locked");
        return Err(ApiError::TooManyAttempts {
            retry_after_seconds: shared::lockout::retry_after_seconds(left),
        });
    }
    let matches = service
        .hasher
        .verify(&current, &user.password_hash)
        .await
        .map_err(internal)?;
    if !matches {
        service
            .attempts
            .record_failure(&username, now)
            .await
            .map_err(|error| ApiError::from_store(&error))?;
        tracing::info!(username = %username, "password change refused: wrong current password");
        return Err(ApiError::WrongPassword);
    }

    let new_hash = service.hasher.hash(&new_password).await.map_err(internal)?;
    let changed = service
        .store
        .change_password(&username, &user.password_hash, &new_hash, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !changed {
        // The stored hash moved since we read it: a concurrent change won.
        tracing::info!(username = %username, "password change lost a race");
        return Err(ApiError::WrongPassword);
    }
    if record.failures > 0 {
        service
            .attempts
            .reset(&username)
            .await
            .map_err(|error| ApiError::from_store(&error))?;
    }
    revoke_refresh_tokens(service, &username).await?;
    tracing::info!(username = %username, "password changed");
    Ok("password changed: sign in again on every device")
}

fn username_of(user: &User) -> Result<Username, ApiError> {
    Username::parse(&user.username).map_err(|_| ApiError::Forbidden)
}

async fn revoke_refresh_tokens<S, A, R: RefreshTokenStore>(
    service: &AccountService<S, A, R>,
    username: &Username,
) -> Result<(), ApiError> {
    service
        .refresh_tokens
        .revoke_user(username)
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
