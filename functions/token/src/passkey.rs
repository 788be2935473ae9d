//! Passkeys at the token endpoint: `POST /passkeys/authentication-options` sends a challenge
//! (for a sign-in without username, or bound to a pending login's `mfa_token` as its second
//! factor), and the passkey grant and the MFA grant's `passkey` answer it.
//!
//! Every way an assertion can fail (unknown credential, wrong origin or relying party,
//! replayed or expired challenge, bad signature, counter gone backwards, disabled account)
//! is the one `invalid_grant`. An answer to a live challenge that names a registered
//! passkey is claimed, before its signature is checked, against two lockouts, the
//! credential's and its account's, with the password lockout's rules; a verified sign-in
//! resets both.

use crate::oauth::OAuthError;
use crate::{SignInContext, server_error, store_error};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::abuse::login_failures::{Attempt, LoginFailureStore, PasskeyFailures};
use shared::abuse::rate_limits::PASSKEY_CHALLENGES_PER_IP;
use shared::factors::mfa_challenges::MfaChallengeStore;
use shared::factors::passkey_ceremonies::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, PasskeyCeremonyStore,
};
use shared::factors::passkeys::webauthn::{self, AssertionResponse, PasskeyError, RelyingParty};
use shared::factors::passkeys::{Passkey, PasskeyStore, PasskeyUse};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::account_id::AccountId;
use shared::identity::users::{User, UserStore};
use shared::platform::http::RequestSource;
use shared::platform::http::{ApiError, json_response, optional_json_fields};
use shared::platform::metrics::SecurityEvent;
use shared::sessions::Session;
use shared::stores::Stores;
use std::time::SystemTime;

/// What a passkey sign-in proves (RFC 8176): a hardware-bound key, the user's presence,
/// and their verification by the authenticator (PIN or biometrics) as a second factor.
pub const PASSKEY_METHODS: [&str; 3] = ["hwk", "user", "mfa"];

/// What a password completed by a passkey proves.
pub const PASSWORD_AND_PASSKEY_METHODS: [&str; 3] = ["pwd", "hwk", "mfa"];

/// `POST /passkeys/authentication-options`: `{"publicKey": request options}` for
/// `navigator.credentials.get`. With `{"mfa_token"}` the challenge completes that pending
/// login and allows only its account's passkeys; without, any discoverable passkey.
pub(crate) async fn options<C: SignInContext>(state: &C, request: &Request) -> Response<Body> {
    match start(state, request).await {
        Ok(body) => json_response(StatusCode::OK, &body),
        Err(error) => error.into_response(),
    }
}

async fn start<C: SignInContext>(state: &C, request: &Request) -> Result<Value, ApiError> {
    let fields = optional_json_fields(request)?;
    let now = state.clock().now();
    let client = RequestSource::of(request);
    shared::mail::flows::limit(
        state.stores().rate_limits(),
        state.metrics(),
        &PASSKEY_CHALLENGES_PER_IP,
        &shared::mail::flows::ip_subject(client.ip.as_deref()),
        now,
    )
    .await?;
    let relying_party = relying_party(state, request).map_err(|_| ApiError::Internal)?;
    let ceremonies = state.stores().passkey_ceremonies();
    let (started, ceremony) = match fields.get("mfa_token") {
        None | Some(Value::Null) => {
            let started = webauthn::start_sign_in(&relying_party).map_err(internal)?;
            let ceremony = Ceremony {
                kind: CeremonyKind::SignIn,
                account: None,
                mfa_token_hash: None,
                token_version: None,
                state: started.state.clone(),
                expires_at: now + CEREMONY_LIFETIME,
            };
            (started, ceremony)
        }
        Some(Value::String(mfa_token)) => {
            let hash = shared::sessions::hash(mfa_token);
            let pending = if shared::sessions::well_formed(mfa_token) {
                state
                    .stores()
                    .mfa_challenges()
                    .find(&hash, now)
                    .await
                    .map_err(|error| ApiError::from_store(&error))?
            } else {
                None
            };
            let Some(pending) = pending else {
                return Err(ApiError::InvalidField {
                    field: "mfa_token",
                    message:
                        "the mfa_token is invalid, expired or used; sign in again with the password"
                            .to_owned(),
                });
            };
            let passkeys = state
                .stores()
                .passkeys()
                .list(&pending.account)
                .await
                .map_err(|error| ApiError::from_store(&error))?;
            if passkeys.is_empty() {
                return Err(ApiError::Conflict {
                    code: "no_passkey",
                    message: "this account has no passkey: complete the login with otp or recovery_code",
                });
            }
            let started =
                webauthn::start_second_factor(&relying_party, &passkeys).map_err(internal)?;
            let ceremony = Ceremony {
                kind: CeremonyKind::SecondFactor,
                account: Some(pending.account),
                mfa_token_hash: Some(hash),
                token_version: Some(pending.token_version),
                state: started.state.clone(),
                expires_at: now + CEREMONY_LIFETIME,
            };
            (started, ceremony)
        }
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "mfa_token",
                message: "mfa_token must be a string".to_owned(),
            });
        }
    };
    ceremonies
        .create(&started.challenge, &ceremony)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    Ok(json!({ "publicKey": started.options }))
}

