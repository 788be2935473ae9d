//! Re-authentication for sensitive changes: the access token's login (`auth_time`) must be
//! recent, and when the account has a second factor the request must carry a code from it
//! (`otp`) or a recovery code (`recovery_code`). A missing or stale proof is `403
//! insufficient_user_authentication` (RFC 9470's model) and counts nothing; a wrong code is
//! `403 wrong_second_factor` and counts toward the account's second-factor lockout, the
//! same lock the MFA grant at `/token` counts toward.

use crate::{State, internal};
use serde_json::{Map, Value};
use shared::abuse::login_failures::{
    Attempt, FailureKey, LoginFailureStore, SecondFactorFailures, retry_after_seconds,
};
use shared::edge::principal::caller_with_second_factor;
use shared::factors::mfa::{FactorCheckError, PresentedFactor};
use shared::factors::second_factors::SecondFactor;
use shared::identity::users::User;
use shared::platform::http::{
    ApiError, body_text, has_content_type, json_object, optional_string_field, string_field,
};
use shared::platform::metrics::SecurityEvent;
use shared::stores::Stores;

/// The caller of a sensitive request, with the login proven recent.
pub struct RecentCaller {
    /// The account, read fresh.
    pub user: User,
    /// The relying party the access token was issued to, if any.
    pub client: Option<String>,
    /// Its second factor, confirmed or pending.
    pub factor: Option<SecondFactor>,
}

impl RecentCaller {
    /// The confirmed second factor, if the account has one on.
    pub fn confirmed_factor(&self) -> Option<&SecondFactor> {
        self.factor.as_ref().filter(|factor| factor.confirmed)
    }
}

/// The authenticated caller, refused with `insufficient_user_authentication` unless its
/// access token's login is within the recent-authentication window. The account and its
/// second factor are read in one round trip.
pub async fn recent_caller<S: Stores>(
    state: &State<S>,
    request: &lambda_http::Request,
) -> Result<RecentCaller, ApiError> {
    let now = state.clock.now();
    let (caller, user, factor) = caller_with_second_factor(&state.stores, request, now).await?;
    if !state.mfa.is_recent(caller.authenticated_at, now) {
        tracing::info!(username = %user.username, "sensitive change refused: login not recent");
        return Err(insufficient(state, false));
    }
    Ok(RecentCaller {
        user,
        factor,
        client: caller.client,
    })
}

/// The caller of a sensitive request with a JSON body, and the body's fields: the login is
/// recent ([`recent_caller`]), the body is `application/json` (else `415`) and one object.
pub async fn sensitive_request<S: Stores>(
    state: &State<S>,
    request: &lambda_http::Request,
) -> Result<(RecentCaller, Map<String, Value>), ApiError> {
    let caller = recent_caller(state, request).await?;
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    Ok((caller, fields))
}

/// Checks `current_password` from `fields` and, with a second factor on, its code
/// ([`confirm_password_and_factor`]).
pub async fn confirm_current_password<S: Stores>(
    state: &State<S>,
    caller: &RecentCaller,
    fields: &Map<String, Value>,
    request: &lambda_http::Request,
) -> Result<(), ApiError> {
    let current = if caller.user.has_password() {
        Some(string_field(fields, "current_password")?)
    } else {
        None
    };
    confirm_password_and_factor(state, caller, current, fields, request).await
}

/// The caller of a removal (a passkey, an identity) and the path's `{id}`: the login is
/// recent, a code comes with it when TOTP is on (`otp` or `recovery_code` in an optional JSON
/// body), and an account without a password is not served to a third-party application.
/// No `{id}` is `missing`.
pub async fn removal<S: Stores>(
    state: &State<S>,
    request: &lambda_http::Request,
    missing: ApiError,
) -> Result<(RecentCaller, String), ApiError> {
    use lambda_http::RequestExt as _;
    let caller = recent_caller(state, request).await?;
    let fields = shared::platform::http::optional_json_fields(request)?;
    if let Some(presented) = presented_factor(state, &caller, &fields)?
        && let Some(factor) = caller.confirmed_factor()
    {
        check_code(state, &caller.user, factor, &presented, request).await?;
    }
    refuse_third_parties_for_accounts_without_a_password(state, &caller).await?;
    let id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .map(str::to_owned)
        .ok_or(missing)?;
    Ok((caller, id))
}

