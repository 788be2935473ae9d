//! Signing in through an upstream provider from the hosted pages:
//!
//! - `GET /login/federated?provider=<id>&<authorization request>` (the buttons) sends the
//!   browser to the provider with a fresh `state`, `nonce` and PKCE challenge, kept in a
//!   single-use record bound to this browser by the federation cookie;
//! - `GET`/`POST /login/federated/callback` (`POST` for Apple's `form_post`) takes that
//!   record (once: a replayed `state` finds nothing), refuses an answer naming another
//!   issuer (RFC 9207 `iss`), exchanges the code and checks the id_token, then signs in by
//!   the linking rules ([`shared::federation::linking`]) and goes on with the request.
//!
//! A signed-in user links another provider through the authorization request itself:
//! `link_provider=<id>` (carried through the pages) sends them to that provider once their
//! sign-in is recent, and the identity it asserts is linked to their account when they
//! confirm it on this service's page (`POST /login/federated/link`). An identity
//! whose address is an account's but is not asserted verified waits under a `link_token`
//! until that account's owner signs in on the page that asks them to.

use crate::flow::{self, Context};
use crate::params::Params;
use crate::request::AuthorizationRequest;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use shared::authorization::federation_pending::PendingStore as _;
use shared::federation::linking::{self, Resolution};
use shared::federation::providers::Provider;
use shared::federation::upstream::{Asserted, Freshness, UpstreamError};
use shared::identity::account_events::{AccountEvent, EventKind};
use shared::identity::identities::{IdentityStore as _, Link};
use shared::identity::users::User;
use shared::sessions::{Session, hash};
use shared::stores::Stores;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use token::sign_in::PasswordStep;

/// How long a sign-in at a provider may take, and an identity may wait for its owner.
const ATTEMPT_LIFETIME: Duration = Duration::from_secs(600);
/// How recent a sign-in must be to link another provider to the account.
pub(crate) const RECENT_SIGN_IN: Duration = Duration::from_secs(600);

/// A sign-in sent to a provider, waiting for its answer.
#[derive(Debug, Serialize, Deserialize)]
struct Attempt {
    provider: String,
    browser: String,
    nonce: String,
    code_verifier: String,
    carried: Vec<(String, String)>,
    /// Link to this account (signed in recently at the start) instead of signing in.
    link_to: Option<LinkTarget>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LinkTarget {
    account: String,
    token_version: u64,
}

/// An identity waiting for its account's owner to sign in.
#[derive(Debug, Serialize, Deserialize)]
struct WaitingIdentity {
    asserted: Asserted,
    account: String,
    browser: String,
}

/// The key of a sign-in's record: its `state` with the browser's federation cookie, so
/// another browser presenting the state finds nothing (and cannot spend it).
fn attempt_key(state: &str, browser: &str) -> String {
    format!("state:{}", hash(&format!("{state} {browser}")))
}

/// The key of a waiting identity: its token with the browser it waits in.
fn waiting_key(token: &str, browser: &str) -> String {
    format!("link:{}", hash(&format!("{token} {browser}")))
}

/// Where providers send the browser back.
pub(crate) fn callback_uri(issuer: &str) -> String {
    format!("{}/login/federated/callback", issuer.trim_end_matches('/'))
}

/// A random 256-bit value, base64url.
fn random() -> Option<String> {
    shared::sessions::generate()
        .ok()
        .map(|token| token.secret.expose_secret().to_owned())
}

/// `GET /login/federated`.
pub(crate) async fn start<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let params = match Params::of_query(context.request()) {
        Ok(params) => params,
        Err(error) => {
            return context.error_page(
                StatusCode::BAD_REQUEST,
                &format!("The request is malformed: {error}."),
            );
        }
    };
    let request = match flow::checked(context, &params).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(provider) = params
        .get("provider")
        .and_then(|id| context.state().upstreams.providers().get(id))
    else {
        return flow::sign_in_page_with(
            context,
            &request,
            StatusCode::BAD_REQUEST,
            crate::pages::Message {
                error: Some("That provider is not offered here."),
                notice: None,
            },
            "",
            None,
        );
    };
    begin(context, provider, &request, None).await
}

