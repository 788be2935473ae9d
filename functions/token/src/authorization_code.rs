//! The authorization-code grant (RFC 6749 §4.1.3 with PKCE, RFC 7636): a relying party
//! exchanges the code the authorization endpoint gave it for an access token, an id_token
//! (with `openid`) and a refresh token (with `offline_access`, or for a first-party client).
//!
//! The code is spent in one conditional update before anything is checked, so of parallel
//! exchanges one wins, and a code that fails a check is spent too. A code presented after
//! its exchange is a replay: the session the first exchange started is revoked (RFC 6749
//! §4.1.2), whichever of the two lands first, so the winner's refresh token dies with it. The client must be the one the code was issued
//! to (a public client by its `client_id`, a confidential one by its secret too), the
//! `redirect_uri` the request's, the `code_verifier` one whose S256 hash is the challenge,
//! and the account unchanged since (enabled, same token version).

use crate::oauth::{OAuthError, TokenResponse};
use crate::{State, server_error, store_error};
use lambda_http::Request;
use shared::access::client_id::RelyingPartyId;
use shared::access::clients::secret_id;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyStore,
};
use shared::authorization::codes::{AuthorizationCodeStore, AuthorizationGrant, Redemption};
use shared::authorization::pkce::CodeChallenge;
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::credentials::Password;
use shared::identity::users::{User, UserStore};
use shared::platform::http::RequestSource;
use shared::platform::metrics::SecurityEvent;
use shared::sessions::{RelyingPartyGrant, Session, SessionStore};
use shared::stores::Stores;
use shared::tokens::id_tokens::{self, IdTokenClaims};
use std::time::SystemTime;

/// The longest client secret looked at; ours are 52 characters.
const MAX_SECRET_BYTES: usize = 256;

/// The form of a code exchange.
pub(crate) struct CodeExchange {
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// Answers the grant: `401 invalid_client` when the client does not authenticate as a
/// relying party, `400 invalid_grant` ([`OAuthError::InvalidAuthorizationCode`]) for every
/// problem with the code.
pub(crate) async fn exchange<S: Stores>(
    state: &State<S>,
    request: &Request,
    form: CodeExchange,
    issuer: &str,
    now: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    let party = authenticate(state, request, form.client_id, form.client_secret).await?;
    if !shared::sessions::well_formed(&form.code) {
        tracing::info!(client = %party.id, "code refused: not one of our codes");
        return Err(OAuthError::InvalidAuthorizationCode);
    }
    let hash = shared::sessions::hash(&form.code);
    let source = RequestSource::of(request);
    let family = uuid::Uuid::new_v4().to_string();
    let codes = state.stores.authorization_codes();
    let grant = match codes
        .redeem(&hash, &family, now)
        .await
        .map_err(store_error)?
    {
        Redemption::Redeemed(grant) => grant,
        Redemption::Replayed { session, account } => {
            end_replayed(state, &session, &account, now, &source).await?;
            return Err(OAuthError::InvalidAuthorizationCode);
        }
        Redemption::Invalid => {
            tracing::info!(client = %party.id, "code refused: unknown, expired or deleted");
            return Err(OAuthError::InvalidAuthorizationCode);
        }
    };
    let verified = form.code_verifier.as_deref().is_some_and(|verifier| {
        CodeChallenge::from_stored(grant.code_challenge.clone()).is_verified_by(verifier)
    });
    let refusal = if grant.client != party.id {
        Some("issued to another client")
    } else if grant.redirect_uri != form.redirect_uri {
        Some("another redirect_uri")
    } else if !verified {
        Some("the code_verifier does not answer the challenge")
    } else {
        None
    };
    if let Some(refusal) = refusal {
        tracing::info!(client = %party.id, "code refused: {refusal}");
        return Err(OAuthError::InvalidAuthorizationCode);
    }
    let user = current_account(state, &grant).await?;
    let refresh = shared::sessions::generate().map_err(|error| server_error(&error))?;
    let settings = state.issuer.settings();
    let mut session = Session::new(&user.id, grant.token_version, now, settings.session_ttl);
    session.family = family;
    session.authenticated_at = grant.authenticated_at;
    session.amr = grant.amr.clone();
    session.client = source.clone();
    session.relying_party = Some(RelyingPartyGrant {
        client: party.id.clone(),
        scopes: grant.scopes.clone(),
    });
    let idle = settings.refresh_token_ttl;
    state
        .stores
        .sessions()
        .start(&session, &refresh.hash, now, idle)
        .await
        .map_err(store_error)?;
    // A replay that revoked the session before it existed left nothing to revoke: it is
    // ended here, as a replay after this exchange would end it.
    if codes.was_replayed(&hash).await.map_err(store_error)? {
        end_replayed(state, &session.family, &user.id, now, &source).await?;
    }
    // A consent taken back while the code waited (or while this exchange ran) ends what it
    // started: the revocation deletes the consent before it ends the application's sessions.
    if !party.first_party && !consent_stands(state, &user, &party, &grant).await? {
        tracing::info!(account = %user.id, client = %party.id, "code refused: the consent was taken back");
        state
            .stores
            .sessions()
            .end_session(&user.id, &session.family)
            .await
            .map_err(store_error)?;
        return Err(OAuthError::InvalidAuthorizationCode);
    }
    let event = AccountEvent::new(&user.id, EventKind::LoginSucceeded, now, &source);
    account_events::record(state.stores.events(), &event).await;
    let signing = Signing {
        party: &party,
        grant: &grant,
        user: &user,
        session: &session,
        source: &source,
        kind: crate::claims_hook::Grant::HostedSignIn,
    };
    respond(state, signing, refresh, issuer, now).await
}

/// Whose tokens are signed, for which client, after which sign-in.
pub(crate) struct Signing<'a> {
    /// The relying party.
    pub(crate) party: &'a RelyingParty,
    /// What the sign-in granted it.
    pub(crate) grant: &'a AuthorizationGrant,
    /// The account.
    pub(crate) user: &'a User,
    /// The session the tokens belong to.
    pub(crate) session: &'a Session,
    /// Where the request came from.
    pub(crate) source: &'a RequestSource,
    /// The grant, as the pre-token-generation hook names it.
    pub(crate) kind: crate::claims_hook::Grant,
}

