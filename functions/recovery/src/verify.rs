//! `POST /email/verify`: redeems a verification code.

use crate::{State, record};
use lambda_http::Request;
use serde_json::{Value, json};
use shared::identity::account_events::EventKind;
use shared::identity::users::{EmailVerification, UserStore};
use shared::mail::email_codes::{EmailCodeStore, Purpose};
use shared::mail::flows::Recipient;
use shared::platform::http::json_fields;
use shared::platform::http::{ApiError, string_field};
use shared::stores::Stores;

/// Spends the code and makes its address the verified one, if the account still waits for
/// that address; the address it replaces gets a notice.
pub(crate) async fn verify<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let fields = json_fields(request)?;
    let presented = string_field(&fields, "code")?;
    let now = state.clock.now();
    let stores = &state.stores;
    let hash = crate::redeemable_code_hash(state, request, presented, now).await?;
    let code = stores
        .email_codes()
        .redeem(&hash, Purpose::Verify, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?
        .ok_or(ApiError::InvalidCode)?;
    // A verification code always names the address it was sent to.
    let address = code.address.clone().ok_or(ApiError::InvalidCode)?;
    let outcome = stores
        .users()
        .verify_email(&code.account, &address, code.token_version, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    let previous = match outcome {
        EmailVerification::Verified { previous } => previous,
        EmailVerification::NotPending => return Err(ApiError::InvalidCode),
        EmailVerification::AddressTaken => {
            return Err(ApiError::Conflict {
                code: "email_taken",
                message: "this address is already verified on another account",
            });
        }
    };
    // Reset codes went to the address this one replaces: none of them may outlive it.
    shared::mail::email_codes::delete_reset_codes(stores.email_codes(), &code.account).await;
    record(state, &code.account, EventKind::EmailVerified, request).await;
    tracing::info!(account = %code.account.as_str(), "email address verified");
    let user = stores
        .users()
        .find_by_id(&code.account)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if let Some(user) = &user
        && shared::hooks::confirmation::confirmed(&state.hooks, user)
            .await
            .is_err()
    {
        record(state, &code.account, EventKind::HookFailed, request).await;
    }
    let replaced = previous.filter(|previous| previous.key() != address.key());
    if let (Some(previous), Some(user)) = (replaced, user) {
        let what = format!(
            "The email address of your account was changed to {}. Messages about your \
             account no longer come to this address.",
            address
        );
        let to = Recipient {
            account: &user.id,
            username: &user.username,
            address: &previous,
        };
        state.outgoing().send_notice(&to, &what).await;
    }
    Ok(json!({
        "message": "email address verified",
        "email": address.as_str(),
    }))
}
