//! `POST /token`, `POST /revoke` and `POST /passkeys/authentication-options`.
//!
//! `/token` answers the OAuth2 password grant (argon2id check, per-username lockout, see
//! [`shared::abuse::login_failures`]), the refresh-token grant (rotation with reuse detection, see
//! [`shared::sessions`]), the client-credentials grant of machine clients and the second-factor grant that completes a password login answered
//! with `mfa_required` ([`form::MFA_GRANT_TYPE`]) and the passkey grant ([`form::PASSKEY_GRANT_TYPE`], see [`passkey`]) with an EdDSA access
//! token and a new refresh token, or an RFC 6749 error that never reveals whether a username exists. `/revoke` is RFC 7009 revocation of a
//! refresh token's family.

mod authorization_code;
mod claims_hook;
mod client_credentials;
pub mod form;
mod mfa;
mod migration;
pub mod oauth;
mod passkey;
mod password;
mod refresh;
pub mod sign_in;
mod token_exchange;

use lambda_http::{Body, Request, Response};
use oauth::{OAuthError, TokenResponse};
use secrecy::ExposeSecret;
use shared::access::roles::Roles;
use shared::factors::hashing::PasswordHasher;
use shared::factors::mfa::MfaSettings;
use shared::factors::passkeys::webauthn::PasskeySettings;
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::database::StoreError;
use shared::platform::http::RequestSource;
use shared::platform::http::{BodyError, Route, body_text, has_content_type, not_found, route};
use shared::platform::metrics::Metrics;
use shared::sessions::{Session, SessionStore};
use shared::stores::{MongoStores, Stores};
use shared::tokens::TokenIssuer;

/// What the token function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts, failed-login counters and refresh tokens.
    pub stores: S,
    /// Verifies passwords (and spends the same work for unknown users).
    pub hasher: PasswordHasher,
    /// Signs access tokens; its settings give both token lifetimes.
    pub issuer: TokenIssuer,
    /// Opens TOTP secrets for the second-factor grant.
    pub mfa: MfaSettings,
    /// The time used for locks and token lifetimes.
    pub clock: Clock,
    /// Security events (failed and locked-out logins, refresh-token reuse, legacy upgrades).
    pub metrics: Metrics,
    /// The scopes each role grants (`ROLES`): an access token carries its account's.
    pub roles: Roles,
    /// The WebAuthn relying party passkeys sign for.
    pub passkeys: PasskeySettings,
    /// Failed password checks one source address may cause per hour before its password
    /// logins are refused unhashed (`LOGIN_FAILURES_PER_IP`); `None` when off.
    pub password_failures_per_ip: Option<shared::abuse::rate_limits::Limit>,
    /// Signs RS256 id_tokens: the RSA key in `JWT_PRIVATE_KEY`; `None` when it holds none,
    /// and then only relying parties with EdDSA id_tokens can exchange codes.
    pub id_token_key: Option<shared::tokens::id_tokens::IdTokenKey>,
    /// Whether the password grant is answered (`PASSWORD_GRANT`, default `true`); off, it is
    /// `unsupported_grant_type` and applications sign in through `/authorize`.
    pub password_grant: bool,
    /// The upstream providers whose id_tokens native apps may exchange (no secrets).
    pub upstreams: shared::federation::upstream::Upstreams,
    /// The pre-token-generation, user-migration and pre-sign-up hooks
    /// (`HOOK_PRE_TOKEN_GENERATION`, `HOOK_USER_MIGRATION`, `HOOK_PRE_SIGN_UP`), when configured.
    pub hooks: shared::hooks::Hooks,
    /// Whether the hook may add scopes the account's roles do not grant
    /// (`HOOK_SCOPES_BEYOND_ROLES`, default `false`).
    pub hook_scopes_beyond_roles: bool,
}

