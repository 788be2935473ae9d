//! `POST /token`: the OAuth2 password grant. Checks the credentials against the stored
//! argon2id hash and answers an EdDSA access token, or an RFC 6749 error that never reveals
//! whether the username exists.

pub mod form;
pub mod oauth;

use lambda_http::{Body, Request, Response};
use oauth::{OAuthError, TokenResponse};
use shared::credentials::{Password, Username};
use shared::hashing::PasswordHasher;
use shared::http::{BodyError, body_text, has_content_type};
use shared::tokens::TokenIssuer;
use shared::users::UserStore;
use std::time::SystemTime;

/// What the token endpoint needs, built once per execution environment.
pub struct TokenService<S> {
    /// Where accounts are looked up.
    pub store: S,
    /// Verifies passwords (and spends the same work for unknown users).
    pub hasher: PasswordHasher,
    /// Signs access tokens.
    pub issuer: TokenIssuer,
}

/// Handles one token request. Every outcome is a response.
pub async fn handle<S: UserStore>(service: &TokenService<S>, request: Request) -> Response<Body> {
    match grant(service, &request).await {
        Ok(token) => token.into_response(),
        Err(error) => error.into_response(),
    }
}

async fn grant<S: UserStore>(
    service: &TokenService<S>,
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
        .issue(&username, SystemTime::now())
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

/// The stored username when the credentials are right and the account enabled. Every failing
/// path costs one argon2id verification, so timing does not tell them apart either.
async fn authenticate<S: UserStore>(
    service: &TokenService<S>,
    raw_username: &str,
    password: &Password,
) -> Result<String, OAuthError> {
    let server_error = |error: &dyn std::fmt::Display| {
        tracing::error!(%error, "login check failed");
        OAuthError::ServerError
    };
    let user = match Username::parse(raw_username) {
        Ok(username) => service.store.find(&username).await.map_err(|error| {
            if error.is_unavailable() {
                tracing::warn!(%error, "database unavailable");
                OAuthError::ServiceUnavailable
            } else {
                server_error(&error)
            }
        })?,
        Err(_) => None,
    };
    let Some(user) = user else {
        service
            .hasher
            .verify_dummy(password)
            .await
            .map_err(|error| server_error(&error))?;
        tracing::info!("login refused: unknown user");
        return Err(OAuthError::InvalidGrant);
    };
    let matches = service
        .hasher
        .verify(password, &user.password_hash)
        .await
        .map_err(|error| server_error(&error))?;
    if !matches {
        tracing::info!(username = %user.username, "login refused: wrong password");
        return Err(OAuthError::InvalidGrant);
    }
    if user.disabled {
        tracing::info!(username = %user.username, "login refused: account disabled");
        return Err(OAuthError::InvalidGrant);
    }
    Ok(user.username)
}
