//! The caller's own account, read fresh from the store:
//!
//! - `GET /users/me`: the account (never the hash or any second-factor secret);
//! - `GET /users/me/sessions`: the sessions that can still refresh, the caller's marked;
//! - `GET /users/me/events`: the security history, newest first, a page at a time;
//! - `GET /users/me/passkeys`: the registered passkeys (names, dates; no key material);
//! - `GET /users/me/consents`: the third-party applications the caller allowed, and what;
//! - `GET /users/me/export`: everything stored about the caller, in one document;
//! - `GET`/`POST /userinfo`: OpenID Connect's UserInfo for a token with the `openid` scope
//!   (`sub`, and with `profile` the username, with `email` the verified address).

mod export;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::edge::principal::{authenticated_user, principal};
use shared::identity::account_events::{AccountEventStore, Cursor, MAX_PAGE};
use shared::platform::clock::Clock;
use shared::platform::http::{
    ApiError, PageQuery, Route, json_response, not_found, page_query, route,
};
use shared::sessions::SessionStore;
use shared::stores::Stores;

/// What the me function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts.
    pub stores: S,
    /// The time an access token's expiry is checked against.
    pub clock: Clock,
    /// How recent a login must be for the data export.
    pub recent_authentication: std::time::Duration,
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The account.
    Account,
    /// Its active sessions.
    Sessions,
    /// Its security history.
    Events,
    /// Everything stored about it.
    Export,
    /// Its passkeys.
    Passkeys,
    /// What it allowed third-party applications.
    Consents,
    /// OpenID Connect's UserInfo.
    UserInfo,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 8] = [
    (Route::get("/users/me"), Endpoint::Account),
    (Route::get("/users/me/sessions"), Endpoint::Sessions),
    (Route::get("/users/me/events"), Endpoint::Events),
    (Route::get("/users/me/export"), Endpoint::Export),
    (Route::get("/users/me/passkeys"), Endpoint::Passkeys),
    (Route::get("/users/me/consents"), Endpoint::Consents),
    (Route::get("/userinfo"), Endpoint::UserInfo),
    (Route::post("/userinfo"), Endpoint::UserInfo),
];

/// Handles one request for the authorizer's principal: the account as
/// `{"username","created_at","disabled","email","two_factor","has_password","identities"}`
/// (`email` is `null` or `{"address","verified","pending_address"}`, `two_factor` is
/// `{"enabled","recovery_codes_remaining"}`, `identities` its linked identities at other
/// providers), or its sessions.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let outcome = match route(&request, &ROUTES) {
        Some(Endpoint::Account) => account(state, &request).await,
        Some(Endpoint::Sessions) => sessions(state, &request).await,
        Some(Endpoint::Events) => events(state, &request).await,
        Some(Endpoint::Export) => export::export(state, &request).await,
        Some(Endpoint::Passkeys) => passkeys(state, &request).await,
        Some(Endpoint::Consents) => consents(state, &request).await,
        Some(Endpoint::UserInfo) => user_info(state, &request).await,
        None => return not_found(&request),
    };
    outcome.unwrap_or_else(ApiError::into_response)
}

/// `{"sessions": [...]}`, most recently used first: each with its id, when it began (the
/// login) and was last used, when it ends, how it was authenticated, the IP and user agent
/// that logged in, and whether it is the one the caller's access token belongs to.
async fn sessions<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let caller = principal(request, now)?;
    let (user, sessions) = tokio::join!(
        authenticated_user(state.stores.users(), request, now),
        state
            .stores
            .sessions()
            .active_sessions(&caller.account, now)
    );
    user?;
    let sessions = sessions.map_err(|error| ApiError::from_store(&error))?;
    let listed: Vec<serde_json::Value> = sessions
        .iter()
        .map(|active| {
            let session = &active.session;
            json!({
                "id": session.family,
                "created_at": timestamp(session.authenticated_at),
                "last_used_at": timestamp(active.last_used_at),
                "expires_at": timestamp(session.expires_at),
                "amr": session.amr,
                "ip": session.client.ip,
                "user_agent": session.client.user_agent,
                "current": caller.session.as_deref() == Some(session.family.as_str()),
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sessions": listed }),
    ))
}

/// `{"consents": [...]}` by application id: each third-party application the caller allowed
/// (`client_id`, its `name`, or `null` once deleted), the `scopes` allowed and when last
/// (`granted_at`).
async fn consents<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    use shared::access::relying_parties::RelyingPartyStore as _;
    use shared::authorization::consents::ConsentStore as _;
    let now = state.clock.now();
    let user = authenticated_user(state.stores.users(), request, now).await?;
    let store = |error: shared::platform::database::StoreError| ApiError::from_store(&error);
    let held = state
        .stores
        .consents()
        .list(&user.id)
        .await
        .map_err(store)?;
    let mut listed = Vec::with_capacity(held.len());
    for consent in held {
        let party = state
            .stores
            .relying_parties()
            .find(&consent.client)
            .await
            .map_err(store)?;
        listed.push(json!({
            "client_id": consent.client.as_str(),
            "name": party.map(|party| party.name),
            "scopes": consent.scopes.iter().collect::<Vec<_>>(),
            "granted_at": timestamp(consent.granted_at),
        }));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({ "consents": listed }),
    ))
}