impl State<MongoStores> {
    /// The state from the environment (hashing settings, `JWT_PRIVATE_KEY`,
    /// `SECOND_FACTOR_KEYS`). The indexes
    /// this function's stores use are made by the deploy step (`setup-database`).
    pub fn new(env: &impl Source, stores: MongoStores) -> Result<Self, ConfigError> {
        let hasher = PasswordHasher::from_source(env)?;
        let issuer = TokenIssuer::from_source(env)?;
        Ok(Self {
            stores,
            hasher,
            issuer,
            mfa: MfaSettings::from_source(env)?,
            clock: Clock::system(),
            metrics: Metrics::from_source(env),
            roles: Roles::from_source(env)?,
            passkeys: PasskeySettings::from_source(env)?,
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(env)?,
            id_token_key: shared::tokens::id_tokens::IdTokenKey::from_source(env)?,
            password_grant: password_grant(env)?,
            upstreams: shared::federation::upstream::Upstreams::for_id_tokens(env)?,
            hooks: shared::hooks::Hooks::from_source(
                env,
                &[
                    shared::hooks::Trigger::PreTokenGeneration,
                    shared::hooks::Trigger::UserMigration,
                    shared::hooks::Trigger::PreSignUp,
                ],
                Metrics::from_source(env),
            )?,
            hook_scopes_beyond_roles: shared::platform::config::flag(
                env,
                "HOOK_SCOPES_BEYOND_ROLES",
                false,
            )?,
        })
    }
}

/// What checking a sign-in needs, whichever function checks it: the token endpoint, and the
/// hosted sign-in pages, which give exactly its answers (the same lockouts, limits and
/// refusals) without the token signing key.
pub trait SignInContext: Send + Sync {
    /// The stores.
    type Stores: Stores;
    /// Accounts, failure counters, second factors, pending logins.
    fn stores(&self) -> &Self::Stores;
    /// Verifies passwords.
    fn hasher(&self) -> &PasswordHasher;
    /// The time of locks and lifetimes.
    fn clock(&self) -> &Clock;
    /// Security events.
    fn metrics(&self) -> &Metrics;
    /// Opens TOTP secrets.
    fn mfa(&self) -> &MfaSettings;
    /// The WebAuthn relying party.
    fn passkeys(&self) -> &PasskeySettings;
    /// Failed password checks one address may cause per hour.
    fn password_failures_per_ip(&self) -> Option<shared::abuse::rate_limits::Limit>;
    /// How long a session lasts.
    fn session_ttl(&self) -> std::time::Duration;
    /// The hooks a sign-in calls (user migration).
    fn hooks(&self) -> &shared::hooks::Hooks;
}

impl<S: Stores> SignInContext for State<S> {
    type Stores = S;
    fn stores(&self) -> &S {
        &self.stores
    }
    fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn mfa(&self) -> &MfaSettings {
        &self.mfa
    }
    fn passkeys(&self) -> &PasskeySettings {
        &self.passkeys
    }
    fn password_failures_per_ip(&self) -> Option<shared::abuse::rate_limits::Limit> {
        self.password_failures_per_ip
    }
    fn session_ttl(&self) -> std::time::Duration {
        self.issuer.settings().session_ttl
    }
    fn hooks(&self) -> &shared::hooks::Hooks {
        &self.hooks
    }
}

/// `PASSWORD_GRANT`: whether `/token` answers the password grant (default `true`).
pub fn password_grant(env: &impl Source) -> Result<bool, ConfigError> {
    shared::platform::config::flag(env, "PASSWORD_GRANT", true)
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// RFC 6749 token endpoint: the password, refresh-token and second-factor grants.
    Token,
    /// RFC 7009 revocation of a refresh token's family.
    Revoke,
    /// A WebAuthn challenge for a passkey sign-in or second factor.
    PasskeyOptions,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 3] = [
    (Route::post("/token"), Endpoint::Token),
    (Route::post("/revoke"), Endpoint::Revoke),
    (
        Route::post("/passkeys/authentication-options"),
        Endpoint::PasskeyOptions,
    ),
];

/// Handles one request to `/token` or `/revoke`; any other route is a `404`. Every outcome
/// is a response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::Token) => grant(state, &request)
            .await
            .map(TokenResponse::into_response),
        Some(Endpoint::Revoke) => revoke(state, &request).await.map(|()| oauth::revoked()),
        Some(Endpoint::PasskeyOptions) => return passkey::options(state, &request).await,
        None => return not_found(&request),
    };
    outcome.unwrap_or_else(OAuthError::into_response)
}

