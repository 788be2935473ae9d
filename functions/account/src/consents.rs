//! Taking back what the caller allowed a third-party application.

use crate::State;
use lambda_http::{Body, Request, RequestExt as _, Response};
use shared::access::relying_parties::RelyingPartyId;
use shared::authorization::consents::ConsentStore as _;
use shared::edge::principal::authenticated_user;
use shared::platform::http::ApiError;
use shared::sessions::SessionStore as _;
use shared::stores::Stores;

const CONSENT_NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "consent_not_found",
    message: "you have not allowed an application with this id",
};

/// Forgets what the caller allowed the application `{client_id}` and ends its sessions of
/// the caller's account: its refresh tokens stop working at once, and its next sign-in asks
/// for consent again. `204`, or `404 consent_not_found`.
pub(crate) async fn revoke<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let user = authenticated_user(state.stores.users(), request, state.clock.now()).await?;
    let client = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("client_id"))
        .and_then(RelyingPartyId::parse)
        .ok_or(CONSENT_NOT_FOUND)?;
    let revoked = state
        .stores
        .consents()
        .revoke(&user.id, &client)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !revoked {
        return Err(CONSENT_NOT_FOUND);
    }
    let ended = state
        .stores
        .sessions()
        .revoke_client(&user.id, &client)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    tracing::info!(username = %user.username, client = %client, sessions_ended = ended, "consent revoked");
    Ok(crate::no_content())
}