/// Sends the browser to `provider` for `request`; with `link`, to link what it asserts to
/// that account (whose recent sign-in the caller checked).
pub(crate) async fn begin<S: Stores>(
    context: &Context<'_, S>,
    provider: &Provider,
    request: &AuthorizationRequest,
    link: Option<&User>,
) -> Response<Body> {
    let cookies = context.cookies();
    let existing = cookies.federation(context.request());
    let (Some(browser), Some(state), Some(nonce), Some(code_verifier)) = (
        existing.clone().or_else(random),
        random(),
        random(),
        random(),
    ) else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The sign-in could not be started.",
        );
    };
    let carried = request
        .carried
        .iter()
        .filter(|(name, _)| !matches!(*name, "link_provider" | "link_token"))
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect();
    let attempt = Attempt {
        provider: provider.id.clone(),
        browser: hash(&browser),
        nonce: nonce.clone(),
        code_verifier: code_verifier.clone(),
        carried,
        link_to: link.map(|user| LinkTarget {
            account: user.id.as_str().to_owned(),
            token_version: user.token_version,
        }),
    };
    let upstreams = &context.state().upstreams;
    let challenge = shared::authorization::pkce::s256(&code_verifier);
    let freshness = Freshness {
        max_age: request.max_age,
        login: request.prompt.login,
    };
    let url = match upstreams
        .authorization_url(
            provider,
            &callback_uri(context.issuer()),
            &state,
            &nonce,
            &challenge,
            freshness,
        )
        .await
    {
        Ok(url) => url,
        Err(error) => return upstream_failed(context, provider, &error),
    };
    let Ok(record) = serde_json::to_string(&attempt) else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The sign-in could not be started.",
        );
    };
    let stored = context
        .state()
        .stores
        .federation()
        .put(
            &attempt_key(&state, &browser),
            &record,
            context.now() + ATTEMPT_LIFETIME,
        )
        .await;
    if let Err(error) = stored {
        return context.unavailable_page(&error.to_string());
    }
    tracing::info!(provider = %provider.id, linking = link.is_some(), "sent to an upstream provider");
    // Set again even when the browser has it: its lifetime starts over with this sign-in.
    let response = crate::pages::redirect(&url);
    crate::pages::with_cookie(
        response,
        &cookies.set_federation(&browser, ATTEMPT_LIFETIME),
    )
}