/// The form body, after the content type and size checks.
fn form_body(request: &Request) -> Result<&str, OAuthError> {
    if !has_content_type(request, "application/x-www-form-urlencoded") {
        return Err(OAuthError::UnsupportedMediaType);
    }
    body_text(request).map_err(|error| match error {
        BodyError::TooLarge => OAuthError::PayloadTooLarge,
        BodyError::NotUtf8 => OAuthError::InvalidRequest(error.to_string()),
    })
}

async fn grant<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<TokenResponse, OAuthError> {
    let now = state.clock.now();
    let settings = state.issuer.settings();
    let refresh = shared::sessions::generate().map_err(|error| server_error(&error))?;
    // Known before anything changes, so a configuration error cannot use up a refresh token.
    let Some(issuer) = settings.issuer_for(shared::tokens::issuer::of_request(request)) else {
        return Err(server_error(
            &"no issuer: set JWT_ISSUER, or call through API Gateway",
        ));
    };
    let client = RequestSource::of(request);
    let events = state.stores.events();
    let mut kind = claims_hook::Grant::SignIn;
    let (user, session) = match form::parse(form_body(request)?)? {
        form::TokenRequest::Password { .. } if !state.password_grant => {
            tracing::info!("password grant refused: PASSWORD_GRANT is false");
            return Err(OAuthError::UnsupportedGrantType);
        }
        form::TokenRequest::Password { username, password } => {
            let login = password::authenticate(state, &username, &password, &client).await?;
            let user = login.user;
            if login.second_factor_on {
                let (challenge, (), (), ()) = tokio::join!(
                    mfa::challenge(state, &user, now, now, false),
                    password::forget_failures(state, &user.username),
                    account_events::amend(events, &login.event, EventKind::SecondFactorRequired),
                    login.source.refund(state)
                );
                return Err(challenge?);
            }
            let mut session = Session::new(&user.id, user.token_version, now, settings.session_ttl);
            session.client = client;
            let (started, (), ()) = tokio::join!(
                start_session(state, &session, &user, &refresh.hash, now),
                account_events::amend(events, &login.event, EventKind::LoginSucceeded),
                login.source.refund(state)
            );
            started?;
            (user, session)
        }
        form::TokenRequest::SecondFactor { mfa_token, factor } => {
            let (user, session) =
                mfa::complete(state, request, &mfa_token, &factor, now, &client).await?;
            signed_in(state, user, session, client, &refresh.hash, now).await?
        }
        form::TokenRequest::Passkey { credential } => {
            let (user, session) =
                passkey::sign_in(state, request, &credential, now, &client).await?;
            signed_in(state, user, session, client, &refresh.hash, now).await?
        }
        form::TokenRequest::Refresh {
            refresh_token,
            client_id,
            client_secret,
        } => {
            let (user, session) =
                refresh::rotate(state, &refresh_token, &refresh.hash, now, &client).await?;
            refresh::bound_client(state, request, &session, client_id, client_secret).await?;
            kind = claims_hook::Grant::Refresh;
            (user, session)
        }
        form::TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
            client_id,
            client_secret,
        } => {
            let form = authorization_code::CodeExchange {
                code,
                redirect_uri,
                code_verifier,
                client_id,
                client_secret,
            };
            return authorization_code::exchange(state, request, form, &issuer, now).await;
        }
        form::TokenRequest::TokenExchange {
            subject_token,
            subject_token_type,
            nonce,
            scope,
            client_id,
            client_secret,
        } => {
            let form = token_exchange::Exchange {
                subject_token,
                subject_token_type,
                nonce,
                scope,
                client_id,
                client_secret,
            };
            return token_exchange::exchange(state, request, form, &issuer, now).await;
        }
        form::TokenRequest::ClientCredentials {
            client_id,
            client_secret,
            scope,
        } => {
            let form = client_credentials::FormCredentials {
                client_id,
                client_secret,
                scope,
            };
            return client_credentials::grant(state, request, form, &issuer, now).await;
        }
    };
    let scopes = match &session.relying_party {
        Some(grant) => relying_party_scopes(state, &user, &grant.scopes),
        None => state.roles.scopes_for(&user.roles),
    };
    let source = RequestSource::of(request);
    let changes = claims_hook::changes(state, kind, &user, &session, scopes, &source).await?;
    let scopes = changes.scopes;
    let access = state
        .issuer
        .issue_with_claims(
            &issuer,
            user.id.as_str(),
            session.token_version,
            &session.authentication(scopes.clone()),
            now,
            &changes.access.add,
        )
        .map_err(|error| server_error(&error))?;
    tracing::info!(username = %user.username, account = %user.id, jti = %access.token_id, family = %session.family, "tokens issued");
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "bearer",
        expires_in: access.expires_in,
        refresh_token: Some(refresh.secret.expose_secret().to_owned()),
        scope: (!scopes.is_empty()).then(|| scopes.to_string()),
        id_token: None,
    })
}

