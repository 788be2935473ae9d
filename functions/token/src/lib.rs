//! `POST /token` and `POST /revoke`.
//!
//! `/token` answers the OAuth2 password grant (argon2id check, per-username lockout, see
//! [`shared::lockout`]) and the refresh-token grant (rotation with reuse detection, see
//! [`shared::refresh`]) with an EdDSA access token and a new refresh token, or an RFC 6749
//! error that never reveals whether a username exists. `/revoke` is RFC 7009 revocation of a
//! refresh token's family.

pub mod form;
pub mod oauth;
mod password;
mod refresh;

use lambda_http::{Body, Request, Response};
use oauth::{OAuthError, TokenResponse};
use secrecy::ExposeSecret;
use shared::clock::Clock;
use shared::credentials::Username;
use shared::db::StoreError;
use shared::hashing::PasswordHasher;
use shared::http::{BodyError, body_text, has_content_type, resource_path};
use shared::lockout::LoginAttempts;
use shared::refresh::{RefreshRecord, RefreshTokenStore};
use shared::tokens::TokenIssuer;
use shared::users::UserStore;

/// What the token endpoint needs, built once per execution environment.
pub struct TokenService<S, A, R> {
    /// Where accounts are looked up.
    pub store: S,
    /// Where failed logins are counted.
    pub attempts: A,
    /// Where refresh-token hashes live.
    pub refresh_tokens: R,
    /// Verifies passwords (and spends the same work for unknown users).
    pub hasher: PasswordHasher,
    /// Signs access tokens; its settings give both token lifetimes.
    pub issuer: TokenIssuer,
    /// The time used for locks and token lifetimes.
    pub clock: Clock,
}

/// Handles one request to `/token` or `/revoke` (chosen by the API Gateway resource path).
/// Every outcome is a response.
pub async fn handle<S, A, R>(service: &TokenService<S, A, R>, request: Request) -> Response<Body>
where
    S: UserStore,
    A: LoginAttempts,
    R: RefreshTokenStore,
{
    let outcome = if resource_path(&request) == "/revoke" {
        revoke(service, &request).await.map(|()| oauth::revoked())
    } else {
        grant(service, &request)
            .await
            .map(TokenResponse::into_response)
    };
    outcome.unwrap_or_else(OAuthError::into_response)
}

/// The form body, after the content type and size checks.
fn form_body(request: &Request) -> Result<&str, OAuthError> {
    if !has_content_type(request, "application/x-www-form-urlencoded") {
        return Err(OAuthError::UnsupportedMediaType);
    }
    body_text(request).map_err(|error| match error {
        BodyError::TooLarge => OAuthError::PayloadTooLarge,
        BodyError::NotUtf8 => OAuthError::InvalidRequest(error.to_string()),
    })
}

async fn grant<S, A, R>(
    service: &TokenService<S, A, R>,
    request: &Request,
) -> Result<TokenResponse, OAuthError>
where
    S: UserStore,
    A: LoginAttempts,
    R: RefreshTokenStore,
{
    match form::parse(form_body(request)?)? {
        form::TokenRequest::Password { username, password } => {
            let user = password::authenticate(service, &username, &password).await?;
            let family = uuid::Uuid::new_v4().to_string();
            issue(service, &user.username, user.token_version, family).await
        }
        form::TokenRequest::Refresh { refresh_token } => {
            let rotated = refresh::exchange(service, &refresh_token).await?;
            issue(
                service,
                &rotated.username,
                rotated.token_version,
                rotated.family,
            )
            .await
        }
    }
}

/// Signs an access token and stores the next refresh token of `family`.
async fn issue<S, A, R: RefreshTokenStore>(
    service: &TokenService<S, A, R>,
    username: &str,
    token_version: u64,
    family: String,
) -> Result<TokenResponse, OAuthError> {
    let now = service.clock.now();
    let access = service
        .issuer
        .issue(username, token_version, now)
        .map_err(|error| server_error(&error))?;
    let parsed = Username::parse(username).map_err(|error| server_error(&error))?;
    let refresh = shared::refresh::generate().map_err(|error| server_error(&error))?;
    let lifetime = service.issuer.settings().refresh_token_ttl;
    let record = RefreshRecord::new(refresh.hash, &parsed, family, token_version, now, lifetime);
    service
        .refresh_tokens
        .insert(&record, now)
        .await
        .map_err(store_error)?;
    tracing::info!(username = %username, jti = %access.token_id, family = %record.family, "tokens issued");
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "bearer",
        expires_in: access.expires_in,
        refresh_token: refresh.secret.expose_secret().to_owned(),
    })
}

/// RFC 7009: revokes the family of the presented refresh token. Unknown, malformed-looking
/// or access tokens are not an error (section 2.2), so the answer reveals nothing.
async fn revoke<S, A, R: RefreshTokenStore>(
    service: &TokenService<S, A, R>,
    request: &Request,
) -> Result<(), OAuthError> {
    let revocation = form::parse_revocation(form_body(request)?)?;
    if !shared::refresh::well_formed(&revocation.token) {
        tracing::info!("revocation of something that is not one of our refresh tokens");
        return Ok(());
    }
    let hash = shared::refresh::hash(&revocation.token);
    let Some(family) = service
        .refresh_tokens
        .family_of(&hash)
        .await
        .map_err(store_error)?
    else {
        tracing::info!("revocation of an unknown refresh token");
        return Ok(());
    };
    let revoked = service
        .refresh_tokens
        .revoke_family(&family)
        .await
        .map_err(store_error)?;
    tracing::info!(%family, revoked, "refresh token family revoked");
    Ok(())
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
    tracing::error!(%error, "token request failed");
    OAuthError::ServerError
}