/// Whether the user's consent to this third-party application still covers the code's
/// scopes.
async fn consent_stands<S: Stores>(
    state: &State<S>,
    user: &User,
    party: &RelyingParty,
    grant: &AuthorizationGrant,
) -> Result<bool, OAuthError> {
    use shared::authorization::consents::ConsentStore as _;
    let consent = state
        .stores
        .consents()
        .find(&user.id, &party.id)
        .await
        .map_err(store_error)?;
    Ok(consent.is_some_and(|consent| consent.covers(&grant.scopes)))
}

/// Signs the access token, the id_token with `openid`, and hands out the refresh token
/// with `offline_access` or to a first-party client.
pub(crate) async fn respond<S: Stores>(
    state: &State<S>,
    signing: Signing<'_>,
    refresh: shared::sessions::NewRefreshToken,
    issuer: &str,
    now: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    use secrecy::ExposeSecret as _;
    let Signing {
        party,
        grant,
        user,
        session,
        source,
        kind,
    } = signing;
    let scopes = crate::relying_party_scopes(state, user, &grant.scopes);
    let changes = crate::claims_hook::changes(state, kind, user, session, scopes, source).await?;
    let scopes = changes.scopes;
    let access = state
        .issuer
        .issue_with_claims(
            issuer,
            user.id.as_str(),
            session.token_version,
            &session.authentication(scopes.clone()),
            now,
            &changes.access.add,
        )
        .map_err(|error| server_error(&error))?;
    let id_token = if grant.scopes.contains("openid") {
        Some(id_token(
            state,
            IdTokenOf {
                party,
                grant,
                user,
                session,
                changes: &shared::hooks::token_claims::within_granted(
                    changes.id.clone(),
                    &grant.scopes,
                ),
            },
            &access.token,
            issuer,
            now,
        )?)
    } else {
        None
    };
    let offline = grant.scopes.contains("offline_access") || party.first_party;
    tracing::info!(account = %user.id, client = %party.id, jti = %access.token_id, family = %session.family, "tokens issued for an authorization code");
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "bearer",
        expires_in: access.expires_in,
        refresh_token: offline.then(|| refresh.secret.expose_secret().to_owned()),
        scope: (!scopes.is_empty()).then(|| scopes.to_string()),
        id_token,
    })
}

/// Whose id_token is signed, and the hook's changes to it.
struct IdTokenOf<'a> {
    party: &'a RelyingParty,
    grant: &'a AuthorizationGrant,
    user: &'a User,
    session: &'a Session,
    changes: &'a shared::hooks::token_claims::ClaimChanges,
}

fn id_token<S: Stores>(
    state: &State<S>,
    of: IdTokenOf<'_>,
    access_token: &str,
    issuer: &str,
    now: SystemTime,
) -> Result<String, OAuthError> {
    let IdTokenOf {
        party,
        grant,
        user,
        session,
        changes,
    } = of;
    let seconds = |time: SystemTime| {
        time.duration_since(SystemTime::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0)
    };
    let iat = seconds(now);
    let email = user
        .email
        .as_ref()
        .filter(|_| grant.scopes.contains("email"));
    let claims = IdTokenClaims {
        iss: issuer.to_owned(),
        sub: user.id.as_str().to_owned(),
        aud: party.id.as_str().to_owned(),
        exp: iat + state.issuer.settings().access_token_ttl.as_secs(),
        iat,
        auth_time: seconds(grant.authenticated_at),
        nonce: grant.nonce.clone(),
        amr: session.amr.clone(),
        azp: party.id.as_str().to_owned(),
        at_hash: id_tokens::access_token_hash(
            access_token,
            party.id_token_algorithm == IdTokenAlgorithm::EdDsa,
        ),
        sid: grant.login_session.clone(),
        preferred_username: grant
            .scopes
            .contains("profile")
            .then(|| user.username.as_str().to_owned()),
        email: email.map(|address| address.as_str().to_owned()),
        email_verified: email.map(|_| true),
    };
    if changes.is_empty() {
        return sign_id_token(state, party, &claims);
    }
    let mut claims = match serde_json::to_value(&claims) {
        Ok(serde_json::Value::Object(claims)) => claims,
        _ => return Err(server_error(&"id_token claims are not an object")),
    };
    shared::hooks::token_claims::apply(&mut claims, changes);
    sign_id_token(state, party, &claims)
}

