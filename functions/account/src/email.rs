//! The caller's email address: change it (the new one is verified before it counts), send
//! the waiting one another code, remove it.

use crate::reauthentication;
use crate::{State, record};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::abuse::rate_limits::VERIFICATION_MAILS_PER_ACCOUNT;
use shared::edge::principal::authenticated_user;
use shared::identity::account_events::EventKind;
use shared::identity::users::{User, UserStore};
use shared::mail::email_codes::EmailCodeStore;
use shared::mail::flows::{self, Recipient};
use shared::platform::http::{ApiError, json_response};
use shared::stores::Stores;

/// Sends a code to a new address after a recent login, with the current password (and, with
/// a second factor on, a code from it) in the request: the address decides where password
/// resets go, so a stolen access token alone must not move it. `202`. The verified address,
/// if any, stays the account's until the code is redeemed at `POST /email/verify`, and is
/// told now that a change was asked for. A mail that cannot be sent is `503
/// email_unavailable` and stores nothing.
pub(crate) async fn change<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let (caller, fields) = reauthentication::sensitive_request(state, request).await?;
    let address = flows::email_field(&fields, "email")?;
    reauthentication::confirm_current_password(state, &caller, &fields, request).await?;
    let user = &caller.user;
    if user.email.as_ref().map(|e| e.key()) == Some(address.key()) {
        let body = json!({
            "message": "this address is already the account's verified address",
            "email": flows::email_view(user),
        });
        return Ok(json_response(StatusCode::OK, &body));
    }
    if !state.mailer.is_configured() {
        return Err(ApiError::EmailUnavailable);
    }
    let now = state.clock.now();
    limit_mails(state, user).await?;
    let to = Recipient {
        account: &user.id,
        username: &user.username,
        address: &address,
    };
    state
        .outgoing()
        .send_verification(&to, user.token_version, now)
        .await?;
    let waiting = state
        .stores
        .users()
        .set_pending_email(&user.id, Some(&address), user.token_version, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !waiting {
        // The credentials changed since the caller was read: the code just sent is bound to
        // the old version and refused.
        tracing::info!(username = %user.username, "address change lost a race with a change of the account");
        return Err(ApiError::Unauthenticated);
    }
    record(state, &user.id, EventKind::EmailChangeRequested, request).await;
    tracing::info!(username = %user.username, "verification code sent to a new address");
    if let Some(current) = &user.email {
        let to = Recipient {
            account: &user.id,
            username: &user.username,
            address: current,
        };
        let what = format!(
            "Someone signed in to your account asked to change its email address to {address}. \
             This address stays the account's unless the new one is verified."
        );
        state.outgoing().send_notice(&to, &what).await;
    }
    let mut updated = user.clone();
    updated.pending_email = Some(address);
    let body = json!({
        "message": "verification code sent: the new address counts once the code is redeemed at POST /email/verify",
        "email": flows::email_view(&updated),
    });
    Ok(json_response(StatusCode::ACCEPTED, &body))
}

/// Sends the waiting address another code (no recent login needed: it changes nothing);
/// `404 no_pending_email` when none waits.
pub(crate) async fn resend<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let user = authenticated_user(state.stores.users(), request, state.clock.now()).await?;
    let address = user.pending_email.clone().ok_or(ApiError::NoSuchResource {
        code: "no_pending_email",
        message: "no address is waiting for verification: set one with PUT /users/me/email",
    })?;
    if !state.mailer.is_configured() {
        return Err(ApiError::EmailUnavailable);
    }
    limit_mails(state, &user).await?;
    let to = Recipient {
        account: &user.id,
        username: &user.username,
        address: &address,
    };
    state
        .outgoing()
        .send_verification(&to, user.token_version, state.clock.now())
        .await?;
    let body = json!({
        "message": "another verification code was sent",
        "email": flows::email_view(&user),
    });
    Ok(json_response(StatusCode::ACCEPTED, &body))
}

/// Removes the verified and the waiting address after a recent login, with the current
/// password (and the second factor when on); the removed verified address gets a notice.
/// Password resets by email stop.
pub(crate) async fn remove<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let (caller, fields) = reauthentication::sensitive_request(state, request).await?;
    reauthentication::confirm_current_password(state, &caller, &fields, request).await?;
    let user = &caller.user;
    let removed = state
        .stores
        .users()
        .remove_email(&user.id, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if let Err(error) = state
        .stores
        .email_codes()
        .delete_account(&user.id, None)
        .await
    {
        tracing::warn!(%error, "codes of a removed address not deleted (they expire on their own)");
    }
    record(state, &user.id, EventKind::EmailRemoved, request).await;
    if let Some(previous) = removed {
        let to = Recipient {
            account: &user.id,
            username: &user.username,
            address: &previous,
        };
        let what = "This address was removed from your account: password resets by email \
                    and notices no longer come here.";
        state.outgoing().send_notice(&to, what).await;
    }
    Ok(json!({ "message": "email address removed", "email": null }))
}

async fn limit_mails<S: Stores>(state: &State<S>, user: &User) -> Result<(), ApiError> {
    flows::limit(
        state.stores.rate_limits(),
        &state.metrics,
        &VERIFICATION_MAILS_PER_ACCOUNT,
        user.id.as_str(),
        state.clock.now(),
    )
    .await
}