/// OpenID Connect Core §5.3: `sub`, `preferred_username` with `profile`, `email` and
/// `email_verified` with `email` (a verified address only). A token without `openid` is
/// refused with `403 insufficient_scope`.
async fn user_info<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let user = authenticated_user(state.stores.users(), request, now).await?;
    let scopes = shared::edge::principal::token_scopes(request);
    if !scopes.contains("openid") {
        return Err(shared::edge::principal::INSUFFICIENT_SCOPE);
    }
    let mut claims = json!({ "sub": user.id.as_str() });
    if scopes.contains("profile") {
        claims["preferred_username"] = user.username.as_str().into();
    }
    if let Some(address) = user.email.as_ref().filter(|_| scopes.contains("email")) {
        claims["email"] = address.as_str().into();
        claims["email_verified"] = true.into();
    }
    Ok(json_response(StatusCode::OK, &claims))
}

/// `{"passkeys": [...]}`: the caller's passkeys, oldest first.
async fn passkeys<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    use shared::factors::passkeys::PasskeyStore as _;
    let now = state.clock.now();
    let caller = principal(request, now)?;
    let (user, passkeys) = tokio::join!(
        authenticated_user(state.stores.users(), request, now),
        state.stores.passkeys().list(&caller.account)
    );
    user?;
    let passkeys = passkeys.map_err(|error| ApiError::from_store(&error))?;
    let listed: Vec<serde_json::Value> = passkeys
        .iter()
        .map(shared::factors::passkeys::Passkey::view)
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "passkeys": listed }),
    ))
}

/// Events per page unless `limit` says otherwise.
const DEFAULT_PAGE: u32 = 20;

/// `{"events": [...], "next": cursor or null}`: up to `limit` (1–100, default 20) events,
/// newest first, after the `before` cursor of the previous page.
async fn events<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let caller = principal(request, now)?;
    let PageQuery { limit, cursor } =
        page_query(request, DEFAULT_PAGE, MAX_PAGE, "before", Cursor::decode)?;
    let (user, page) = tokio::join!(
        authenticated_user(state.stores.users(), request, now),
        state
            .stores
            .events()
            .page(&caller.account, cursor.as_ref(), limit)
    );
    user?;
    let page = page.map_err(|error| ApiError::from_store(&error))?;
    let next = (page.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| page.last().map(|last| Cursor::after(last).encode()))
        .flatten();
    let listed: Vec<serde_json::Value> = page.iter().map(event_json).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "events": listed, "next": next }),
    ))
}

/// One event as the owner sees it.
fn event_json(event: &shared::identity::account_events::AccountEvent) -> serde_json::Value {
    shared::identity::account_events::shown(event, false)
}

fn timestamp(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

async fn account<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let caller = principal(request, now)?;
    // One round trip: the account, its second factor and its identities are read together.
    let (found, identities) = tokio::join!(
        shared::edge::principal::caller_with_second_factor(&state.stores, request, now),
        shared::identity::identities::IdentityStore::list(
            state.stores.identities(),
            &caller.account
        )
    );
    let (_, user, factor) = found?;
    let identities = identities.map_err(|error| ApiError::from_store(&error))?;
    let confirmed = factor.filter(|factor| factor.confirmed);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "username": user.username.as_str(),
            "created_at": timestamp(user.created_at),
            "disabled": user.disabled,
            "email": shared::mail::flows::email_view(&user),
            "two_factor": {
                "enabled": confirmed.is_some(),
                "recovery_codes_remaining": confirmed.map_or(0, |factor| factor.recovery_codes.len()),
            },
            "has_password": user.has_password(),
            "username_editable": user.username_provisional,
            "identities": identities.iter().map(shared::identity::identities::Identity::view).collect::<Vec<_>>(),
        }),
    ))
}