/// `claims` signed with the algorithm the relying party registered.
fn sign_id_token<S: Stores>(
    state: &State<S>,
    party: &RelyingParty,
    claims: &impl serde::Serialize,
) -> Result<String, OAuthError> {
    let signed = match (party.id_token_algorithm, &state.id_token_key) {
        (IdTokenAlgorithm::EdDsa, _) => state.issuer.sign_claims(claims),
        (IdTokenAlgorithm::Rs256, Some(key)) => id_tokens::sign_rs256(claims, key),
        (IdTokenAlgorithm::Rs256, None) => {
            return Err(server_error(
                &"no RSA key in JWT_PRIVATE_KEY: RS256 id_tokens cannot be signed",
            ));
        }
    };
    signed.map_err(|error| server_error(&error))
}

/// The account the code was issued for, unless it is gone, disabled, or its token version
/// moved since the sign-in.
async fn current_account<S: Stores>(
    state: &State<S>,
    grant: &AuthorizationGrant,
) -> Result<User, OAuthError> {
    let user = state
        .stores
        .users()
        .find_by_id(&grant.account)
        .await
        .map_err(store_error)?;
    match user {
        Some(user) if !user.disabled && user.token_version == grant.token_version => Ok(user),
        _ => {
            tracing::info!(account = %grant.account, "code refused: the account is gone, disabled or signed out since");
            Err(OAuthError::InvalidAuthorizationCode)
        }
    }
}

/// Revokes the session a replayed code's first exchange started.
async fn end_replayed<S: Stores>(
    state: &State<S>,
    session: &str,
    account: &shared::identity::account_id::AccountId,
    now: SystemTime,
    source: &RequestSource,
) -> Result<(), OAuthError> {
    let revoked = state
        .stores
        .sessions()
        .revoke_family(session)
        .await
        .map_err(store_error)?;
    tracing::warn!(family = %session, was_active = revoked, "authorization code replayed: its session revoked");
    state.metrics.record(SecurityEvent::RefreshTokenReuse);
    let event = AccountEvent::new(account, EventKind::RefreshTokenReused, now, source);
    account_events::record(state.stores.events(), &event).await;
    Ok(())
}

/// The relying party the request authenticates as: a public client by its `client_id`
/// alone, a confidential one by its id and one of its secrets (HTTP Basic or the form, not
/// both). Anything else is `401 invalid_client`, the same for an unknown id, a wrong secret,
/// or a method that does not match the client's kind.
pub(crate) async fn authenticate<S: Stores>(
    state: &State<S>,
    request: &Request,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<RelyingParty, OAuthError> {
    let (id, secret) = crate::client_credentials::presented_client(request, form_id, form_secret)?;
    let Some(id) = RelyingPartyId::parse(&id) else {
        tracing::info!("client authentication refused: not a relying party id");
        return Err(OAuthError::InvalidClient);
    };
    let found = state
        .stores
        .relying_parties()
        .find(&id)
        .await
        .map_err(store_error)?;
    let Some(party) = found else {
        if let Some(secret) = &secret {
            spend_dummy(state, secret).await?;
        }
        tracing::info!(client = %id, "client authentication refused: unknown relying party");
        return Err(OAuthError::InvalidClient);
    };
    let right = match (&party.kind, secret) {
        (ClientKind::Public, None) => true,
        (ClientKind::Confidential { secrets }, Some(secret))
            if secret.len() <= MAX_SECRET_BYTES =>
        {
            let password = Password::presented(&secret);
            let stored = secret_id(&secret)
                .and_then(|presented| secrets.iter().find(|stored| stored.id == presented));
            match stored {
                Some(stored) => state
                    .hasher
                    .verify(&password, &stored.hash)
                    .await
                    .map_err(|error| server_error(&error))?,
                None => {
                    spend_dummy(state, &secret).await?;
                    false
                }
            }
        }
        _ => false,
    };
    if !right {
        tracing::info!(client = %id, "client authentication refused: wrong secret or method");
        state.metrics.record(SecurityEvent::FailedLogin);
        return Err(OAuthError::InvalidClient);
    }
    Ok(party)
}

async fn spend_dummy<S: Stores>(state: &State<S>, secret: &str) -> Result<(), OAuthError> {
    state
        .hasher
        .verify_dummy(&Password::presented(secret))
        .await
        .map_err(|error| server_error(&error))
}
