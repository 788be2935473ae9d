//! The steps of a browser sign-in, each checking the authorization request again from the
//! parameters the browser carries, so no step trusts what an earlier page put in a form.

use crate::State;
use crate::cookies::CookiePolicy;
use crate::pages::{self, Frame};
use crate::params::Params;
use crate::request::{self, AuthorizationRequest, RedirectError, RequestError};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use secrecy::ExposeSecret as _;
use shared::authorization::codes::{
    AuthorizationCodeStore as _, AuthorizationGrant, CODE_LIFETIME,
};
use shared::authorization::consents::ConsentStore as _;
use shared::factors::mfa::PresentedFactor;
use shared::identity::users::{User, UserStore as _};
use shared::platform::http::RequestSource;
use shared::sessions::{Session, SessionStore as _};
use shared::stores::Stores;
use std::time::SystemTime;
use subtle::ConstantTimeEq as _;
use token::form::SecondFactorProof;
use token::oauth::OAuthError;
use token::sign_in::PasswordStep;

/// One request's surroundings.
pub(crate) struct Context<'a, S> {
    state: &'a State<S>,
    request: &'a Request,
    issuer: String,
    base_path: String,
    cookies: CookiePolicy,
    now: SystemTime,
    source: RequestSource,
}

impl<'a, S: Stores> Context<'a, S> {
    pub(crate) fn new(state: &'a State<S>, request: &'a Request, issuer: &str) -> Self {
        let base_path = url::Url::parse(issuer)
            .map(|url| url.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Self {
            state,
            request,
            issuer: issuer.to_owned(),
            base_path,
            cookies: CookiePolicy::for_issuer(issuer),
            now: state.clock.now(),
            source: RequestSource::of(request),
        }
    }

    pub(crate) fn request(&self) -> &Request {
        self.request
    }

    pub(crate) fn state(&self) -> &State<S> {
        self.state
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.now
    }

    pub(crate) fn source(&self) -> &RequestSource {
        &self.source
    }

    pub(crate) fn cookies(&self) -> CookiePolicy {
        self.cookies
    }

    pub(crate) async fn live_session(&self) -> Result<Option<(Session, User)>, Response<Body>> {
        live_session(self).await
    }

    pub(crate) fn unavailable_page(&self, error: &str) -> Response<Body> {
        unavailable(self, error)
    }

    pub(crate) fn frame(&self) -> Frame<'_> {
        Frame {
            brand: &self.state.brand,
            base_path: &self.base_path,
        }
    }

    pub(crate) fn error_page(&self, status: StatusCode, message: &str) -> Response<Body> {
        pages::html(status, pages::error(&self.frame(), message))
    }

    /// The CSRF token of this browser, and the cookie to set when it had none.
    pub(crate) fn csrf(&self) -> (String, Option<String>) {
        match self.cookies.csrf(self.request) {
            Some(token) => (token, None),
            None => match shared::sessions::generate() {
                Ok(token) => {
                    let token = token.secret.expose_secret().to_owned();
                    let cookie = self.cookies.set_csrf(&token);
                    (token, Some(cookie))
                }
                Err(_) => (String::new(), None),
            },
        }
    }

    /// Whether the form's `csrf_token` is this browser's CSRF cookie.
    pub(crate) fn csrf_matches(&self, params: &Params) -> bool {
        match (self.cookies.csrf(self.request), params.get("csrf_token")) {
            (Some(cookie), Some(form)) => bool::from(cookie.as_bytes().ct_eq(form.as_bytes())),
            _ => false,
        }
    }
}