/// What a relying party's token carries of the scopes granted to it: those the user grants
/// (OpenID Connect's and `account`), and the API scopes the account's roles still grant.
fn relying_party_scopes<S>(
    state: &State<S>,
    user: &shared::identity::users::User,
    granted: &shared::access::scopes::Scopes,
) -> shared::access::scopes::Scopes {
    let roles = state.roles.scopes_for(&user.roles);
    granted
        .iter()
        .filter(|scope| {
            shared::access::relying_parties::USER_GRANTED_SCOPES.contains(scope)
                || roles.contains(scope)
        })
        .map(str::to_owned)
        .collect()
}

/// Finishes a sign-in whose every factor was checked: the session starts (from `client`)
/// while the login is recorded in the account's history.
async fn signed_in<S: Stores>(
    state: &State<S>,
    user: shared::identity::users::User,
    mut session: Session,
    client: RequestSource,
    refresh_hash: &str,
    now: std::time::SystemTime,
) -> Result<(shared::identity::users::User, Session), OAuthError> {
    let event = AccountEvent::new(&user.id, EventKind::LoginSucceeded, now, &client);
    session.client = client;
    let (started, ()) = tokio::join!(
        start_session(state, &session, &user, refresh_hash, now),
        account_events::record(state.stores.events(), &event)
    );
    started?;
    Ok((user, session))
}

/// Stores a new session with its first refresh token and forgets the username's password
/// failures.
async fn start_session<S: Stores>(
    state: &State<S>,
    session: &Session,
    user: &shared::identity::users::User,
    refresh_hash: &str,
    now: std::time::SystemTime,
) -> Result<(), OAuthError> {
    let idle = state.issuer.settings().refresh_token_ttl;
    let (started, ()) = tokio::join!(
        state
            .stores
            .sessions()
            .start(session, refresh_hash, now, idle),
        password::forget_failures(state, &user.username)
    );
    started.map_err(store_error)
}

/// RFC 7009: revokes the family of the presented refresh token, recorded in its account's
/// history as `session_ended`. Unknown, malformed-looking or access tokens are not an error
/// (section 2.2), so the answer reveals nothing.
async fn revoke<S: Stores>(state: &State<S>, request: &Request) -> Result<(), OAuthError> {
    let refresh_tokens = state.stores.sessions();
    let revocation = form::parse_revocation(form_body(request)?)?;
    if !shared::sessions::well_formed(&revocation.token) {
        tracing::info!("revocation of something that is not one of our refresh tokens");
        return Ok(());
    }
    let hash = shared::sessions::hash(&revocation.token);
    let Some((family, account)) = refresh_tokens.family_of(&hash).await.map_err(store_error)?
    else {
        tracing::info!("revocation of an unknown refresh token");
        return Ok(());
    };
    let revoked = refresh_tokens
        .revoke_family(&family)
        .await
        .map_err(store_error)?;
    if revoked {
        let client = RequestSource::of(request);
        let event = AccountEvent::new(
            &account,
            EventKind::SessionEnded,
            state.clock.now(),
            &client,
        );
        account_events::record(state.stores.events(), &event).await;
    }
    tracing::info!(%family, was_active = revoked, "refresh token family revoked");
    Ok(())
}

fn store_error(error: StoreError) -> OAuthError {
    if error.is_unavailable() {
        tracing::warn!(%error, "database unavailable");
        OAuthError::ServiceUnavailable
    } else {
        server_error(&error)
    }
}

fn server_error(error: &dyn std::fmt::Display) -> OAuthError {
    tracing::error!(%error, "token request failed");
    OAuthError::ServerError
}
