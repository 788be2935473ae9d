//! The refresh-token grant: rotation, reuse detection, and the account's current state.

use crate::oauth::OAuthError;
use crate::{State, store_error};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::users::{User, UserStore};
use shared::platform::http::RequestSource;
use shared::platform::metrics::SecurityEvent;
use shared::sessions::{Rotation, Session, SessionStore};
use shared::stores::Stores;
use std::time::SystemTime;

/// Makes `successor_hash` the session's current refresh token in place of the presented
/// one, and returns the account and the session, when the token is current, the session
/// neither revoked nor over, the account enabled and its token version unchanged. A replayed
/// token revokes its session; every refusal is the same `invalid_grant`.
pub(crate) async fn rotate<S: Stores>(
    state: &State<S>,
    presented: &str,
    successor_hash: &str,
    now: SystemTime,
    client: &RequestSource,
) -> Result<(User, Session), OAuthError> {
    let refresh_tokens = state.stores.sessions();
    if !shared::sessions::well_formed(presented) {
        tracing::info!("refresh refused: not a refresh token");
        return Err(OAuthError::InvalidRefreshToken);
    }
    let hash = shared::sessions::hash(presented);
    let idle = state.issuer.settings().refresh_token_ttl;
    let session = match refresh_tokens
        .rotate(&hash, successor_hash, now, idle)
        .await
        .map_err(store_error)?
    {
        Rotation::Rotated(session) => session,
        Rotation::Reused { family, account } => {
            tracing::warn!(%family, "refresh token reused: session revoked");
            state.metrics.record(SecurityEvent::RefreshTokenReuse);
            let event = AccountEvent::new(&account, EventKind::RefreshTokenReused, now, client);
            account_events::record(state.stores.events(), &event).await;
            return Err(OAuthError::InvalidRefreshToken);
        }
        Rotation::Invalid => {
            tracing::info!("refresh refused: unknown or expired token, or session revoked or over");
            return Err(OAuthError::InvalidRefreshToken);
        }
    };

    let account = &session.account;
    let user = state
        .stores
        .users()
        .find_by_id(account)
        .await
        .map_err(store_error)?;
    let refusal = match user {
        None => "account gone",
        Some(user) if user.disabled => "account disabled",
        Some(user) if user.token_version != session.token_version => "tokens revoked since",
        Some(user) => return Ok((user, session)),
    };
    refresh_tokens
        .revoke_family(&session.family)
        .await
        .map_err(store_error)?;
    tracing::info!(account = %account, family = %session.family, "refresh refused: {refusal}");
    Err(OAuthError::InvalidRefreshToken)
}

/// A relying party's session refreshes only for that relying party, authenticated as at the
/// code exchange; a session begun at `/token` takes no client. A refresh token presented by
/// another client is taken as stolen: its session is revoked.
pub(crate) async fn bound_client<S: Stores>(
    state: &State<S>,
    request: &lambda_http::Request,
    session: &Session,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> Result<(), OAuthError> {
    let Some(grant) = &session.relying_party else {
        return Ok(());
    };
    let authenticated =
        crate::authorization_code::authenticate(state, request, client_id, client_secret).await;
    match authenticated {
        Ok(party) if party.id == grant.client => Ok(()),
        Ok(_) | Err(OAuthError::InvalidClient) => {
            state
                .stores
                .sessions()
                .revoke_family(&session.family)
                .await
                .map_err(store_error)?;
            tracing::warn!(family = %session.family, "refresh refused: presented by another client; session revoked");
            Err(OAuthError::InvalidRefreshToken)
        }
        Err(other) => Err(other),
    }
}