/// `GET`/`POST /authorize`.
pub(crate) async fn authorize<S: Stores>(context: &Context<'_, S>, form: bool) -> Response<Body> {
    let params = if form {
        Params::of_form(context.request)
    } else {
        Params::of_query(context.request)
    };
    let params = match params {
        Ok(params) => params,
        Err(error) => {
            return context.error_page(
                StatusCode::BAD_REQUEST,
                &format!("The request is malformed: {error}."),
            );
        }
    };
    let request = match checked(context, &params).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    if request.prompt.create {
        return sign_up_page(context, &request, StatusCode::OK, None, "");
    }
    let live = if request.prompt.login {
        None
    } else {
        match live_session(context).await {
            Ok(live) => live,
            Err(response) => return response,
        }
    };
    let fresh = |session: &Session| {
        let within_max_age = match request.max_age {
            Some(max_age) => context
                .now
                .duration_since(session.authenticated_at)
                .map(|age| age.as_secs() <= max_age)
                .unwrap_or(true),
            None => true,
        };
        within_max_age
            && (request.link_provider().is_none() || crate::federated::recent(context, session))
    };
    match live {
        Some((session, user)) if fresh(&session) => {
            finish(context, &request, &session, &user).await
        }
        _ if request.prompt.none => redirect_error(
            context,
            &request.error("login_required", "the user must sign in"),
        ),
        _ => {
            let notice = linking_notice(context, &request);
            sign_in_page_with(
                context,
                &request,
                StatusCode::OK,
                pages::Message {
                    error: None,
                    notice: notice.as_deref(),
                },
                request.login_hint.as_deref().unwrap_or_default(),
                None,
            )
        }
    }
}

/// What the sign-in page says when the request links a provider.
fn linking_notice<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
) -> Option<String> {
    let provider = context
        .state
        .upstreams
        .providers()
        .get(request.link_provider()?)?;
    Some(format!(
        "Sign in to link {} to your account.",
        provider.name
    ))
}

/// `POST /login`.
pub(crate) async fn sign_in<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let step = token::sign_in::password(context.state, username, password, &context.source).await;
    match step {
        Ok(PasswordStep::Complete(user)) => {
            let methods = vec!["pwd".to_owned()];
            signed_in(context, &request, &user, methods, context.now).await
        }
        Ok(PasswordStep::SecondFactor { mfa_token, .. }) => {
            second_factor_page(context, &request, StatusCode::OK, None, &mfa_token)
        }
        Err(error) => {
            let (status, _, description, retry_after) = error.describe();
            sign_in_page(
                context,
                &request,
                status,
                Some(&description),
                username,
                retry_after,
            )
        }
    }
}

/// `POST /login/passkey`.
pub(crate) async fn passkey<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let credential = params.get("passkey").unwrap_or_default();
    if credential.is_empty() {
        return sign_in_page(
            context,
            &request,
            StatusCode::BAD_REQUEST,
            Some("No passkey was sent. Try again, or sign in with your password."),
            "",
            None,
        );
    }
    match token::sign_in::passkey(context.state, context.request, credential, &context.source).await
    {
        Ok((user, session)) => {
            signed_in(
                context,
                &request,
                &user,
                session.amr,
                session.authenticated_at,
            )
            .await
        }
        Err(error) => {
            let (status, _, description, retry_after) = error.describe();
            let message = match error {
                OAuthError::InvalidPasskey | OAuthError::InvalidRequest(_) => {
                    "That passkey could not sign you in. Try again, or sign in with your password."
                        .to_owned()
                }
                OAuthError::TooManyAttempts { .. } => format!(
                    "Too many failed passkey sign-ins for this account; try again in {} seconds.",
                    retry_after.unwrap_or(1)
                ),
                _ => description,
            };
            sign_in_page(context, &request, status, Some(&message), "", retry_after)
        }
    }
}

/// `POST /login/sign-up`.
pub(crate) async fn sign_up<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    let created = signup::create_account(
        &context.state.accounts,
        &context.source,
        username,
        password,
        None,
    )
    .await;
    let created = match created {
        Ok(created) => created,
        Err(error) => {
            let field = match &error {
                shared::platform::http::ApiError::InvalidField { field, .. } => Some(*field),
                shared::platform::http::ApiError::UsernameTaken => Some("username"),
                _ => None,
            };
            let message = error.to_string();
            let shown = pages::FieldError {
                field,
                message: &message,
            };
            return sign_up_page(context, &request, error.status(), Some(&shown), username);
        }
    };
    let user = match context.state.stores.users().find_by_id(&created.id).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return context.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The account was created, but the sign-in could not be completed. Sign in.",
            );
        }
        Err(error) => return unavailable(context, &error.to_string()),
    };
    let methods = vec!["pwd".to_owned()];
    signed_in(context, &request, &user, methods, context.now).await
}

