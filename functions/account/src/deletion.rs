//! `DELETE /users/me`: the owner deletes their account.

use crate::State;
use crate::reauthentication;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::account_events::{self, AccountEvent, AccountEventStore, EventKind};
use shared::account_id::AccountId;
use shared::credentials::Username;
use shared::db::StoreError;
use shared::email_codes::EmailCodeStore;
use shared::http::{ApiError, body_text, has_content_type, json_object, string_field};
use shared::login_failures::{LoginFailureStore, SecondFactorFailures};
use shared::mfa_challenges::MfaChallengeStore;
use shared::refresh::{Client, RefreshTokenStore};
use shared::second_factors::SecondFactorStore;
use shared::stores::Stores;
use shared::users::UserStore;

/// Deletes the caller's account after a recent login, the current password and (with a
/// second factor on) a code: first what is keyed to it except the second factor (sessions,
/// pending second-factor logins, failure counters, security history), so a failure leaves an
/// account, still guarded by its second factor, that can try again; then the account, which
/// every protected function refuses from then on; then everything keyed to it, the second
/// factor included, once more (a login racing the deletion may have added some). Only the
/// deletion event stays, under [`account_events::pseudonym`]. `204`.
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

    remove_keyed_to(state, &user.id, &user.username)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    state
        .stores
        .users()
        .delete(&user.id)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    let (again, factor) = tokio::join!(
        remove_keyed_to(state, &user.id, &user.username),
        state.stores.second_factors().remove(&user.id)
    );
    if let Err(error) = again.and(factor.map(|_| ())) {
        tracing::warn!(%error, "account deleted; the second pass over its data failed (TTLs remove most of the rest)");
    }
    let pseudonym = account_events::pseudonym(&user.id);
    let event = AccountEvent::new(
        &pseudonym,
        EventKind::AccountDeleted,
        state.clock.now(),
        &Client::default(),
    );
    account_events::record(state.stores.events(), &event).await;
    tracing::info!(pseudonym = %pseudonym, "account deleted");
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// Removes what is keyed to the account, its second factor aside.
async fn remove_keyed_to<S: Stores>(
    state: &State<S>,
    account: &AccountId,
    username: &Username,
) -> Result<(), StoreError> {
    let stores = &state.stores;
    let codes_key = SecondFactorFailures(account);
    let (sessions, challenges, events, passwords, codes, emailed) = tokio::join!(
        stores.refresh_tokens().delete_account(account),
        stores.mfa_challenges().delete_account(account),
        stores.events().delete_account(account),
        stores.login_failures().reset(username),
        stores.login_failures().reset(&codes_key),
        stores.email_codes().delete_account(account, None),
    );
    emailed?;
    sessions?;
    challenges?;
    events?;
    passwords?;
    codes?;
    Ok(())
}
