//! The second step of a login with a second factor: a correct password for an account with
//! TOTP on answers `mfa_required` with an `mfa_token` (stored only as its hash, five minutes,
//! bound to the account and its token version), and the MFA grant exchanges it with an
//! authenticator code or a recovery code. Wrong codes count toward the account's
//! second-factor lockout (the password lockout's rules, its own counter), which only a right
//! code resets: signing in with the password again does not buy more guesses.

use crate::form::SecondFactorProof;
use crate::oauth::OAuthError;
use crate::{SignInContext, server_error, store_error};
use secrecy::ExposeSecret;
use shared::abuse::login_failures::{Attempt, LoginFailureStore, SecondFactorFailures};
use shared::factors::mfa::{FactorCheckError, SECOND_FACTOR_METHODS};
use shared::factors::mfa_challenges::{MFA_TOKEN_LIFETIME, MfaChallenge, MfaChallengeStore};
use shared::factors::second_factors::SecondFactorStore;
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::users::{User, UserStore};
use shared::platform::http::RequestSource;
use shared::platform::metrics::SecurityEvent;
use shared::sessions::Session;
use shared::stores::Stores;
use std::time::SystemTime;

/// Stores a pending login for `user` after a correct password (or, `federated`, a sign-in
/// at another provider at `authenticated_at`, which may be earlier) and answers
/// `mfa_required`; the `mfa_token` lasts five minutes from `now`.
pub(crate) async fn challenge<C: SignInContext>(
    state: &C,
    user: &User,
    now: SystemTime,
    authenticated_at: SystemTime,
    federated: bool,
) -> Result<OAuthError, OAuthError> {
    let token = shared::sessions::generate().map_err(|error| server_error(&error))?;
    let challenge = MfaChallenge {
        account: user.id.clone(),
        token_version: user.token_version,
        password_at: authenticated_at,
        federated,
        expires_at: now + MFA_TOKEN_LIFETIME,
    };
    state
        .stores()
        .mfa_challenges()
        .create(&token.hash, &challenge)
        .await
        .map_err(store_error)?;
    tracing::info!(username = %user.username, "password right; second factor required");
    Ok(OAuthError::MfaRequired {
        mfa_token: token.secret.expose_secret().to_owned(),
    })
}

/// Completes a pending login with its second factor: the account and a new session whose
/// tokens say `amr` `pwd otp mfa`. Of concurrent completions of one `mfa_token` at most one
/// succeeds (the factor's use and the token's consumption are each one conditional update).
pub(crate) async fn complete<C: SignInContext>(
    state: &C,
    request: &lambda_http::Request,
    mfa_token: &str,
    factor: &SecondFactorProof,
    now: SystemTime,
    client: &RequestSource,
) -> Result<(User, Session), OAuthError> {
    if !shared::sessions::well_formed(mfa_token) {
        return Err(OAuthError::InvalidMfaToken);
    }
    let hash = shared::sessions::hash(mfa_token);
    let challenges = state.stores().mfa_challenges();
    let Some(pending) = challenges.find(&hash, now).await.map_err(store_error)? else {
        tracing::info!("MFA grant refused: unknown or expired mfa_token");
        return Err(OAuthError::InvalidMfaToken);
    };
    let account = &pending.account;
    let (user, stored_factor) = tokio::join!(
        state.stores().users().find_by_id(account),
        state.stores().second_factors().find(account)
    );
    let (user, stored_factor) = (
        user.map_err(store_error)?,
        stored_factor.map_err(store_error)?,
    );
    let (Some(user), Some(stored_factor)) = (user, stored_factor) else {
        tracing::info!(account = %account, "MFA grant refused: account or second factor gone");
        return Err(OAuthError::InvalidMfaToken);
    };
    if user.disabled || user.token_version != pending.token_version || !stored_factor.confirmed {
        tracing::info!(username = %user.username, "MFA grant refused: the account changed since the password");
        return Err(OAuthError::InvalidMfaToken);
    }

    let attempt = state
        .stores()
        .login_failures()
        .claim_attempt(&SecondFactorFailures(account), now)
        .await
        .map_err(store_error)?;
    if let Attempt::Locked {
        failures,
        retry_after,
    } = attempt
    {
        tracing::info!(username = %user.username, failures, "MFA grant refused: locked");
        state.metrics().record(SecurityEvent::LockedOut);
        return Err(OAuthError::TooManyAttempts { retry_after });
    }
    let checked = match factor {
        SecondFactorProof::Code(code) => {
            shared::factors::mfa::check(
                state.stores().second_factors(),
                state.mfa(),
                account,
                &stored_factor,
                code,
                now,
            )
            .await
        }
        SecondFactorProof::Passkey(credential) => Ok(crate::passkey::second_factor(
            state, request, &user, &hash, credential, now, client,
        )
        .await?),
    };
    match checked {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(username = %user.username, kind = factor_kind(factor), "MFA grant refused: wrong code");
            state.metrics().record(SecurityEvent::FailedSecondFactor);
            let event = AccountEvent::new(account, EventKind::SecondFactorFailed, now, client);
            account_events::record(state.stores().events(), &event).await;
            return Err(OAuthError::InvalidSecondFactor);
        }
        Err(FactorCheckError::Store(error)) => return Err(store_error(error)),
        Err(error @ FactorCheckError::Sealed(_)) => return Err(server_error(&error)),
    }
    if !challenges.consume(&hash, now).await.map_err(store_error)? {
        tracing::info!(username = %user.username, "MFA grant refused: mfa_token used by a concurrent request");
        return Err(OAuthError::InvalidMfaToken);
    }
    tracing::info!(username = %user.username, kind = factor_kind(factor), "second factor accepted");
    if let Err(error) = state
        .stores()
        .login_failures()
        .reset(&SecondFactorFailures(account))
        .await
    {
        tracing::warn!(%error, "second factor accepted but its failure counter was not reset");
    }
    let mut session = Session::new(&user.id, user.token_version, now, state.session_ttl());
    session.amr = match factor {
        SecondFactorProof::Code(_) => SECOND_FACTOR_METHODS.map(str::to_owned).to_vec(),
        SecondFactorProof::Passkey(_) => crate::passkey::PASSWORD_AND_PASSKEY_METHODS
            .map(str::to_owned)
            .to_vec(),
    };
    if pending.federated {
        // The first factor was a sign-in at another provider, not the password.
        for method in &mut session.amr {
            if method == "pwd" {
                "fed".clone_into(method);
            }
        }
    }
    // The login happened when the password was checked; the code only completed it.
    session.authenticated_at = pending.password_at;
    Ok((user, session))
}

fn factor_kind(factor: &SecondFactorProof) -> &'static str {
    match factor {
        SecondFactorProof::Code(code) => code.kind(),
        SecondFactorProof::Passkey(_) => "passkey",
    }
}