/// `POST /login/second-factor`.
pub(crate) async fn second_factor<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let mfa_token = params.get("mfa_token").unwrap_or_default();
    let factor = match second_factor_proof(&params) {
        Ok(factor) => factor,
        Err(message) => {
            return second_factor_page(
                context,
                &request,
                StatusCode::BAD_REQUEST,
                Some(message),
                mfa_token,
            );
        }
    };
    let completed = token::sign_in::second_factor(
        context.state,
        context.request,
        mfa_token,
        &factor,
        &context.source,
    )
    .await;
    match completed {
        Ok((user, session)) => {
            signed_in(
                context,
                &request,
                &user,
                session.amr,
                session.authenticated_at,
            )
            .await
        }
        Err(OAuthError::InvalidMfaToken) => sign_in_page(
            context,
            &request,
            StatusCode::BAD_REQUEST,
            Some("The sign-in took too long or the account changed; sign in again."),
            "",
            None,
        ),
        Err(error) => {
            let (status, _, description, _) = error.describe();
            second_factor_page(context, &request, status, Some(&description), mfa_token)
        }
    }
}

/// The second factor a form sends: a passkey's answer, or an authenticator or recovery code.
fn second_factor_proof(params: &Params) -> Result<SecondFactorProof, &'static str> {
    if let Some(passkey) = params.get("passkey").filter(|passkey| !passkey.is_empty()) {
        return Ok(SecondFactorProof::Passkey(passkey.to_owned()));
    }
    let code = PresentedFactor::from_fields(
        params.get("otp").map(str::to_owned),
        params.get("recovery_code").map(str::to_owned),
    )?;
    code.map(SecondFactorProof::Code)
        .ok_or("Enter a code from your authenticator app or a recovery code.")
}

/// `POST /login/consent`.
pub(crate) async fn consent<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let live = match live_session(context).await {
        Ok(live) => live,
        Err(response) => return response,
    };
    let Some((session, user)) =
        live.filter(|(session, _)| recent_enough(context, &request, session))
    else {
        return sign_in_page(
            context,
            &request,
            StatusCode::OK,
            Some("Sign in again to continue."),
            "",
            None,
        );
    };
    match params.get("decision") {
        Some("allow") => {
            let granted = context
                .state
                .stores
                .consents()
                .grant(&user.id, &request.client.id, &request.scopes, context.now)
                .await;
            if let Err(error) = granted {
                return unavailable(context, &error.to_string());
            }
            tracing::info!(account = %user.id, client = %request.client.id, scope = %request.scopes, "consent given");
            let event = shared::identity::account_events::AccountEvent::new(
                &user.id,
                shared::identity::account_events::EventKind::ConsentGiven,
                context.now,
                &context.source,
            );
            shared::identity::account_events::record(context.state.stores.events(), &event).await;
            issue_code(context, &request, &session, &user).await
        }
        _ => redirect_error(
            context,
            &request.error("access_denied", "the user denied access"),
        ),
    }
}

/// How long the consent page may stay open after a sign-in that `prompt=login` or a short
/// `max_age` asked for.
const CONSENT_PAGE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether the session's sign-in still satisfies a request that asked for a fresh one
/// (`prompt=login`, `max_age`) when its consent page is answered: within `max_age`, or within
/// [`CONSENT_PAGE_LIFETIME`] of it, so a page left open (or the form replayed from an old
/// session) cannot stand in for a fresh sign-in.
fn recent_enough<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    session: &Session,
) -> bool {
    let age = context
        .now
        .duration_since(session.authenticated_at)
        .unwrap_or_default();
    let asked = match (request.prompt.login, request.max_age) {
        (_, Some(max_age)) => Some(std::time::Duration::from_secs(max_age)),
        (true, None) => Some(std::time::Duration::ZERO),
        (false, None) => None,
    };
    asked.is_none_or(|max_age| age <= max_age.max(CONSENT_PAGE_LIFETIME))
}

