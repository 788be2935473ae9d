//! Ending one of the caller's sessions.

use crate::State;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt as _, Response};
use shared::edge::principal::authenticated_user;
use shared::identity::account_events::EventKind;
use shared::platform::http::ApiError;
use shared::sessions::SessionStore;
use shared::stores::Stores;

/// Revokes the session `{id}` if it is one of the caller's and still active: its refresh
/// tokens stop working at once, its access tokens at their expiry. `204`, or `404
/// session_not_found` for an id that is not an active session of the caller's (another
/// account's included, so ids reveal nothing).
pub(crate) async fn end<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let user = authenticated_user(state.stores.users(), request, state.clock.now()).await?;
    let id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .unwrap_or_default();
    let ended = state
        .stores
        .sessions()
        .end_session(&user.id, id)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !ended {
        tracing::info!(username = %user.username, "session end refused: not an active session of the caller");
        return Err(ApiError::NoSuchResource {
            code: "session_not_found",
            message: "no active session of yours has this id",
        });
    }
    crate::record(state, &user.id, EventKind::SessionEnded, request).await;
    tracing::info!(username = %user.username, session = %id, "session ended");
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
