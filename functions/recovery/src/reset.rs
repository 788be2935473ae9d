//! `POST /password-reset` and `POST /password-reset/confirm`.

use crate::{State, record, source_ip};
use lambda_http::Request;
use serde_json::{Value, json};
use shared::abuse::login_failures::LoginFailureStore;
use shared::abuse::rate_limits::{
    Decision, RESET_MAILS_PER_ACCOUNT, RESET_REQUESTS_PER_IP, RESETS_PER_ACCOUNT,
};
use shared::identity::account_events::EventKind;
use shared::identity::credentials::{Password, Username};
use shared::identity::email_address::EmailAddress;
use shared::identity::users::{User, UserStore};
use shared::mail::email_codes::{self, EmailCode, EmailCodeStore, Purpose};
use shared::mail::flows::{self, Recipient, SendError};
use shared::mail::message::Template;
use shared::platform::http::json_fields;
use shared::platform::http::{ApiError, optional_string_field, string_field};
use shared::platform::metrics::SecurityEvent;
use shared::stores::Stores;

/// What the answer time keeps back from sending a reset code (counted from the request's
/// start): the cleanup of a mail that timed out, and the answer, fit in it.
const SENDING_MARGIN: std::time::Duration = std::time::Duration::from_millis(100);

/// The one answer to every accepted reset request.
pub const REQUEST_ANSWER: &str =
    "if the account has a verified email address, a reset code is on its way to it";

/// Sends a reset code when the named account has a verified address, then answers
/// [`REQUEST_ANSWER`] at [`crate::RESET_ANSWER_TIME`] after the request began, whatever
/// happened in between.
pub(crate) async fn request<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let began = tokio::time::Instant::now();
    let fields = json_fields(request)?;
    let username = optional_string_field(&fields, "username")?;
    let email = optional_string_field(&fields, "email")?;
    let name = match (username, email) {
        (Some(username), None) => Named::Username(username),
        (None, Some(email)) => Named::Email(email),
        _ => {
            return Err(ApiError::InvalidField {
                field: "username",
                message: "give exactly one of username and email".to_owned(),
            });
        }
    };
    request_for(state, &name, request, began).await?;
    Ok(json!({ "message": REQUEST_ANSWER }))
}

/// Sends a reset code to the verified address of the account `name` names, counting the
/// request against the per-address limit, and returns at [`crate::RESET_ANSWER_TIME`] after
/// `began`, whatever happened: an answer never depends on the account ([`REQUEST_ANSWER`]
/// is the one answer, at the API as on the hosted page).
pub async fn request_for<S: Stores>(
    state: &State<S>,
    name: &Named,
    request: &Request,
    began: tokio::time::Instant,
) -> Result<(), ApiError> {
    flows::limit(
        state.stores.rate_limits(),
        &state.metrics,
        &RESET_REQUESTS_PER_IP,
        &source_ip(request),
        state.clock.now(),
    )
    .await?;

    // Sending must end a margin before the answer time counted from the request's start, so
    // the cleanup of a mail that timed out still fits before the one answer goes out.
    let sending_deadline = began + state.reset_answer_time.saturating_sub(SENDING_MARGIN);
    let sent = send_reset_code(state, name, request, sending_deadline).await;
    let elapsed = began.elapsed();
    if elapsed > state.reset_answer_time {
        tracing::warn!(
            elapsed_ms = elapsed.as_millis(),
            "reset request outlasted its answer time"
        );
        state.metrics.record(SecurityEvent::SlowResetRequest);
    }
    tokio::time::sleep_until(began + state.reset_answer_time).await;
    sent
}

/// What a reset request names the account by.
#[derive(Debug, Clone)]
pub enum Named {
    /// Its username.
    Username(String),
    /// Its verified email address.
    Email(String),
}