/// `GET`/`POST /login/federated/callback`.
pub(crate) async fn callback<S: Stores>(context: &Context<'_, S>, form: bool) -> Response<Body> {
    let params = if form {
        Params::of_form(context.request())
    } else {
        Params::of_query(context.request())
    };
    let Ok(params) = params else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The provider's answer is malformed.",
        );
    };
    let start_again = "This sign-in was completed already, started in another browser, or took longer than ten minutes. Go back to the application and start again.";
    let (Some(state), Some(browser)) = (
        params.get("state"),
        context.cookies().federation(context.request()),
    ) else {
        tracing::info!("upstream answer refused: no state or no federation cookie");
        return context.error_page(StatusCode::BAD_REQUEST, start_again);
    };
    let taken = context
        .state()
        .stores
        .federation()
        .take(&attempt_key(state, &browser), context.now())
        .await;
    let attempt: Attempt = match taken {
        Ok(Some(record)) => match serde_json::from_str(&record) {
            Ok(attempt) => attempt,
            Err(_) => return context.error_page(StatusCode::BAD_REQUEST, start_again),
        },
        Ok(None) => {
            tracing::info!("upstream answer refused: its state is spent, expired or unknown");
            return context.error_page(StatusCode::BAD_REQUEST, start_again);
        }
        Err(error) => return context.unavailable_page(&error.to_string()),
    };
    // Bound by the key already; checked again in case a key ever stops including it.
    if attempt.browser != hash(&browser) {
        tracing::warn!("upstream answer refused: the sign-in was started in another browser");
        return context.error_page(StatusCode::BAD_REQUEST, start_again);
    }
    let carried = Params::from_pairs(attempt.carried.clone()).unwrap_or_default();
    let request = match flow::checked(context, &carried).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let Some(provider) = context.state().upstreams.providers().get(&attempt.provider) else {
        return context.error_page(StatusCode::BAD_REQUEST, start_again);
    };
    if let Some(error) = params.get("error") {
        tracing::info!(provider = %provider.id, error, "the provider answered with an error");
        let message = format!("The sign-in at {} was cancelled or refused.", provider.name);
        return flow::sign_in_page_with(
            context,
            &request,
            StatusCode::BAD_REQUEST,
            crate::pages::Message {
                error: Some(&message),
                notice: None,
            },
            "",
            None,
        );
    }
    let endpoints = match context.state().upstreams.endpoints(provider).await {
        Ok(endpoints) => endpoints,
        Err(error) => return upstream_failed(context, provider, &error),
    };
    let named = params.get("iss");
    if named.is_some() || endpoints.names_itself {
        match named {
            Some(issuer)
                if endpoints.issuer.contains("{tenantid}") || endpoints.issuer == issuer => {}
            _ => {
                tracing::warn!(provider = %provider.id, "upstream answer refused: it names another issuer (mix-up)");
                return context.error_page(
                    StatusCode::BAD_REQUEST,
                    "The answer came from another provider than the one this sign-in went to. Start again.",
                );
            }
        }
    }
    let Some(code) = params.get("code") else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no code.",
        );
    };
    let asserted = context
        .state()
        .upstreams
        .complete(
            provider,
            code,
            &attempt.code_verifier,
            &callback_uri(context.issuer()),
            &attempt.nonce,
            params.get("user"),
        )
        .await;
    let asserted = match asserted {
        Ok(asserted) => asserted,
        Err(error) => return upstream_failed(context, provider, &error),
    };
    match &attempt.link_to {
        Some(target) => link_signed_in(context, &request, provider, &asserted, target).await,
        None => sign_in(context, &request, provider, &asserted, &browser).await,
    }
}

async fn sign_in<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    provider: &Provider,
    asserted: &Asserted,
    browser: &str,
) -> Response<Body> {
    let stores = &context.state().stores;
    let hooks = &context.state().hooks;
    let resolution = match linking::resolve(stores, hooks, asserted, context.now()).await {
        Ok(resolution) => resolution,
        Err(error) => return context.unavailable_page(&error.to_string()),
    };
    match resolution {
        Resolution::SignIn {
            user,
            linked,
            created,
        } => {
            if user.disabled {
                return context.error_page(StatusCode::FORBIDDEN, "This account is disabled.");
            }
            tracing::info!(account = %user.id, provider = %provider.id, linked, created, "federated sign-in");
            if linked {
                record(context, &user, EventKind::IdentityLinked).await;
                if !created {
                    notify_link(context, &user, provider).await;
                }
            }
            let authenticated_at = signed_in_at(context, asserted);
            let step = token::sign_in::federated(
                context.state(),
                user,
                authenticated_at,
                context.source(),
            )
            .await;
            match step {
                Ok(PasswordStep::Complete(user)) => {
                    record(context, &user, EventKind::FederatedLogin).await;
                    let methods = vec!["fed".to_owned()];
                    flow::signed_in(context, request, &user, methods, authenticated_at).await
                }
                Ok(PasswordStep::SecondFactor { mfa_token, .. }) => {
                    flow::second_factor_page(context, request, StatusCode::OK, None, &mfa_token)
                }
                Err(error) => {
                    let (status, _, description, _) = error.describe();
                    context.error_page(status, &description)
                }
            }
        }
        Resolution::SignUpRefused(message) => context.error_page(StatusCode::FORBIDDEN, &message),
        Resolution::SignUpUndecided => context.unavailable_page("the pre-sign-up hook failed"),
        Resolution::OwnerMustSignIn(owner) => {
            let Some(token) = random() else {
                return context.error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The sign-in could not be completed.",
                );
            };
            let waiting = WaitingIdentity {
                asserted: asserted.clone(),
                account: owner.id.as_str().to_owned(),
                browser: hash(browser),
            };
            let Ok(record) = serde_json::to_string(&waiting) else {
                return context.error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The sign-in could not be completed.",
                );
            };
            let stored = stores
                .federation()
                .put(
                    &waiting_key(&token, browser),
                    &record,
                    context.now() + ATTEMPT_LIFETIME,
                )
                .await;
            if let Err(error) = stored {
                return context.unavailable_page(&error.to_string());
            }
            tracing::info!(provider = %provider.id, "identity waits for the account owner's sign-in to be linked");
            let mut waiting_request = request.clone();
            waiting_request
                .carried
                .retain(|(name, _)| !matches!(*name, "link_provider" | "link_token"));
            waiting_request.carried.push(("link_token", token));
            let notice = format!(
                "An account here already uses the address your {0} account gave, which {0} did not confirm. Sign in to that account to link {0} to it; after that, either signs you in.",
                provider.name
            );
            flow::sign_in_page_with(
                context,
                &waiting_request,
                StatusCode::OK,
                crate::pages::Message {
                    error: None,
                    notice: Some(&notice),
                },
                "",
                None,
            )
        }
    }
}

