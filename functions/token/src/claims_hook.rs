//! The pre-token-generation hook: Cognito's version 2 event before every user grant signs its
//! tokens. It fails closed: no token is issued, and the session the request started or
//! continued ends, so nothing half-issued stays behind.

use crate::State;
use crate::oauth::OAuthError;
use shared::access::scopes::Scopes;
use shared::hooks::Trigger;
use shared::hooks::cognito::{self, PreTokenGenerationRequest, PreTokenGenerationResponse};
use shared::hooks::token_claims::{self, TokenChanges};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::users::User;
use shared::platform::http::RequestSource;
use shared::sessions::{Session, SessionStore as _};
use shared::stores::Stores;

/// Cognito's `triggerSource` for a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    /// A sign-in at this endpoint (password, second factor, passkey, token exchange).
    SignIn,
    /// An authorization code from the hosted pages.
    HostedSignIn,
    /// A refresh.
    Refresh,
}

impl Grant {
    fn trigger_source(self) -> &'static str {
        match self {
            Self::SignIn => "TokenGeneration_Authentication",
            Self::HostedSignIn => "TokenGeneration_HostedAuth",
            Self::Refresh => "TokenGeneration_RefreshTokens",
        }
    }
}

/// The hook's changes to the tokens of `user`'s `session`, about to carry `scopes`; no
/// changes (the same scopes) when the hook is off.
pub(crate) async fn changes<S: Stores>(
    state: &State<S>,
    grant: Grant,
    user: &User,
    session: &Session,
    scopes: Scopes,
    source: &RequestSource,
) -> Result<TokenChanges, OAuthError> {
    if !state.hooks.is_on(Trigger::PreTokenGeneration) {
        return Ok(TokenChanges {
            scopes,
            ..TokenChanges::default()
        });
    }
    let client = session
        .relying_party
        .as_ref()
        .map(|grant| grant.client.as_str());
    let request = PreTokenGenerationRequest {
        user_attributes: cognito::user_attributes(user),
        group_configuration: cognito::GroupConfiguration {
            groups_to_override: user.roles.clone(),
            ..Default::default()
        },
        scopes: scopes.iter().map(str::to_owned).collect(),
        client_metadata: Default::default(),
    };
    let event = state.hooks.event::<_, PreTokenGenerationResponse>(
        grant.trigger_source(),
        "2",
        user.username.as_str(),
        client,
        request,
    );
    let answer = state
        .hooks
        .call::<_, PreTokenGenerationResponse>(Trigger::PreTokenGeneration, &event)
        .await;
    // A relying party's token never gets a scope its user did not grant it: within the roles
    // that is what it has already, beyond them (the operator's opt-in) what was granted.
    let (addable, any_scope) = match &session.relying_party {
        Some(grant) if state.hook_scopes_beyond_roles => (grant.scopes.clone(), false),
        Some(_) => (scopes.clone(), false),
        None => (
            state.roles.scopes_for(&user.roles),
            state.hook_scopes_beyond_roles,
        ),
    };
    let applied = match answer {
        Ok(response) => {
            token_claims::changes(response.unwrap_or_default(), &scopes, &addable, any_scope)
                .map_err(|unusable| unusable.to_string())
        }
        Err(error) => Err(error.to_string()),
    };
    match applied {
        Ok(changes) => Ok(changes),
        Err(reason) => {
            tracing::warn!(account = %user.id, family = %session.family, %reason, "no tokens: the pre-token-generation hook failed; session ended");
            let event =
                AccountEvent::new(&user.id, EventKind::HookFailed, state.clock.now(), source);
            let (revoked, ()) = tokio::join!(
                state.stores.sessions().revoke_family(&session.family),
                account_events::record(state.stores.events(), &event)
            );
            if let Err(error) = revoked {
                tracing::error!(%error, family = %session.family, "ending the session after a failed hook");
            }
            Err(OAuthError::HookFailed)
        }
    }
}