/// An account without a password proves a sensitive change by its recent sign-in alone, so
/// only this service's own applications may ask for one: a third-party application's token
/// (whose user allowed it `account`) is refused, or it could give the account a password,
/// a passkey or an address of its own.
pub async fn refuse_third_parties_for_accounts_without_a_password<S: Stores>(
    state: &State<S>,
    caller: &RecentCaller,
) -> Result<(), ApiError> {
    use shared::access::relying_parties::{RelyingPartyId, RelyingPartyStore as _};
    if caller.user.has_password() {
        return Ok(());
    }
    let Some(client) = caller.client.as_deref().and_then(RelyingPartyId::parse) else {
        return Ok(());
    };
    let party = state
        .stores
        .relying_parties()
        .find(&client)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if party.is_some_and(|party| party.first_party) {
        return Ok(());
    }
    tracing::info!(username = %caller.user.username, client = %client, "sensitive change refused: a third-party application's token for an account without a password");
    Err(ApiError::Refused {
        code: "first_party_only",
        message: "an account without a password changes its credentials only through this service's own applications",
    })
}

/// The second factor presented in `fields` (`otp` or `recovery_code`), required when the
/// account has one on: `None` when it has none.
pub fn presented_factor<S>(
    state: &State<S>,
    caller: &RecentCaller,
    fields: &Map<String, Value>,
) -> Result<Option<PresentedFactor>, ApiError> {
    let presented = PresentedFactor::from_fields(
        optional_string_field(fields, "otp")?,
        optional_string_field(fields, "recovery_code")?,
    )
    .map_err(|message| ApiError::InvalidField {
        field: "otp",
        message: message.to_owned(),
    })?;
    match (caller.confirmed_factor(), presented) {
        (None, _) => Ok(None),
        (Some(_), Some(presented)) => Ok(Some(presented)),
        (Some(_), None) => {
            tracing::info!(username = %caller.user.username, "sensitive change refused: no second factor given");
            Err(insufficient(state, true))
        }
    }
}

/// Claims one password check on the username's lockout counter, before it is checked.
pub async fn claim_password_check<S: Stores>(
    state: &State<S>,
    user: &User,
) -> Result<(), ApiError> {
    claim(state, user, &user.username).await
}

/// Claims one code check on the account's second-factor lockout counter, before it is
/// checked.
pub async fn claim_code_check<S: Stores>(state: &State<S>, user: &User) -> Result<(), ApiError> {
    claim(state, user, &SecondFactorFailures(&user.id)).await
}

async fn claim<S: Stores>(
    state: &State<S>,
    user: &User,
    key: &impl FailureKey,
) -> Result<(), ApiError> {
    let attempt = state
        .stores
        .login_failures()
        .claim_attempt(key, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if let Attempt::Locked { retry_after, .. } = attempt {
        tracing::info!(username = %user.username, "sensitive change refused: locked");
        state.metrics.record(SecurityEvent::LockedOut);
        return Err(ApiError::TooManyAttempts {
            retry_after_seconds: retry_after_seconds(retry_after),
        });
    }
    Ok(())
}

/// Checks `presented` against the confirmed `factor` (after [`claim_code_check`]) and records
/// its use; a wrong, replayed or spent code is `wrong_second_factor`.
pub async fn check_factor<S: Stores>(
    state: &State<S>,
    user: &User,
    factor: &SecondFactor,
    presented: &PresentedFactor,
    request: &lambda_http::Request,
) -> Result<(), ApiError> {
    let checked = shared::factors::mfa::check(
        state.stores.second_factors(),
        &state.mfa,
        &user.id,
        factor,
        presented,
        state.clock.now(),
    )
    .await;
    match checked {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::info!(username = %user.username, kind = presented.kind(), "second factor refused");
            state.metrics.record(SecurityEvent::FailedSecondFactor);
            let kind = shared::identity::account_events::EventKind::SecondFactorFailed;
            crate::record(state, &user.id, kind, request).await;
            Err(ApiError::WrongSecondFactor)
        }
        Err(FactorCheckError::Store(error)) => Err(ApiError::from_store(&error)),
        Err(error @ FactorCheckError::Sealed(_)) => Err(internal(error)),
    }
}

