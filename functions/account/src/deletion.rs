//! `DELETE /users/me`: the owner deletes their account.

use crate::State;
use crate::reauthentication;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::platform::http::{ApiError, body_text, has_content_type, json_object, string_field};
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
    let caller = reauthentication::recent_caller(state, request).await?;
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let current = string_field(&fields, "current_password")?;
    reauthentication::confirm_password_and_factor(state, &caller, current, &fields, request)
        .await?;
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