/// The form's parameters and the authorization request it carries, once its CSRF token is
/// this browser's.
pub(crate) async fn form_request<S: Stores>(
    context: &Context<'_, S>,
) -> Result<(Params, AuthorizationRequest), Response<Body>> {
    let params = Params::of_form(context.request).map_err(|error| {
        context.error_page(
            StatusCode::BAD_REQUEST,
            &format!("The form is malformed: {error}."),
        )
    })?;
    if !context.csrf_matches(&params) {
        tracing::info!("form refused: no CSRF token or another browser's");
        return Err(context.error_page(
            StatusCode::FORBIDDEN,
            "The form was not sent from this sign-in page, or it expired. Go back to the application and start again.",
        ));
    }
    let request = checked(context, &params).await?;
    Ok((params, request))
}

pub(crate) async fn checked<S: Stores>(
    context: &Context<'_, S>,
    params: &Params,
) -> Result<AuthorizationRequest, Response<Body>> {
    request::check(&context.state.stores, params)
        .await
        .map_err(|error| match error {
            RequestError::Page(message) => {
                tracing::info!(%message, "authorization request refused with the error page");
                context.error_page(StatusCode::BAD_REQUEST, &message)
            }
            RequestError::Redirect(error) => {
                tracing::info!(error = error.error, description = %error.description, "authorization request refused");
                redirect_error(context, &error)
            }
            RequestError::Store(error) => unavailable(context, &error),
        })
}

pub(crate) fn unavailable<S: Stores>(context: &Context<'_, S>, error: &str) -> Response<Body> {
    tracing::warn!(%error, "database unavailable");
    let mut response = context.error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The service is temporarily unavailable; try again in a moment.",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

/// The login session named by this browser's cookie, with its account, while both hold:
/// the session live, the account enabled and its token version the session's.
async fn live_session<S: Stores>(
    context: &Context<'_, S>,
) -> Result<Option<(Session, User)>, Response<Body>> {
    let Some(cookie) = context.cookies.session(context.request) else {
        return Ok(None);
    };
    let stores = &context.state.stores;
    let key = shared::sessions::login_key(&cookie);
    let idle = context.state.tokens.refresh_token_ttl;
    let session = stores
        .sessions()
        .find_login(&key, context.now, idle)
        .await
        .map_err(|error| unavailable(context, &error.to_string()))?;
    let Some(session) = session else {
        return Ok(None);
    };
    let user = stores
        .users()
        .find_by_id(&session.account)
        .await
        .map_err(|error| unavailable(context, &error.to_string()))?;
    Ok(user
        .filter(|user| !user.disabled && user.token_version == session.token_version)
        .map(|user| (session, user)))
}

/// Starts a login session for `user` and goes on with the request. An identity waiting for
/// this account's owner (the form's `link_token`) is offered for linking first.
pub(crate) async fn signed_in<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    user: &User,
    methods: Vec<String>,
    authenticated_at: SystemTime,
) -> Response<Body> {
    let state = context.state;
    let Ok(cookie) = shared::sessions::generate() else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The sign-in could not be completed.",
        );
    };
    let cookie = cookie.secret.expose_secret().to_owned();
    let mut session = Session::new(
        &user.id,
        user.token_version,
        context.now,
        state.tokens.session_ttl,
    );
    session.amr = methods;
    session.authenticated_at = authenticated_at;
    session.client = context.source.clone();
    let key = shared::sessions::login_key(&cookie);
    // The browser's previous login session, if any, ends: one browser, one session.
    if let Ok(Some((previous, owner))) = live_session(context).await
        && let Err(error) = state
            .stores
            .sessions()
            .end_session(&owner.id, &previous.family)
            .await
    {
        tracing::warn!(%error, "the previous login session was not ended (it stays until it expires)");
    }
    let started = state
        .stores
        .sessions()
        .start(&session, &key, context.now, state.tokens.refresh_token_ttl)
        .await;
    if let Err(error) = started {
        return unavailable(context, &error.to_string());
    }
    tracing::info!(account = %user.id, family = %session.family, client = %request.client.id, "login session started");
    let response = match request.link_token() {
        // An identity waits for this account's owner: they confirm its link first.
        Some(token) => {
            crate::federated::ask_to_link_waiting(context, request, &session, user, token).await
        }
        None => finish(context, request, &session, user).await,
    };
    pages::with_cookie(
        response,
        &context
            .cookies
            .set_session(&cookie, state.tokens.session_ttl),
    )
}

