//! The refresh-token grant: rotation, reuse detection, and the account's current state.

use crate::oauth::OAuthError;
use crate::{State, store_error};
use shared::refresh::{Exchange, RefreshRecord, RefreshTokenStore};
use shared::stores::Stores;
use shared::users::UserStore;

/// Marks the presented token used and returns its record, when the token is active, its
/// account enabled and its token version current. A replayed token revokes its family; every
/// refusal is the same `invalid_grant`.
pub(crate) async fn exchange<S: Stores>(
    state: &State<S>,
    presented: &str,
) -> Result<RefreshRecord, OAuthError> {
    let refresh_tokens = state.stores.refresh_tokens();
    if !shared::refresh::well_formed(presented) {
        tracing::info!("refresh refused: not a refresh token");
        return Err(OAuthError::InvalidRefreshToken);
    }
    let hash = shared::refresh::hash(presented);
    let now = state.clock.now();
    let record = match refresh_tokens
        .exchange(&hash, now)
        .await
        .map_err(store_error)?
    {
        Exchange::Rotated(record) => record,
        Exchange::Reused { family } => {
            let revoked = refresh_tokens
                .revoke_family(&family)
                .await
                .map_err(store_error)?;
            tracing::warn!(%family, revoked, "refresh token reused: family revoked");
            return Err(OAuthError::InvalidRefreshToken);
        }
        Exchange::Invalid => {
            tracing::info!("refresh refused: unknown, expired or revoked token");
            return Err(OAuthError::InvalidRefreshToken);
        }
    };

    let username = &record.username;
    let user = state
        .stores
        .users()
        .find(username)
        .await
        .map_err(store_error)?;
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
    refresh_tokens
        .revoke_family(&record.family)
        .await
        .map_err(store_error)?;
    tracing::info!(username = %username, family = %record.family, "refresh refused: {refusal}");
    Err(OAuthError::InvalidRefreshToken)
}
