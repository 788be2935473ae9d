//! `POST /token`: the OAuth2 password grant. Checks the credentials against the stored
//! argon2id hash and answers an EdDSA access token, or an RFC 6749 error that never reveals
//! whether the username exists. Repeated failures lock the username (see
//! [`shared::lockout`]).

pub mod form;
pub mod oauth;

use lambda_http::{Body, Request, Response};
use oauth::{OAuthError, TokenResponse};
use shared::clock::Clock;
use shared::credentials::{Password, Username};
use shared::db::StoreError;
use shared::hashing::PasswordHasher;
use shared::http::{BodyError, body_text, has_content_type};
use shared::lockout::LoginAttempts;
use shared::tokens::TokenIssuer;
use shared::users::UserStore;

/// What the token endpoint needs, built once per execution environment.
pub struct TokenService<S, A> {
    /// Where accounts are looked up.
    pub store: S,
    /// Where failed logins are counted.
    pub attempts: A,
    /// Verifies passwords (and spends the same work for unknown users).
    pub hasher: PasswordHasher,
    /// Signs access tokens.
    pub issuer: TokenIssuer,
    /// The time used for locks and token lifetimes.
    pub clock: Clock,
}

/// Handles one token request. Every outcome is a response.
pub async fn handle<S: UserStore, A: LoginAttempts>(
    service: &TokenService<S, A>,
    request: Request,
) -> Response<Body> {
    match grant(service, &request).await {
        Ok(token) => token.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn grant<S: UserStore, A: LoginAttempts>(
    service: &TokenService<S, A>,
    request: &Request,
) -> Result<TokenResponse, OAuthError> {
    if !has_content_type(request, "application/x-www-form-urlencoded") {
        return Err(OAuthError::UnsupportedMediaType);
    }
    let body = body_text(request).map_err(|error| match error {
        BodyError::TooLarge => OAuthError::PayloadTooLarge,
        BodyError::NotUtf8 => OAuthError::InvalidRequest(error.to_string()),
    })?;
    let grant = form::parse(body)?;
    let password = Password::presented(&grant.password);
    let username = authenticate(service, &grant.username, &password).await?;

    let issued = service
        .issuer
        .issue(&username, service.clock.now())
        .map_err(|error| {
            tracing::error!(%error, "signing failed");
            OAuthError::ServerError
        })?;
    tracing::info!(username = %username, jti = %issued.token_id, "access token issued");
    Ok(TokenResponse {
        access_token: issued.token,
        token_type: "bearer",
        expires_in: issued.expires_in,
    })
}

/// The stored username when the credentials are right, the account enabled and the username
/// not locked. Every path that checks a password costs one argon2id verification, and
/// unknown usernames are counted and locked like known ones, so neither the answer nor its
/// timing tells whether an account exists.
async fn authenticate<S: UserStore, A: LoginAttempts>(
    service: &TokenService<S, A>,
    raw_username: &str,
    password: &Password,
) -> Result<String, OAuthError> {
    let Ok(username) = Username::parse(raw_username) else {
        // No account can have this name, and it has no counter to lock.
        verify_dummy(service, password).await?;
        tracing::info!("login refused: unknown user");
        return Err(OAuthError::InvalidGrant);
    };
    let now = service.clock.now();
    let record = service
        .attempts
        .record(&username)
        .await
        .map_err(store_error)?;
    if let Some(retry_after) = record.remaining_lock(now) {
        tracing::info!(username = %username, failures = record.failures, "login refused: locked");
        return Err(OAuthError::TooManyAttempts { retry_after });
    }

    let refusal = match service.store.find(&username).await.map_err(store_error)? {
        None => {
            verify_dummy(service, password).await?;
            "unknown user"
        }
        Some(user) => {
            let matches = service
                .hasher
                .verify(password, &user.password_hash)
                .await
                .map_err(|error| server_error(&error))?;
            match (matches, user.disabled) {
                (true, false) => {
                    if record.failures > 0 {
                        service
                            .attempts
                            .reset(&username)
                            .await
                            .map_err(store_error)?;
                    }
                    return Ok(user.username);
                }
                (false, _) => "wrong password",
                (true, true) => "account disabled",
            }
        }
    };
    let record = service
        .attempts
        .record_failure(&username, now)
        .await
        .map_err(store_error)?;
    tracing::info!(username = %username, failures = record.failures, "login refused: {refusal}");
    Err(OAuthError::InvalidGrant)
}

async fn verify_dummy<S, A>(
    service: &TokenService<S, A>,
    password: &Password,
) -> Result<(), OAuthError> {
    service
        .hasher
        .verify_dummy(password)
        .await
        .map_err(|error| server_error(&error))
}

fn store_error(error: StoreError) -> OAuthError {
    if error.is_unavailable() {
        tracing::warn!(%error, "database unavailable");
        OAuthError::ServiceUnavailable
    } else {
        server_error(&error)
    }
}

fn server_error(error: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "login check failed");
    OAuthError::ServerError
}