/// With the user signed in: to the provider the request links (its sign-in is recent here),
/// then the consent page for a third-party client (or when the request asks for it),
/// otherwise a code for the client.
pub(crate) async fn finish<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    session: &Session,
    user: &User,
) -> Response<Body> {
    // `prompt=none` shows no page, and linking goes through the provider's: not then.
    if let Some(provider) = request
        .link_provider()
        .filter(|_| !request.prompt.none && crate::federated::recent(context, session))
        .and_then(|id| context.state.upstreams.providers().get(id))
    {
        return crate::federated::begin(context, provider, request, Some(user)).await;
    }
    if request.client.first_party && !request.prompt.consent {
        return issue_code(context, request, session, user).await;
    }
    if !request.prompt.consent && identity_assured(request) {
        let remembered = context
            .state
            .stores
            .consents()
            .find(&user.id, &request.client.id)
            .await;
        match remembered {
            Ok(Some(consent)) if consent.covers(&request.scopes) => {
                return issue_code(context, request, session, user).await;
            }
            Ok(_) => {}
            Err(error) => return unavailable(context, &error.to_string()),
        }
    }
    if request.prompt.none {
        return redirect_error(
            context,
            &request.error("consent_required", "the user must allow this application"),
        );
    }
    let scopes: Vec<(String, String)> = request
        .scopes
        .iter()
        .map(|scope| (scope.to_owned(), scope_description(scope).to_owned()))
        .collect();
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::consent(
        &context.frame(),
        &request.client.name,
        user.username.as_str(),
        &scopes,
        &request.carried,
        &csrf_token,
    );
    let response =
        pages::allowing_redirect_to(pages::html(StatusCode::OK, page), &request.redirect_uri);
    match set_csrf {
        Some(cookie) => pages::with_cookie(response, &cookie),
        None => response,
    }
}

/// Whether the request surely comes from the client it names, so a consent given before may
/// stand (RFC 8252 §8.6): a confidential client (it authenticates at the token endpoint), or
/// a redirect URI on https (only its site receives the code). A loopback URI proves nothing:
/// any local program can listen there, so a public native app is asked every time.
fn identity_assured(request: &AuthorizationRequest) -> bool {
    request.client.is_confidential() || request.redirect_uri.starts_with("https://")
}

/// What a scope lets a client do, in the words of the consent page.
fn scope_description(scope: &str) -> &str {
    match scope {
        "openid" => "Know who you are",
        "profile" => "See your username",
        "email" => "See your email address",
        "offline_access" => "Stay signed in while you are away",
        "account" => {
            "Manage your account: sessions, two-step verification, passkeys, email address"
        }
        other => shared::access::scopes::SCOPES
            .iter()
            .find(|(known, _)| *known == other)
            .map_or(other, |(_, description)| description),
    }
}

/// Issues a code for the request and sends the browser back to the client with it.
async fn issue_code<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    session: &Session,
    user: &User,
) -> Response<Body> {
    let Ok(code) = shared::sessions::generate() else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The sign-in could not be completed.",
        );
    };
    let grant = AuthorizationGrant {
        client: request.client.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.as_str().to_owned(),
        nonce: request.nonce.clone(),
        scopes: request.scopes.clone(),
        account: user.id.clone(),
        token_version: user.token_version,
        login_session: session.family.clone(),
        authenticated_at: session.authenticated_at,
        amr: session.amr.clone(),
        expires_at: context.now + CODE_LIFETIME,
    };
    let issued = context
        .state
        .stores
        .authorization_codes()
        .issue(&code.hash, &grant)
        .await;
    if let Err(error) = issued {
        return unavailable(context, &error.to_string());
    }
    tracing::info!(account = %user.id, client = %request.client.id, "authorization code issued");
    let mut pairs = vec![("code", code.secret.expose_secret().to_owned())];
    if let Some(state) = &request.state {
        pairs.push(("state", state.clone()));
    }
    pairs.push(("iss", context.issuer.clone()));
    pages::redirect(&with_query(&request.redirect_uri, &pairs))
}