/// Checks the current password and, with a second factor on, the code in `fields`, each
/// under its own lockout claim: what the password change and the deletion ask for. An
/// account without a password (created through another provider) has only its recent login
/// there and its second factor to show: `current_password` is `None` for it, and only for it.
pub async fn confirm_password_and_factor<S: Stores>(
    state: &State<S>,
    caller: &RecentCaller,
    current_password: Option<&str>,
    fields: &Map<String, Value>,
    request: &lambda_http::Request,
) -> Result<(), ApiError> {
    refuse_third_parties_for_accounts_without_a_password(state, caller).await?;
    let presented = presented_factor(state, caller, fields)?;
    let user = &caller.user;
    match current_password {
        Some(current) => check_password(state, user, current, request).await?,
        None if !user.has_password() => {}
        None => return Err(ApiError::WrongPassword),
    }
    if let (Some(factor), Some(presented)) = (caller.confirmed_factor(), &presented) {
        check_code(state, user, factor, presented, request).await?;
    }
    Ok(())
}

/// Checks a code for the confirmed `factor` under the account's second-factor lockout
/// (claimed first), forgetting its failures when it is right.
pub async fn check_code<S: Stores>(
    state: &State<S>,
    user: &User,
    factor: &SecondFactor,
    presented: &PresentedFactor,
    request: &lambda_http::Request,
) -> Result<(), ApiError> {
    claim_code_check(state, user).await?;
    check_factor(state, user, factor, presented, request).await?;
    forget_code_failures(state, user).await;
    Ok(())
}

/// Checks the caller's current password under the username's lockout (claimed first) and
/// forgets its failures when it is right; a wrong one is `403 wrong_password`.
pub async fn check_password<S: Stores>(
    state: &State<S>,
    user: &User,
    presented: &str,
    request: &lambda_http::Request,
) -> Result<(), ApiError> {
    let current = shared::identity::credentials::Password::presented(presented);
    claim_password_check(state, user).await?;
    let matches = !current.exceeds_presented_limit()
        && state
            .hasher
            .verify(&current, &user.password_hash)
            .await
            .map_err(internal)?;
    if !matches {
        tracing::info!(username = %user.username, "sensitive change refused: wrong current password");
        state.metrics.record(SecurityEvent::FailedLogin);
        let kind = shared::identity::account_events::EventKind::ReauthenticationFailed;
        crate::record(state, &user.id, kind, request).await;
        return Err(ApiError::WrongPassword);
    }
    forget_password_failures(state, user).await;
    Ok(())
}

/// Forgets the password failures after a right password.
pub async fn forget_password_failures<S: Stores>(state: &State<S>, user: &User) {
    forget(state, &user.username).await;
}

/// Forgets the second-factor failures after a right code.
pub async fn forget_code_failures<S: Stores>(state: &State<S>, user: &User) {
    forget(state, &SecondFactorFailures(&user.id)).await;
}

async fn forget<S: Stores>(state: &State<S>, key: &impl FailureKey) {
    if let Err(error) = state.stores.login_failures().reset(key).await {
        tracing::warn!(%error, "re-authentication succeeded but its failure counter was not reset");
    }
}

fn insufficient<S>(state: &State<S>, second_factor_missing: bool) -> ApiError {
    ApiError::InsufficientUserAuthentication {
        max_age_seconds: state.mfa.recent_authentication.as_secs(),
        second_factor_missing,
    }
}