/// Links what `asserted` says to the account that started the link, then goes on with the
/// request in its login session.
async fn link_signed_in<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    provider: &Provider,
    asserted: &Asserted,
    target: &LinkTarget,
) -> Response<Body> {
    let stores = &context.state().stores;
    let live = match context.live_session().await {
        Ok(live) => live,
        Err(response) => return response,
    };
    let Some((session, user)) = live.filter(|(_, user)| {
        user.id.as_str() == target.account && user.token_version == target.token_version
    }) else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "You signed out or your account changed while linking. Sign in and try again.",
        );
    };
    match stores
        .identities()
        .find(&asserted.issuer, &asserted.subject)
        .await
    {
        Ok(Some(known)) if known.account == user.id => {
            return flow::finish(context, request, &session, &user).await;
        }
        Ok(Some(_)) => return linked_elsewhere(context, provider),
        Ok(None) => {}
        Err(error) => return context.unavailable_page(&error.to_string()),
    }
    // The user confirms on this service's page: a provider's answer alone (a browser signed
    // in there by someone else, say) never links.
    ask_confirmation(context, request, provider, asserted, &user).await
}

/// Keeps `asserted` waiting for `user`'s confirmation in this browser and shows the page
/// that asks for it.
async fn ask_confirmation<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    provider: &Provider,
    asserted: &Asserted,
    user: &User,
) -> Response<Body> {
    let stores = &context.state().stores;
    let Some(browser) = context.cookies().federation(context.request()) else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The link took too long; try again.",
        );
    };
    let Some(token) = random() else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The link could not be started.",
        );
    };
    let waiting = WaitingIdentity {
        asserted: asserted.clone(),
        account: user.id.as_str().to_owned(),
        browser: hash(&browser),
    };
    let Ok(record) = serde_json::to_string(&waiting) else {
        return context.error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The link could not be started.",
        );
    };
    let stored = stores
        .federation()
        .put(
            &confirmation_key(&token, &browser),
            &record,
            context.now() + ATTEMPT_LIFETIME,
        )
        .await;
    if let Err(error) = stored {
        return context.unavailable_page(&error.to_string());
    }
    let mut confirming = request.clone();
    confirming
        .carried
        .retain(|(name, _)| !matches!(*name, "link_provider" | "link_token"));
    confirming.carried.push(("link_token", token));
    // An address the provider did not verify is anyone's to type: it is shown as such.
    let shown = match (&asserted.email, asserted.email_verified) {
        (Some(email), true) => email.clone(),
        (Some(email), false) => format!(
            "{} (it gave the address {email}, not verified)",
            asserted.subject
        ),
        (None, _) => asserted.subject.clone(),
    };
    let (csrf_token, set_csrf) = context.csrf();
    let page = crate::pages::link(
        &context.frame(),
        &provider.name,
        &shown,
        user.username.as_str(),
        &confirming.carried,
        &csrf_token,
    );
    // The form's answer redirects to the client: `form-action` must allow its origin.
    let response = crate::pages::allowing_redirect_to(
        crate::pages::html(StatusCode::OK, page),
        &request.redirect_uri,
    );
    match set_csrf {
        Some(cookie) => crate::pages::with_cookie(response, &cookie),
        None => response,
    }
}

