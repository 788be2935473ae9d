//! `GET /users/me/export`: everything stored about the caller, as one JSON document (the
//! answer to GDPR articles 15 and 20), without any secret: no password hash, no token or code
//! hash, no sealed second-factor secret. It needs a recent login: a stolen access token alone
//! does not download the account's IP history.

use crate::{State, timestamp};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::abuse::login_failures::{LoginFailureStore, LoginFailures, SecondFactorFailures};
use shared::edge::principal::authenticated_user;
use shared::factors::mfa_challenges::MfaChallengeStore;
use shared::factors::passkeys::PasskeyStore;
use shared::factors::second_factors::SecondFactorStore;
use shared::identity::account_events::{AccountEvent, AccountEventStore, Cursor, MAX_PAGE};
use shared::identity::account_id::AccountId;
use shared::platform::database::StoreError;
use shared::platform::http::{ApiError, json_response};
use shared::sessions::SessionStore;
use shared::stores::Stores;

/// The export: the account, its second factor's state, its passkeys (no key material), every stored session, the whole
/// security history, its failure counters and pending second-factor logins.
pub(crate) async fn export<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let now = state.clock.now();
    let user = authenticated_user(state.stores.users(), request, now).await?;
    let caller = shared::edge::principal::principal(request, now)?;
    if !shared::factors::mfa::is_recent(caller.authenticated_at, now, state.recent_authentication) {
        tracing::info!(username = %user.username, "export refused: login not recent");
        return Err(ApiError::InsufficientUserAuthentication {
            max_age_seconds: state.recent_authentication.as_secs(),
            second_factor_missing: false,
        });
    }
    let account = &user.id;
    let stores = &state.stores;
    let codes_key = SecondFactorFailures(account);
    let (factor, passkeys, sessions, events, passwords, codes, pending, consents, identities) = tokio::join!(
        stores.second_factors().find(account),
        stores.passkeys().list(account),
        stores.sessions().sessions_of(account),
        all_events(stores.events(), account),
        stores.login_failures().record(&user.username),
        stores.login_failures().record(&codes_key),
        stores.mfa_challenges().pending_of(account, now),
        shared::authorization::consents::ConsentStore::list(stores.consents(), account),
        shared::identity::identities::IdentityStore::list(stores.identities(), account),
    );
    let store = |error: StoreError| ApiError::from_store(&error);
    let passkeys = passkeys.map_err(store)?;
    let consents = consents.map_err(store)?;
    let identities = identities.map_err(store)?;
    let (factor, sessions, (events, events_complete)) = (
        factor.map_err(store)?,
        sessions.map_err(store)?,
        events.map_err(store)?,
    );
    let (passwords, codes, pending) = (
        passwords.map_err(store)?,
        codes.map_err(store)?,
        pending.map_err(store)?,
    );
    let document = json!({
        "exported_at": timestamp(now),
        "account": {
            "id": account.as_str(),
            "username": user.username.as_str(),
            "created_at": timestamp(user.created_at),
            "disabled": user.disabled,
            "token_version": user.token_version,
            "email": shared::mail::flows::email_view(&user),
            "has_password": user.has_password(),
        },
        "identities": identities.iter().map(shared::identity::identities::Identity::view).collect::<Vec<Value>>(),
        "two_factor": factor.map(|factor| json!({
            "method": "totp",
            "confirmed": factor.confirmed,
            "recovery_codes_remaining": factor.recovery_codes.len(),
        })),
        "passkeys": passkeys.iter().map(shared::factors::passkeys::Passkey::view).collect::<Vec<Value>>(),
        "sessions": sessions.iter().map(|stored| {
            let session = &stored.session;
            json!({
                "id": session.family,
                "created_at": timestamp(session.authenticated_at),
                "last_used_at": timestamp(stored.last_used_at),
                "expires_at": timestamp(session.expires_at),
                "amr": session.amr,
                "ip": session.client.ip,
                "user_agent": session.client.user_agent,
                "revoked": stored.revoked,
            })
        }).collect::<Vec<Value>>(),
        "consents": consents.iter().map(|consent| json!({
            "client_id": consent.client.as_str(),
            "scopes": consent.scopes.iter().collect::<Vec<_>>(),
            "granted_at": timestamp(consent.granted_at),
        })).collect::<Vec<Value>>(),
        "events": events.iter().map(crate::event_json).collect::<Vec<Value>>(),
        "events_complete": events_complete,
        "failed_attempts": {
            "password_checks": counter(passwords),
            "second_factor_checks": counter(codes),
        },
        "pending_second_factor_logins": pending.iter().map(|challenge| json!({
            "started_at": timestamp(challenge.password_at),
            "expires_at": timestamp(challenge.expires_at),
        })).collect::<Vec<Value>>(),
    });
    tracing::info!(username = %user.username, "data exported");
    Ok(json_response(StatusCode::OK, &document))
}

fn counter(record: LoginFailures) -> Value {
    json!({
        "failures": record.failures,
        "locked_until": record.locked_until.map(timestamp),
    })
}

/// The most events an export holds (about 2 MB), so it stays well inside Lambda's 6 MB
/// response however many failed logins others aimed at the account; `events_complete` says
/// whether it holds them all, and `GET /users/me/events` pages through the rest.
pub const MAX_EXPORTED_EVENTS: usize = 5_000;

/// The account's history, newest first, a page at a time, up to [`MAX_EXPORTED_EVENTS`];
/// and whether that is all of it.
async fn all_events(
    events: &impl AccountEventStore,
    account: &AccountId,
) -> Result<(Vec<AccountEvent>, bool), StoreError> {
    let mut all = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = events.page(account, cursor.as_ref(), MAX_PAGE).await?;
        let full = page.len() == usize::try_from(MAX_PAGE).unwrap_or(usize::MAX);
        cursor = page.last().map(Cursor::after);
        all.extend(page);
        if !full {
            return Ok((all, true));
        }
        if all.len() >= MAX_EXPORTED_EVENTS {
            all.truncate(MAX_EXPORTED_EVENTS);
            return Ok((all, false));
        }
    }
}
