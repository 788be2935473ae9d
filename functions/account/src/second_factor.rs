//! TOTP enrolment and its recovery codes. Every route needs a recent login; turning TOTP off
//! and new recovery codes also need a code from the factor being changed.

use crate::password::message;
use crate::reauthentication::{self, RecentCaller};
use crate::{State, internal};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::factors::recovery_codes::NewCodes;
use shared::factors::second_factors::SecondFactorStore;
use shared::factors::totp::TotpSecret;
use shared::identity::account_events::EventKind;
use shared::identity::account_id::AccountId;
use shared::platform::http::{ApiError, json_fields, string_field};
use shared::platform::metrics::SecurityEvent;
use shared::stores::Stores;

/// Starts (or restarts) an enrolment after a recent login and the current password (so a
/// stolen access token alone cannot put an attacker's authenticator on the account): a new
/// secret, sealed and stored unconfirmed, answered as base32, an `otpauth://` URI and that
/// URI as a QR code (SVG data URL). Nothing is guarded until [`confirm`].
pub(crate) async fn start<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let caller = reauthentication::recent_caller(state, request).await?;
    let user = &caller.user;
    let fields = json_fields(request)?;
    let current = if user.has_password() {
        Some(string_field(&fields, "current_password")?)
    } else {
        None
    };
    if caller.confirmed_factor().is_some() {
        return Err(already_on());
    }
    // An account without a password (created through another provider) has its recent
    // sign-in there to show, and nothing more.
    match current {
        Some(current) => reauthentication::check_password(state, user, current, request).await?,
        None => {
            reauthentication::refuse_third_parties_for_accounts_without_a_password(state, &caller)
                .await?;
        }
    }
    let secret = TotpSecret::generate().map_err(internal)?;
    let sealed = state.mfa.seal(&user.id, &secret).map_err(internal)?;
    let begun = state
        .stores
        .second_factors()
        .begin_enrolment(&user.id, &sealed, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !begun {
        return Err(already_on());
    }
    let uri = secret
        .otpauth_uri(&state.mfa.issuer, user.username.as_str())
        .map_err(internal)?;
    let qr_code = qr_svg_data_url(uri.expose_secret()).map_err(internal)?;
    tracing::info!(username = %user.username, "TOTP enrolment started");
    Ok(json!({
        "secret": secret.base32().expose_secret(),
        "otpauth_uri": uri.expose_secret(),
        "qr_code": qr_code,
        "message": "add the secret to an authenticator app, then confirm with its current code",
    }))
}

/// Turns the pending enrolment on with its first code and answers ten recovery codes, shown
/// this once.
pub(crate) async fn confirm<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let caller = reauthentication::recent_caller(state, request).await?;
    let fields = json_fields(request)?;
    let code = string_field(&fields, "otp")?;
    let user = &caller.user;
    let pending = match &caller.factor {
        Some(factor) if !factor.confirmed => factor,
        Some(_) => return Err(already_on()),
        None => {
            return Err(ApiError::Conflict {
                code: "no_pending_enrolment",
                message: "start an enrolment with POST /users/me/mfa/totp first",
            });
        }
    };
    reauthentication::claim_code_check(state, user).await?;
    let secret = state
        .mfa
        .open(&user.id, &pending.secret)
        .map_err(internal)?;
    let Some(step) = secret.accept(code, state.clock.now(), None) else {
        tracing::info!(username = %user.username, "TOTP confirmation refused: wrong code");
        state.metrics.record(SecurityEvent::FailedSecondFactor);
        crate::record(state, &user.id, EventKind::SecondFactorFailed, request).await;
        return Err(ApiError::WrongSecondFactor);
    };
    let codes = new_recovery_codes(&user.id)?;
    let confirmed = state
        .stores
        .second_factors()
        .confirm(&user.id, &pending.secret, step, &codes.hashes)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !confirmed {
        // A concurrent confirmation or a new enrolment won.
        return Err(ApiError::Conflict {
            code: "no_pending_enrolment",
            message: "the enrolment changed meanwhile; start again",
        });
    }
    reauthentication::forget_code_failures(state, user).await;
    crate::record(state, &user.id, EventKind::SecondFactorEnabled, request).await;
    tracing::info!(username = %user.username, "TOTP turned on");
    Ok(recovery_codes_body(
        &codes,
        "two-factor authentication is on: store these recovery codes somewhere safe; each works once and they are not shown again",
    ))
}

/// Turns TOTP off after a recent login and a code from it (or a recovery code).
pub(crate) async fn disable<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let caller = proven_by_code(state, request).await?;
    let user = &caller.user;
    state
        .stores
        .second_factors()
        .remove(&user.id)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    crate::record(state, &user.id, EventKind::SecondFactorDisabled, request).await;
    tracing::info!(username = %user.username, "TOTP turned off");
    Ok(message(
        "two-factor authentication is off; its recovery codes no longer work",
    ))
}

/// Replaces the recovery codes after a recent login and a code (the old codes stop working).
pub(crate) async fn regenerate_recovery_codes<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let caller = proven_by_code(state, request).await?;
    let user = &caller.user;
    let codes = new_recovery_codes(&user.id)?;
    let replaced = state
        .stores
        .second_factors()
        .replace_recovery_codes(&user.id, &codes.hashes)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !replaced {
        return Err(not_on());
    }
    crate::record(
        state,
        &user.id,
        EventKind::RecoveryCodesRegenerated,
        request,
    )
    .await;
    tracing::info!(username = %user.username, "recovery codes replaced");
    Ok(recovery_codes_body(
        &codes,
        "new recovery codes: the old ones no longer work; these are not shown again",
    ))
}

/// The caller after a recent login and a right code for the confirmed factor: `409`
/// without a factor, `403 insufficient_user_authentication` without a code.
async fn proven_by_code<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<RecentCaller, ApiError> {
    let caller = reauthentication::recent_caller(state, request).await?;
    let fields = json_fields(request)?;
    let factor = caller.confirmed_factor().ok_or_else(not_on)?;
    let presented =
        reauthentication::presented_factor(state, &caller, &fields)?.ok_or_else(not_on)?;
    reauthentication::check_code(state, &caller.user, factor, &presented, request).await?;
    Ok(caller)
}

fn new_recovery_codes(account: &AccountId) -> Result<NewCodes, ApiError> {
    shared::factors::recovery_codes::generate(account)
        .map_err(|_| internal("no randomness for recovery codes"))
}

fn recovery_codes_body(codes: &NewCodes, text: &str) -> Value {
    let shown: Vec<&str> = codes
        .codes
        .iter()
        .map(|code| code.expose_secret())
        .collect();
    json!({ "recovery_codes": shown, "message": text })
}

/// The `otpauth://` URI as a QR code: an SVG image in a `data:` URL an `<img>` can show.
fn qr_svg_data_url(uri: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::new(uri.as_bytes())?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(svg)
    ))
}

fn already_on() -> ApiError {
    ApiError::Conflict {
        code: "second_factor_enabled",
        message: "two-factor authentication is already on; turn it off first to enrol again",
    }
}

fn not_on() -> ApiError {
    ApiError::Conflict {
        code: "second_factor_not_enabled",
        message: "two-factor authentication is not on for this account",
    }
}