/// The passkey grant: the account whose passkey signed this sign-in challenge, and a new
/// session whose tokens say `amr` [`PASSKEY_METHODS`].
pub(crate) async fn sign_in<C: SignInContext>(
    state: &C,
    request: &Request,
    credential: &str,
    now: SystemTime,
    client: &RequestSource,
) -> Result<(User, Session), OAuthError> {
    let response = AssertionResponse::parse_sign_in(credential.as_bytes()).map_err(malformed)?;
    let challenge = response.challenge().map_err(malformed)?;
    let credential_id = response.credential_id();
    let failures = state.stores().login_failures();
    // Only an answer to a live challenge naming a registered passkey counts toward a lock,
    // so a lock costs an attacker a challenge (rate-limited per IP) per failure and writes
    // nothing for made-up credential ids.
    let (ceremony, passkey) =
        ceremony_and_passkey(state, &challenge, CeremonyKind::SignIn, &credential_id, now).await?;
    let Some(ceremony) = ceremony else {
        return Err(refuse(state, "no live sign-in challenge (expired or used)"));
    };
    let Some(passkey) = passkey else {
        return Err(refuse(state, "unknown credential"));
    };
    claim(state, &PasskeyFailures::Credential(&credential_id), now).await?;
    let account = &passkey.account;
    claim(state, &PasskeyFailures::Account(account), now).await?;
    let user = state
        .stores()
        .users()
        .find_by_id(account)
        .await
        .map_err(store_error)?;
    let Some(user) = user.filter(|user| !user.disabled) else {
        record(state, account, EventKind::LoginFailed, now, client).await;
        return Err(refuse(state, "account deleted or disabled"));
    };
    if passkey.generation != user.passkey_generation {
        record(state, account, EventKind::LoginFailed, now, client).await;
        return Err(refuse(
            state,
            "passkey registered before the account's last reset",
        ));
    }
    let relying_party = relying_party(state, request)?;
    verify_and_record(
        state,
        &relying_party,
        &ceremony,
        &response,
        &passkey,
        now,
        client,
    )
    .await?;
    let (by_credential, by_account) = (
        PasskeyFailures::Credential(&credential_id),
        PasskeyFailures::Account(account),
    );
    let (credential_reset, account_reset) =
        tokio::join!(failures.reset(&by_credential), failures.reset(&by_account));
    if let Err(error) = credential_reset.and(account_reset) {
        tracing::warn!(%error, "passkey sign-in succeeded but its failure counters were not reset");
    }
    tracing::info!(username = %user.username, passkey = %passkey.id, "signed in with a passkey");
    let mut session = Session::new(&user.id, user.token_version, now, state.session_ttl());
    session.amr = PASSKEY_METHODS.map(str::to_owned).to_vec();
    Ok((user, session))
}