/// Sends the code if there is somewhere to send it. Only a failure of the lookup is an
/// error (it happens whatever the name); after it, every failure is logged and counted and
/// ends in the same `Ok`, so an answer never depends on the account.
async fn send_reset_code<S: Stores>(
    state: &State<S>,
    name: &Named,
    request: &Request,
    deadline: tokio::time::Instant,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let users = state.stores.users();
    let found = match name {
        Named::Username(raw) => match Username::parse(raw) {
            Ok(username) => users.find(&username).await,
            Err(_) => Ok(None),
        },
        Named::Email(raw) => match EmailAddress::parse(raw) {
            Ok(address) => users.find_by_email(&address).await,
            Err(_) => Ok(None),
        },
    }
    .map_err(|error| ApiError::from_store(&error))?;
    let found = match (found, name) {
        (None, Named::Username(raw)) => imported(state, raw, request, deadline).await?,
        (found, _) => found,
    };
    let Some((user, address)) = found
        .filter(|user| !user.disabled)
        .and_then(|user| user.email.clone().map(|address| (user, address)))
    else {
        return Ok(());
    };
    let decision = flows::allowed(
        state.stores.rate_limits(),
        &state.metrics,
        &RESET_MAILS_PER_ACCOUNT,
        user.id.as_str(),
        now,
    )
    .await;
    if decision != Ok(Decision::Allowed) {
        return Ok(());
    }
    let code = EmailCode {
        account: user.id.clone(),
        purpose: Purpose::Reset,
        address: Some(address.clone()),
        expires_at: now + state.mail.reset_ttl,
        token_version: user.token_version,
        issued_by: None,
    };
    let to = Recipient {
        account: &user.id,
        username: &user.username,
        address: &address,
    };
    let send_and_record = async {
        let sent = state
            .outgoing()
            .send_code(&to, &code, Template::Reset, now)
            .await;
        if sent.is_ok() {
            record(state, &user.id, EventKind::PasswordResetRequested, request).await;
            tracing::info!(username = %user.username, "password reset code sent");
        }
        sent
    };
    match tokio::time::timeout_at(deadline, send_and_record).await {
        Ok(Ok(())) | Ok(Err(SendError::Mail | SendError::Internal)) => {}
        Ok(Err(SendError::Store(error))) => {
            tracing::error!(%error, "reset code not stored; answered as always");
        }
        Err(_) => {
            tracing::warn!(username = %user.username, "reset mail outlasted its time; answered as always");
            state.metrics.record(SecurityEvent::MailFailed);
            // The code may or may not be stored; none of the account's may outlive a mail
            // that was never confirmed sent.
            let deleted = state
                .stores
                .email_codes()
                .delete_account(&user.id, Some(Purpose::Reset))
                .await;
            if let Err(error) = deleted {
                tracing::warn!(%error, "reset codes not deleted (they expire on their own)");
            }
        }
    }
    Ok(())
}

/// The account the user-migration hook vouches for at a reset request for an unknown name:
/// created without a password (the reset sets it), with the old system's verified address
/// (without one no code could be sent, so nothing is created). Like every step of a reset
/// request, its outcome never changes the answer.
async fn imported<S: Stores>(
    state: &State<S>,
    raw: &str,
    request: &Request,
    deadline: tokio::time::Instant,
) -> Result<Option<User>, ApiError> {
    use shared::hooks::migration::{self, Asked};
    let Ok(username) = Username::parse(raw) else {
        return Ok(None);
    };
    // Only the question is bounded by the answer's deadline (it keeps the fixed answer
    // time); the account's creation, once begun, is never cut off half-way.
    let asked = migration::ask(&state.hooks, &username, Asked::ForgotPassword);
    let response = match tokio::time::timeout_at(deadline, asked).await {
        Ok(Ok(Some(response))) => response,
        Ok(Ok(None)) => return Ok(None),
        Ok(Err(_)) | Err(_) => {
            tracing::warn!(
                "reset request for an unknown name: the user-migration hook failed or took too long"
            );
            return Ok(None);
        }
    };
    let stores = &state.stores;
    migration::create(
        stores.users(),
        stores.events(),
        &username,
        shared::identity::users::NO_PASSWORD_HASH,
        &response,
        state.clock.now(),
        &shared::platform::http::RequestSource::of(request),
    )
    .await
    .map_err(|error| ApiError::from_store(&error))
}

/// Spends the code and sets the new password: the token version moves, every session ends,
/// other reset codes of the account die, and the verified address gets a notice.
pub(crate) async fn confirm<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let fields = json_fields(request)?;
    let presented = string_field(&fields, "code")?;
    let new_password = string_field(&fields, "new_password")?;
    confirm_with(state, request, presented, new_password).await?;
    Ok(json!({ "message": "password reset: sign in with the new password on every device" }))
}

