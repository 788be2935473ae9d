//! The refresh-token grant: rotation, reuse detection, and the account's current state.

use crate::oauth::OAuthError;
use crate::{TokenService, server_error, store_error};
use shared::credentials::Username;
use shared::refresh::{Exchange, RefreshRecord, RefreshTokenStore};
use shared::users::UserStore;

/// Marks the presented token used and returns its record, when the token is active, its
/// account enabled and its token version current. A replayed token revokes its family; every
/// refusal is the same `invalid_grant`.
pub(crate) async fn exchange<S: UserStore, A, R: RefreshTokenStore>(
    service: &TokenService<S, A, R>,
    presented: &str,
) -> Result<RefreshRecord, OAuthError> {
    if !shared::refresh::well_formed(presented) {
        tracing::info!("refresh refused: not a refresh token");
        return Err(OAuthError::InvalidGrant);
    }
    let hash = shared::refresh::hash(presented);
    let now = service.clock.now();
    let record = match service
        .refresh_tokens
        .exchange(&hash, now)
        .await
        .map_err(store_error)?
    {
        Exchange::Rotated(record) => record,
        Exchange::Reused { family } => {
            let revoked = service
                .refresh_tokens
                .revoke_family(&family)
                .await
                .map_err(store_error)?;
            tracing::warn!(%family, revoked, "refresh token reused: family revoked");
            return Err(OAuthError::InvalidGrant);
        }
        Exchange::Invalid => {
            tracing::info!("refresh refused: unknown, expired or revoked token");
            return Err(OAuthError::InvalidGrant);
        }
    };

    let username = Username::parse(&record.username).map_err(|error| server_error(&error))?;
    let user = service.store.find(&username).await.map_err(store_error)?;
    let refusal = match user {
        None => "account gone",
        Some(user) if user.disabled => "account disabled",
        Some(user) if user.token_version != record.token_version => "tokens revoked since",
        Some(user) => {
            return Ok(RefreshRecord {
                username: user.username,
                ..record
            });
        }
    };
    service
        .refresh_tokens
        .revoke_family(&record.family)
        .await
        .map_err(store_error)?;
    tracing::info!(username = %username, family = %record.family, "refresh refused: {refusal}");
    Err(OAuthError::InvalidGrant)
}