/// The key of an identity waiting for the signed-in user's confirmation of its link.
fn confirmation_key(token: &str, browser: &str) -> String {
    format!("confirm:{}", hash(&format!("{token} {browser}")))
}

fn linked_elsewhere<S: Stores>(context: &Context<'_, S>, provider: &Provider) -> Response<Body> {
    let message = format!(
        "This {} account is linked to another account here. Sign in with it to use that account, or unlink it there first.",
        provider.name
    );
    context.error_page(StatusCode::CONFLICT, &message)
}

/// `POST /login/federated/link`: the signed-in user links (or not) the identity the page
/// showed, then the request goes on.
pub(crate) async fn confirm_link<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, mut request) = match flow::form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (Some(token), Some(browser)) = (
        request.link_token().map(str::to_owned),
        context.cookies().federation(context.request()),
    ) else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The link took too long; try again.",
        );
    };
    request
        .carried
        .retain(|(name, _)| !matches!(*name, "link_provider" | "link_token"));
    let live = match context.live_session().await {
        Ok(live) => live,
        Err(response) => return response,
    };
    let Some((session, user)) = live else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "You signed out while linking. Sign in and try again.",
        );
    };
    let stores = &context.state().stores;
    let waiting: WaitingIdentity = match stores
        .federation()
        .take(&confirmation_key(&token, &browser), context.now())
        .await
    {
        Ok(Some(record)) => match serde_json::from_str(&record) {
            Ok(waiting) => waiting,
            Err(_) => {
                return context.error_page(
                    StatusCode::BAD_REQUEST,
                    "The link took too long; try again.",
                );
            }
        },
        Ok(None) => {
            return context.error_page(
                StatusCode::BAD_REQUEST,
                "The link took too long; try again.",
            );
        }
        Err(error) => return context.unavailable_page(&error.to_string()),
    };
    if waiting.account != user.id.as_str() || waiting.browser != hash(&browser) {
        tracing::warn!(account = %user.id, "a link confirmation of another account or browser was refused");
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The link took too long; try again.",
        );
    }
    if params.get("decision") != Some("allow") {
        tracing::info!(account = %user.id, "link declined");
        return flow::finish(context, &request, &session, &user).await;
    }
    let Some(provider) = context
        .state()
        .upstreams
        .providers()
        .get(&waiting.asserted.provider)
    else {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "That provider is not offered here.",
        );
    };
    let identity = linking::identity_of(&waiting.asserted, &user.id, context.now());
    match stores.identities().link(&identity).await {
        Ok(Link::Linked) => {
            tracing::info!(account = %user.id, provider = %provider.id, "identity linked from a signed-in session");
            record(context, &user, EventKind::IdentityLinked).await;
            notify_link(context, &user, provider).await;
        }
        Ok(Link::AlreadyLinked(holder)) if holder == user.id => {}
        Ok(Link::AlreadyLinked(_)) => return linked_elsewhere(context, provider),
        Err(error) => return context.unavailable_page(&error.to_string()),
    }
    flow::finish(context, &request, &session, &user).await
}

