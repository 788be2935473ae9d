//! The token endpoint's sign-in checks for other front doors (the hosted sign-in pages):
//! the same password check with the same lockouts, per-address limit and refusals, and the
//! same second step, so a browser sign-in can be answered exactly as `POST /token` answers,
//! with each refusal's [`OAuthError`].

use crate::form::SecondFactorProof;
use crate::oauth::OAuthError;
use crate::{SignInContext, mfa, password};
use shared::factors::second_factors::SecondFactorStore as _;
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::users::User;
use shared::platform::http::RequestSource;
use shared::sessions::Session;
use shared::stores::Stores as _;
use std::time::SystemTime;

/// What a right password leads to.
#[derive(Debug)]
pub enum PasswordStep {
    /// Signed in: the account has no second factor.
    Complete(User),
    /// The account has a second factor: `mfa_token` (single use, five minutes) completes the
    /// sign-in with [`second_factor`].
    SecondFactor {
        /// The account.
        user: User,
        /// The pending login's token.
        mfa_token: String,
    },
}

/// Checks a username and password as the password grant does (the same counters, the same
/// refusals), recording the outcome in the account's history.
pub async fn password<C: SignInContext>(
    context: &C,
    username: &str,
    password: &str,
    source: &RequestSource,
) -> Result<PasswordStep, OAuthError> {
    let now = context.clock().now();
    let login = password::authenticate(context, username, password, source).await?;
    let events = context.stores().events();
    let user = login.user;
    if login.second_factor_on {
        let (challenge, (), (), ()) = tokio::join!(
            mfa::challenge(context, &user, now, now, false),
            password::forget_failures(context, &user.username),
            account_events::amend(events, &login.event, EventKind::SecondFactorRequired),
            login.source.refund(context)
        );
        return match challenge? {
            OAuthError::MfaRequired { mfa_token } => {
                Ok(PasswordStep::SecondFactor { user, mfa_token })
            }
            other => Err(other),
        };
    }
    let ((), (), ()) = tokio::join!(
        password::forget_failures(context, &user.username),
        account_events::amend(events, &login.event, EventKind::LoginSucceeded),
        login.source.refund(context)
    );
    Ok(PasswordStep::Complete(user))
}

/// After a sign-in at another provider that resolved to `user` (the caller checked the
/// provider's answer): complete for an account without a second factor; otherwise the same
/// second step as after a right password, whose completion says `amr` `fed` instead of
/// `pwd`. `authenticated_at` is when the user signed in at the provider.
pub async fn federated<C: SignInContext>(
    context: &C,
    user: User,
    authenticated_at: SystemTime,
    source: &RequestSource,
) -> Result<PasswordStep, OAuthError> {
    let factor = context
        .stores()
        .second_factors()
        .find(&user.id)
        .await
        .map_err(crate::store_error)?;
    if factor.is_some_and(|factor| factor.confirmed) {
        let now = context.clock().now();
        let event = AccountEvent::new(&user.id, EventKind::SecondFactorRequired, now, source);
        let (challenge, ()) = tokio::join!(
            mfa::challenge(context, &user, now, authenticated_at, true),
            account_events::record(context.stores().events(), &event)
        );
        return match challenge? {
            OAuthError::MfaRequired { mfa_token } => {
                Ok(PasswordStep::SecondFactor { user, mfa_token })
            }
            other => Err(other),
        };
    }
    Ok(PasswordStep::Complete(user))
}

/// Completes a pending login with its second factor as the MFA grant does: the account and
/// a session (not stored) saying how and when it authenticated. The login is recorded.
pub async fn second_factor<C: SignInContext>(
    context: &C,
    request: &lambda_http::Request,
    mfa_token: &str,
    factor: &SecondFactorProof,
    source: &RequestSource,
) -> Result<(User, Session), OAuthError> {
    let now: SystemTime = context.clock().now();
    let (user, session) = mfa::complete(context, request, mfa_token, factor, now, source).await?;
    let event = AccountEvent::new(&user.id, EventKind::LoginSucceeded, now, source);
    account_events::record(context.stores().events(), &event).await;
    Ok((user, session))
}

/// Signs in with a passkey alone as the passkey grant does: the account whose passkey
/// answered a sign-in challenge of `POST /passkeys/authentication-options`, and a session
/// (not stored) saying `amr` [`crate::passkey::PASSKEY_METHODS`]. The login is recorded.
pub async fn passkey<C: SignInContext>(
    context: &C,
    request: &lambda_http::Request,
    credential: &str,
    source: &RequestSource,
) -> Result<(User, Session), OAuthError> {
    let now: SystemTime = context.clock().now();
    let (user, session) =
        crate::passkey::sign_in(context, request, credential, now, source).await?;
    let event = AccountEvent::new(&user.id, EventKind::LoginSucceeded, now, source);
    account_events::record(context.stores().events(), &event).await;
    Ok((user, session))
}
