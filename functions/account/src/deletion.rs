//! `DELETE /users/me`: the owner deletes their account.

use crate::State;
use crate::reauthentication;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::platform::http::ApiError;
use shared::stores::Stores;

/// Deletes the caller's account after a recent login, the current password and (with a
/// second factor on) a code: first what is keyed to it except the second factor (sessions,
/// pending second-factor logins, failure counters, security history), so a failure leaves an
/// account, still guarded by its second factor, that can try again; then the account, which
/// every protected function refuses from then on; then everything keyed to it, the second
/// factor included, once more (a login racing the deletion may have added some). Only the
/// deletion event stays, under [`account_events::pseudonym`]. `204`; `409
/// last_administrator` for the last enabled administrator.
pub(crate) async fn delete<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let (caller, fields) = reauthentication::sensitive_request(state, request).await?;
    reauthentication::confirm_current_password(state, &caller, &fields, request).await?;
    let user = &caller.user;
    let now = state.clock.now();
    let deletion = async {
        shared::lifecycle::account_removal::delete_account(&state.stores, user, None, now)
            .await
            .map_err(|error| ApiError::from_store(&error))
    };
    shared::lifecycle::administrators::keeping_one(
        &state.stores,
        &state.roles,
        now,
        user,
        &[],
        deletion,
    )
    .await?;
    tracing::info!(pseudonym = %shared::identity::account_events::pseudonym(&user.id), "account deleted");
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