/// After `user` signed in on a page that carried a `link_token`: the page asking them to
/// confirm the link of the identity waiting under it, if it waits for this account in this
/// browser; otherwise the request goes on as after any sign-in.
pub(crate) async fn ask_to_link_waiting<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    session: &Session,
    user: &User,
    token: &str,
) -> Response<Body> {
    let mut request = request.clone();
    request
        .carried
        .retain(|(name, _)| !matches!(*name, "link_provider" | "link_token"));
    let Some(browser) = context.cookies().federation(context.request()) else {
        return flow::finish(context, &request, session, user).await;
    };
    let stores = &context.state().stores;
    let waiting: Option<WaitingIdentity> = match stores
        .federation()
        .take(&waiting_key(token, &browser), context.now())
        .await
    {
        Ok(record) => record.and_then(|record| serde_json::from_str(&record).ok()),
        Err(error) => return context.unavailable_page(&error.to_string()),
    };
    let provider = waiting.as_ref().and_then(|waiting| {
        context
            .state()
            .upstreams
            .providers()
            .get(&waiting.asserted.provider)
    });
    match (waiting, provider) {
        (Some(waiting), Some(provider))
            if waiting.browser == hash(&browser) && waiting.account == user.id.as_str() =>
        {
            ask_confirmation(context, &request, provider, &waiting.asserted, user).await
        }
        (Some(_), _) => {
            tracing::warn!(account = %user.id, "a waiting identity was not offered: another account signed in");
            flow::finish(context, &request, session, user).await
        }
        (None, _) => flow::finish(context, &request, session, user).await,
    }
}

/// Whether `session`'s sign-in is recent enough to link another provider.
pub(crate) fn recent<S: Stores>(context: &Context<'_, S>, session: &Session) -> bool {
    context
        .now()
        .duration_since(session.authenticated_at)
        .is_ok_and(|age| age <= RECENT_SIGN_IN)
}

/// When the user signed in: when the provider says (`auth_time`, never later than now), or
/// now when it does not say.
fn signed_in_at<S: Stores>(context: &Context<'_, S>, asserted: &Asserted) -> SystemTime {
    asserted
        .authenticated_at
        .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds))
        .filter(|at| *at <= context.now())
        .unwrap_or_else(|| context.now())
}

/// Tells the account's verified address that `provider` was linked to it.
async fn notify_link<S: Stores>(context: &Context<'_, S>, user: &User, provider: &Provider) {
    let Some(address) = &user.email else {
        return;
    };
    let state = context.state();
    let outgoing = shared::mail::flows::Outgoing::new(
        state.stores.email_codes(),
        &state.recovery.mailer,
        &state.recovery.mail,
        &state.metrics,
    )
    .with_hooks(&context.state().hooks);
    let to = shared::mail::flows::Recipient {
        account: &user.id,
        username: &user.username,
        address,
    };
    let what = format!(
        "Your {} account was linked to your account here: it signs you in from now on. If this was not you, sign in, unlink it and change your password.",
        provider.name
    );
    outgoing.send_notice(&to, &what).await;
}

async fn record<S: Stores>(context: &Context<'_, S>, user: &User, kind: EventKind) {
    let event = AccountEvent::new(&user.id, kind, context.now(), context.source());
    shared::identity::account_events::record(context.state().stores.events(), &event).await;
}

fn upstream_failed<S: Stores>(
    context: &Context<'_, S>,
    provider: &Provider,
    error: &UpstreamError,
) -> Response<Body> {
    match error {
        UpstreamError::Unavailable(reason) => {
            tracing::warn!(provider = %provider.id, %reason, "upstream provider unavailable");
            let message = format!("{} is not answering; try again in a moment.", provider.name);
            let mut response = context.error_page(StatusCode::SERVICE_UNAVAILABLE, &message);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        refused => {
            tracing::warn!(provider = %provider.id, reason = %refused, "upstream answer refused");
            let message = format!(
                "{} could not confirm who you are. Go back to the application and start again.",
                provider.name
            );
            context.error_page(StatusCode::BAD_REQUEST, &message)
        }
    }
}

/// The link every page shows for each provider.
pub(crate) fn provider_links(
    base_path: &str,
    providers: &[Provider],
    query: &str,
) -> Vec<(String, String)> {
    providers
        .iter()
        .map(|provider| {
            let id: String = url::form_urlencoded::byte_serialize(provider.id.as_bytes()).collect();
            (
                provider.name.clone(),
                format!("{base_path}/login/federated?provider={id}&{query}"),
            )
        })
        .collect()
}