fn redirect_error<S: Stores>(context: &Context<'_, S>, error: &RedirectError) -> Response<Body> {
    let mut pairs = vec![
        ("error", error.error.to_owned()),
        ("error_description", error.description.clone()),
    ];
    if let Some(state) = &error.state {
        pairs.push(("state", state.clone()));
    }
    pairs.push(("iss", context.issuer.clone()));
    pages::redirect(&with_query(&error.redirect_uri, &pairs))
}

/// `uri` with `pairs` added to its query.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, String)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

fn sign_in_page<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    let message = pages::Message {
        error,
        notice: None,
    };
    sign_in_page_with(context, request, status, message, username, retry_after)
}

pub(crate) fn sign_in_page_with<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    message: pages::Message,
    username: &str,
    retry_after: Option<u64>,
) -> Response<Body> {
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::sign_in(
        &context.frame(),
        &request.client.name,
        message,
        &request.carried,
        &csrf_token,
        username,
        &links(context, request),
    );
    let mut response =
        pages::allowing_redirect_to(pages::html(status, page), &request.redirect_uri);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    match set_csrf {
        Some(cookie) => pages::with_cookie(response, &cookie),
        None => response,
    }
}

fn sign_up_page<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    error: Option<&pages::FieldError>,
    username: &str,
) -> Response<Body> {
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::sign_up(
        &context.frame(),
        &request.client.name,
        error,
        &request.carried,
        &csrf_token,
        username,
        &links(context, request),
    );
    let response = pages::allowing_redirect_to(pages::html(status, page), &request.redirect_uri);
    match set_csrf {
        Some(cookie) => pages::with_cookie(response, &cookie),
        None => response,
    }
}

/// The authorization request again as links: to the sign-up page (`prompt` with `create`),
/// to the sign-in page (`prompt` without it) and to the forgot-password page.
pub(crate) fn links<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
) -> pages::Links {
    let query = |create: bool| {
        let mut pairs: Vec<(&str, String)> = request
            .carried
            .iter()
            .filter(|(name, _)| *name != "prompt")
            .map(|(name, value)| (*name, value.clone()))
            .collect();
        let mut prompt: Vec<&str> = request
            .carried
            .iter()
            .filter(|(name, _)| *name == "prompt")
            .flat_map(|(_, value)| value.split(' '))
            .filter(|value| !value.is_empty() && *value != "create")
            .collect();
        if create {
            prompt.push("create");
        }
        if !prompt.is_empty() {
            pairs.push(("prompt", prompt.join(" ")));
        }
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    };
    let base = &context.base_path;
    let without_link_token: Vec<(&str, String)> = request
        .carried
        .iter()
        .filter(|(name, _)| *name != "link_token")
        .map(|(name, value)| (*name, value.clone()))
        .collect();
    pages::Links {
        sign_up: format!("{base}/authorize?{}", query(true)),
        sign_in: format!("{base}/authorize?{}", query(false)),
        forgot_password: format!("{base}/login/password-reset?{}", query(false)),
        providers: crate::federated::provider_links(
            base,
            context.state.upstreams.providers().all(),
            &serde_urlencoded::to_string(&without_link_token).unwrap_or_default(),
        ),
    }
}

pub(crate) fn second_factor_page<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    error: Option<&str>,
    mfa_token: &str,
) -> Response<Body> {
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::second_factor(
        &context.frame(),
        error,
        &request.carried,
        &csrf_token,
        mfa_token,
    );
    let response = pages::allowing_redirect_to(pages::html(status, page), &request.redirect_uri);
    match set_csrf {
        Some(cookie) => pages::with_cookie(response, &cookie),
        None => response,
    }
}