/// Checks a passkey assertion as the second factor of the pending login `mfa_token_hash` of
/// `user`: `false` for any refusal (the caller counts it as a wrong second factor), a passkey
/// registered before the account's last reset among them.
pub(crate) async fn second_factor<C: SignInContext>(
    state: &C,
    request: &Request,
    user: &User,
    mfa_token_hash: &str,
    credential: &str,
    now: SystemTime,
    client: &RequestSource,
) -> Result<bool, OAuthError> {
    let response =
        AssertionResponse::parse_second_factor(credential.as_bytes()).map_err(malformed)?;
    let challenge = response.challenge().map_err(malformed)?;
    let credential_id = response.credential_id();
    let account = &user.id;
    let (ceremony, passkey) = ceremony_and_passkey(
        state,
        &challenge,
        CeremonyKind::SecondFactor,
        &credential_id,
        now,
    )
    .await?;
    let ceremony = ceremony.filter(|ceremony| {
        ceremony.account.as_ref() == Some(account)
            && ceremony.mfa_token_hash.as_deref() == Some(mfa_token_hash)
    });
    let passkey = passkey.filter(|passkey| {
        &passkey.account == account && passkey.generation == user.passkey_generation
    });
    let (Some(ceremony), Some(passkey)) = (ceremony, passkey) else {
        tracing::info!(account = %account, "passkey second factor refused: no live challenge of this login, or not this account's passkey");
        return Ok(false);
    };
    let relying_party = relying_party(state, request)?;
    match verify_and_record(
        state,
        &relying_party,
        &ceremony,
        &response,
        &passkey,
        now,
        client,
    )
    .await
    {
        Ok(()) => Ok(true),
        Err(OAuthError::InvalidPasskey) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Consumes the live ceremony of `kind` under `challenge` and reads the passkey
/// `credential_id` names, in one round trip.
async fn ceremony_and_passkey<C: SignInContext>(
    state: &C,
    challenge: &str,
    kind: CeremonyKind,
    credential_id: &str,
    now: SystemTime,
) -> Result<(Option<Ceremony>, Option<Passkey>), OAuthError> {
    let (ceremony, passkey) = tokio::join!(
        state
            .stores()
            .passkey_ceremonies()
            .consume(challenge, kind, now),
        state.stores().passkeys().find(credential_id)
    );
    Ok((
        ceremony.map_err(store_error)?,
        passkey.map_err(store_error)?,
    ))
}

/// Verifies `response` by `passkey` against `ceremony` and records the use (new counter),
/// conditionally on the state it was verified against.
async fn verify_and_record<C: SignInContext>(
    state: &C,
    relying_party: &RelyingParty,
    ceremony: &Ceremony,
    response: &AssertionResponse,
    passkey: &Passkey,
    now: SystemTime,
    client: &RequestSource,
) -> Result<(), OAuthError> {
    let account = &passkey.account;
    let verified = match webauthn::verify_assertion(
        relying_party,
        &ceremony.state,
        response,
        passkey,
    ) {
        Ok(verified) => verified,
        Err(PasskeyError::CounterRegression) => {
            tracing::warn!(account = %account, passkey = %passkey.id, stored_sign_count = passkey.sign_count, "passkey refused: its signature counter went backwards; the authenticator may have been cloned");
            state
                .metrics()
                .record(SecurityEvent::PasskeyCounterRegression);
            record(
                state,
                account,
                EventKind::PasskeyCounterRegressed,
                now,
                client,
            )
            .await;
            return Err(refuse(state, "signature counter regressed"));
        }
        Err(error @ PasskeyError::State(_)) => return Err(server_error(&error)),
        Err(error) => {
            record(state, account, EventKind::LoginFailed, now, client).await;
            return Err(refuse(state, &error.to_string()));
        }
    };
    let used = PasskeyUse {
        previous_state: &passkey.state,
        state: &verified.state,
        sign_count: verified.sign_count,
        at: now,
    };
    let recorded = state
        .stores()
        .passkeys()
        .record_use(&passkey.id, &used)
        .await
        .map_err(store_error)?;
    if !recorded {
        return Err(refuse(
            state,
            "passkey used by a concurrent request, or deleted",
        ));
    }
    Ok(())
}

async fn claim<C: SignInContext>(
    state: &C,
    key: &PasskeyFailures<'_>,
    now: SystemTime,
) -> Result<(), OAuthError> {
    let attempt = state
        .stores()
        .login_failures()
        .claim_attempt(key, now)
        .await
        .map_err(store_error)?;
    if let Attempt::Locked {
        failures,
        retry_after,
    } = attempt
    {
        tracing::info!(failures, "passkey sign-in refused: locked");
        state.metrics().record(SecurityEvent::LockedOut);
        return Err(OAuthError::TooManyAttempts { retry_after });
    }
    Ok(())
}

fn refuse<C: SignInContext>(state: &C, reason: &str) -> OAuthError {
    tracing::info!(reason, "passkey refused");
    state.metrics().record(SecurityEvent::FailedPasskey);
    OAuthError::InvalidPasskey
}

async fn record<C: SignInContext>(
    state: &C,
    account: &AccountId,
    kind: EventKind,
    now: SystemTime,
    client: &RequestSource,
) {
    let event = AccountEvent::new(account, kind, now, client);
    account_events::record(state.stores().events(), &event).await;
}

fn relying_party<C: SignInContext>(
    state: &C,
    request: &Request,
) -> Result<RelyingParty, OAuthError> {
    state.passkeys().relying_party(request).ok_or_else(|| {
        server_error(&"no relying party: set PASSKEY_RP_ID, or call through API Gateway")
    })
}

fn malformed(error: PasskeyError) -> OAuthError {
    OAuthError::InvalidRequest(format!("credential: {error}"))
}

fn internal(error: impl std::fmt::Display) -> ApiError {
    tracing::error!(%error, "passkey options failed");
    ApiError::Internal
}
