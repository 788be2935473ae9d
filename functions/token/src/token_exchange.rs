//! RFC 8693 token exchange for native apps: an id_token the platform's own SDK got from an
//! upstream provider (Sign in with Apple, Google Identity Services) for this service's tokens,
//! without a browser. The id_token must verify against the provider's published keys for one
//! of the configured audiences (this service's client id there, or a native app's), carry
//! the `nonce` the app sends (or its SHA-256, as Sign in with Apple takes it), and be
//! presented once. The identity then signs in by the same linking rules as the hosted pages
//! ([`shared::federation::linking`]); an account with a second factor, and an identity that
//! may link only after its owner's sign-in, are refused (the hosted pages handle both).

use crate::form::ID_TOKEN_TYPE;
use crate::oauth::{OAuthError, TokenResponse};
use crate::{State, server_error, store_error};
use lambda_http::Request;
use sha2::Digest as _;
use shared::access::scopes::Scopes;
use shared::authorization::codes::AuthorizationGrant;
use shared::authorization::federation_pending::PendingStore as _;
use shared::federation::linking::{self, Resolution};
use shared::federation::providers::Preset;
use shared::federation::upstream::{Asserted, UpstreamError};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::platform::http::RequestSource;
use shared::sessions::{RelyingPartyGrant, Session, SessionStore as _};
use shared::stores::Stores;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The form of an exchange.
pub(crate) struct Exchange {
    pub subject_token: String,
    pub subject_token_type: String,
    pub nonce: Option<String>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// How long a used id_token's mark is kept past its expiry (the verification's skew).
const USED_MARK_MARGIN: Duration = Duration::from_secs(120);

/// Answers the exchange: `401 invalid_client` for a client that does not authenticate as a
/// relying party, `400 unauthorized_client`-like `invalid_request` for a third-party one,
/// `400 invalid_grant` for an id_token that does not verify, a wrong or reused nonce, a
/// disabled account, an account with a second factor or an identity that must be linked in
/// the browser.
pub(crate) async fn exchange<S: Stores>(
    state: &State<S>,
    request: &Request,
    form: Exchange,
    issuer: &str,
    now: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    let party =
        crate::authorization_code::authenticate(state, request, form.client_id, form.client_secret)
            .await?;
    if form.subject_token_type != ID_TOKEN_TYPE {
        return Err(OAuthError::InvalidRequest(format!(
            "subject_token_type must be {ID_TOKEN_TYPE}"
        )));
    }
    if !party.first_party {
        // A third-party application needs the user's consent, which only the hosted pages ask.
        return Err(OAuthError::InvalidRequest(
            "only first-party applications exchange id_tokens; others sign in through /authorize"
                .to_owned(),
        ));
    }
    let Some(nonce) = form.nonce else {
        return Err(OAuthError::InvalidRequest(
            "nonce is required: the value given to the platform's sign-in".to_owned(),
        ));
    };
    let scopes = Scopes::parse(form.scope.as_deref().unwrap_or("openid"));
    if !scopes.is_subset(&party.scopes) {
        return Err(OAuthError::InvalidScope);
    }
    let asserted = verified(state, &form.subject_token, &nonce).await?;
    let source = RequestSource::of(request);
    spend(state, &asserted, now).await?;
    let resolution = linking::resolve(&state.stores, &state.hooks, &asserted, now)
        .await
        .map_err(store_error)?;
    let user = match resolution {
        Resolution::SignIn { user, linked, .. } => {
            if linked {
                let event = AccountEvent::new(&user.id, EventKind::IdentityLinked, now, &source);
                account_events::record(state.stores.events(), &event).await;
            }
            user
        }
        Resolution::OwnerMustSignIn(_) => {
            tracing::info!(provider = %asserted.provider, "id_token exchange refused: the identity must be linked by the account's owner");
            return Err(OAuthError::LinkRequired);
        }
        Resolution::SignUpRefused(message) => {
            tracing::info!(provider = %asserted.provider, "id_token exchange refused: the pre-sign-up hook refused the account");
            return Err(OAuthError::InvalidSubjectToken(message));
        }
        Resolution::SignUpUndecided => return Err(OAuthError::HookFailed),
    };
    if user.disabled {
        tracing::info!(account = %user.id, "id_token exchange refused: account disabled");
        return Err(OAuthError::InvalidSubjectToken(
            "the account is disabled".to_owned(),
        ));
    }
    let authenticated_at = asserted
        .authenticated_at
        .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
        .filter(|at| *at <= now)
        .unwrap_or(now);
    // The second step of the MFA grant issues no tokens bound to a relying party: an account
    // with a second factor signs in through /authorize, where the code is asked.
    let factor = shared::factors::second_factors::SecondFactorStore::find(
        state.stores.second_factors(),
        &user.id,
    )
    .await
    .map_err(store_error)?;
    if factor.is_some_and(|factor| factor.confirmed) {
        tracing::info!(account = %user.id, "id_token exchange refused: the account has a second factor");
        return Err(OAuthError::InvalidSubjectToken(
            "this account has two-step verification: sign in through /authorize, where its code is asked"
                .to_owned(),
        ));
    }
    let refresh = shared::sessions::generate().map_err(|error| server_error(&error))?;
    let settings = state.issuer.settings();
    let mut session = Session::new(&user.id, user.token_version, now, settings.session_ttl);
    session.authenticated_at = authenticated_at;
    session.amr = vec!["fed".to_owned()];
    session.client = source.clone();
    session.relying_party = Some(RelyingPartyGrant {
        client: party.id.clone(),
        scopes: scopes.clone(),
    });
    state
        .stores
        .sessions()
        .start(&session, &refresh.hash, now, settings.refresh_token_ttl)
        .await
        .map_err(store_error)?;
    let event = AccountEvent::new(&user.id, EventKind::FederatedLogin, now, &source);
    account_events::record(state.stores.events(), &event).await;
    tracing::info!(account = %user.id, client = %party.id, provider = %asserted.provider, "id_token exchanged");
    let grant = AuthorizationGrant {
        client: party.id.clone(),
        redirect_uri: String::new(),
        code_challenge: String::new(),
        nonce: None,
        scopes,
        account: user.id.clone(),
        token_version: user.token_version,
        login_session: session.family.clone(),
        authenticated_at,
        amr: session.amr.clone(),
        expires_at: now,
    };
    let signing = crate::authorization_code::Signing {
        party: &party,
        grant: &grant,
        user: &user,
        session: &session,
        source: &source,
        kind: crate::claims_hook::Grant::SignIn,
    };
    crate::authorization_code::respond(state, signing, refresh, issuer, now).await
}

/// The id_token checked against its provider (found by the issuer it names), for one of the
/// provider's audiences, carrying `nonce` or its SHA-256 (hex or base64url).
async fn verified<S: Stores>(
    state: &State<S>,
    token: &str,
    nonce: &str,
) -> Result<Asserted, OAuthError> {
    let refused = |reason: &str| {
        tracing::info!(reason, "id_token exchange refused");
        OAuthError::InvalidSubjectToken(format!("the subject_token is refused: {reason}"))
    };
    let issuer = shared::federation::id_tokens::unverified_issuer(token)
        .ok_or_else(|| refused("not an id_token"))?;
    let provider = state
        .upstreams
        .provider_for_issuer(&issuer)
        .ok_or_else(|| refused("no configured provider has its issuer"))?;
    let asserted = match state.upstreams.verify_id_token(provider, token, None).await {
        Ok(asserted) => asserted,
        Err(UpstreamError::Unavailable(reason)) => {
            tracing::warn!(provider = %provider.id, %reason, "upstream keys unavailable");
            return Err(OAuthError::ServiceUnavailable);
        }
        Err(error) => return Err(refused(&error.to_string())),
    };
    let carried = asserted.nonce.as_deref().unwrap_or_default();
    if !nonce_matches(provider.preset, nonce, carried) {
        return Err(refused("its nonce is not the one sent"));
    }
    Ok(asserted)
}

/// Whether an id_token carrying `carried` answers the app's `nonce`: Sign in with Apple
/// carries the SHA-256 (hex) of the value the app keeps, so the hash alone (which the
/// id_token shows) does not pass; every other provider carries the value itself.
fn nonce_matches(preset: Preset, nonce: &str, carried: &str) -> bool {
    if carried.is_empty() || nonce.is_empty() {
        return false;
    }
    match preset {
        Preset::Apple => {
            let hex: String = sha2::Sha256::digest(nonce.as_bytes())
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            hex == carried
        }
        _ => nonce == carried,
    }
}

/// Marks the id_token used (by its issuer, subject and nonce) until it expires: a second
/// exchange of it, in parallel or later, is refused. The subject is in the key, so one app's
/// fixed nonce cannot block other users.
async fn spend<S: Stores>(
    state: &State<S>,
    asserted: &Asserted,
    now: SystemTime,
) -> Result<(), OAuthError> {
    let nonce = asserted.nonce.as_deref().unwrap_or_default();
    let key = format!(
        "used:{}",
        shared::sessions::hash(&format!("{} {} {nonce}", asserted.issuer, asserted.subject))
    );
    let expires_at = asserted
        .expires_at
        .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap_or(now)
        + USED_MARK_MARGIN;
    let first = state
        .stores
        .federation()
        .use_once(&key, now, expires_at)
        .await
        .map_err(store_error)?;
    if first {
        Ok(())
    } else {
        tracing::info!(provider = %asserted.provider, "id_token exchange refused: presented before");
        Err(OAuthError::InvalidSubjectToken(
            "the subject_token was exchanged before".to_owned(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apples_id_token_carries_the_nonces_hash_which_alone_does_not_pass() {
        let hashed: String = sha2::Sha256::digest(b"kept-by-the-app")
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert!(nonce_matches(Preset::Apple, "kept-by-the-app", &hashed));
        assert!(
            !nonce_matches(Preset::Apple, &hashed, &hashed),
            "the hash is public"
        );
        assert!(nonce_matches(Preset::Google, "n-1", "n-1"));
        assert!(!nonce_matches(Preset::Google, "n-2", "n-1"));
        assert!(!nonce_matches(Preset::Oidc, "", ""));
    }
}