/// Spends the reset code `presented` and sets `new_password` (the sign-up policy applies):
/// the token version moves, every session ends, other reset codes of the account die, and
/// the verified address gets a notice. `request` gives the limits their source address.
pub async fn confirm_with<S: Stores>(
    state: &State<S>,
    request: &Request,
    presented: &str,
    new_password: &str,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    let stores = &state.stores;
    let hash = crate::redeemable_code_hash(state, request, presented, now).await?;
    let code = reset_code(state, &hash, now).await?;
    let user = holder(state, &code).await?;
    let new_password =
        Password::for_new_account(new_password, &user.username).map_err(|error| {
            ApiError::InvalidField {
                field: "new_password",
                message: format!("new {error}"),
            }
        })?;
    flows::limit(
        stores.rate_limits(),
        &state.metrics,
        &RESETS_PER_ACCOUNT,
        user.id.as_str(),
        now,
    )
    .await?;
    shared::factors::breached_passwords::refuse_if_breached(
        &state.breached,
        &new_password,
        &state.metrics,
        "new_password",
    )
    .await?;
    let new_hash = state.hasher.hash(&new_password).await.map_err(|error| {
        tracing::error!(%error, "hashing failed");
        ApiError::Internal
    })?;
    // Everything before only read; this delete decides between concurrent redemptions.
    stores
        .email_codes()
        .redeem(&hash, code.purpose, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?
        .ok_or(ApiError::InvalidCode)?;
    let changed = stores
        .users()
        .reset_password(
            &user.id,
            &user.password_hash,
            &new_hash,
            code.address.as_ref(),
            code.token_version,
            now,
        )
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !changed {
        tracing::info!(username = %user.username, "password reset lost a race with a change of the account");
        return Err(ApiError::InvalidCode);
    }
    // Every step runs even when one fails (each is refused by version or generation anyway);
    // the first failure is the answer, after the notice went out.
    let ended = shared::lifecycle::revocation::end_started_before(stores, &user.id).await;
    // A passkey signs in without the password: one an intruder added must not outlive the
    // reset that locks them out (the reset moved the passkey generation first, so one
    // registered while it ran never signs in either).
    let passkeys =
        shared::factors::passkeys::PasskeyStore::delete_account(stores.passkeys(), &user.id).await;
    if let Err(error) = stores.login_failures().reset(&user.username).await {
        tracing::warn!(%error, "login failures not cleared");
    }
    record(state, &user.id, EventKind::PasswordReset, request).await;
    tracing::info!(username = %user.username, passkeys_deleted = ?passkeys.as_ref().ok(), "password reset");
    let (notified, what) = match &code.address {
        Some(address) => (
            Some(address),
            "Your password was reset with a code sent to this address, and every device was \
             signed out.",
        ),
        None => (
            user.email.as_ref(),
            "Your password was reset with a code an administrator gave out, and every device \
             was signed out.",
        ),
    };
    if let Some(address) = notified {
        let to = Recipient {
            account: &user.id,
            username: &user.username,
            address,
        };
        state.outgoing().send_notice(&to, what).await;
    }
    ended.map_err(|error| ApiError::from_store(&error))?;
    passkeys.map_err(|error| ApiError::from_store(&error))?;
    Ok(())
}

/// The unexpired reset code with this hash: one sent by email, or one an administrator
/// issued. Both answer alike when there is none.
async fn reset_code<S: Stores>(
    state: &State<S>,
    hash: &str,
    now: std::time::SystemTime,
) -> Result<EmailCode, ApiError> {
    let codes = state.stores.email_codes();
    for purpose in email_codes::RESET_PURPOSES {
        let found = codes
            .find(hash, purpose, now)
            .await
            .map_err(|error| ApiError::from_store(&error))?;
        if let Some(code) = found {
            return Ok(code);
        }
    }
    Err(ApiError::InvalidCode)
}

/// The account a reset code is for, if the code still stands: the account exists, is
/// enabled, is still at the token version the code was issued under, and (for a code sent by
/// email) still has the address the code went to as its
/// verified address.
async fn holder<S: Stores>(state: &State<S>, code: &EmailCode) -> Result<User, ApiError> {
    let user = state
        .stores
        .users()
        .find_by_id(&code.account)
        .await
        .map_err(|error| ApiError::from_store(&error))?
        .ok_or(ApiError::InvalidCode)?;
    let same_address = match &code.address {
        None => code.purpose == Purpose::AdminReset,
        Some(sent_to) => user
            .email
            .as_ref()
            .is_some_and(|address| address.key() == sent_to.key()),
    };
    // A code issued before the account's credentials last changed died with them.
    if user.disabled || !same_address || user.token_version != code.token_version {
        return Err(ApiError::InvalidCode);
    }
    if let Some(issuer) = &code.issued_by {
        issuer_still_may(state, issuer, &user).await?;
    }
    Ok(user)
}

/// A code an administrator issued works only while they could issue it now: their account
/// exists and is enabled, its roles grant `users:admin`, and the account's roles grant
/// nothing theirs do not.
async fn issuer_still_may<S: Stores>(
    state: &State<S>,
    issuer: &shared::identity::account_id::AccountId,
    user: &User,
) -> Result<(), ApiError> {
    let found = state
        .stores
        .users()
        .find_by_id(issuer)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    let roles = &state.roles;
    let may = found.is_some_and(|issuer| {
        let held = roles.scopes_for(&issuer.roles);
        !issuer.disabled
            && held.contains(shared::access::roles::USERS_ADMIN_SCOPE)
            && roles.scopes_for(&user.roles).is_subset(&held)
    });
    if !may {
        tracing::info!(username = %user.username, "reset code refused: its issuer may no longer issue it");
        return Err(ApiError::InvalidCode);
    }
    Ok(())
}
