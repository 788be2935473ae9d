//! Taking back what the caller allowed a third-party application.

use crate::State;
use lambda_http::{Body, Request, RequestExt as _, Response};
use shared::access::relying_parties::RelyingPartyId;
use shared::authorization::codes::AuthorizationCodeStore as _;
use shared::authorization::consents::ConsentStore as _;
use shared::edge::principal::authenticated_user;
use shared::identity::account_events::EventKind;
use shared::platform::http::ApiError;
use shared::sessions::SessionStore as _;
use shared::stores::Stores;

const CONSENT_NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "consent_not_found",
    message: "you have not allowed an application with this id",
};

/// Forgets what the caller allowed the application `{client_id}`, ends its sessions of the
/// caller's account and deletes its codes not yet exchanged: its refresh tokens stop working
/// at once, and its next sign-in asks for consent again. `204`, or `404 consent_not_found`
/// when there was neither a consent nor a session.
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
    let store = |error: shared::platform::database::StoreError| ApiError::from_store(&error);
    // The consent goes first: an exchange that starts a session after this sees no consent
    // and ends it; one that started before is ended below. A retry after a failure still
    // ends what the application holds.
    let revoked = state
        .stores
        .consents()
        .revoke(&user.id, &client)
        .await
        .map_err(store)?;
    let (codes, ended) = tokio::join!(
        state
            .stores
            .authorization_codes()
            .delete_client(&user.id, &client),
        state.stores.sessions().revoke_client(&user.id, &client),
    );
    let codes = codes.map_err(store)?;
    let ended = ended.map_err(store)?;
    if !revoked && ended == 0 && codes == 0 {
        return Err(CONSENT_NOT_FOUND);
    }
    crate::record(state, &user.id, EventKind::ConsentRevoked, request).await;
    tracing::info!(username = %user.username, client = %client, sessions_ended = ended, "consent revoked");
    Ok(crate::no_content())
}
