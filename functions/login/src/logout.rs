//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `GET`/`POST /logout` ends
//! the browser's login session at the service and, when the relying party names one of its
//! registered `post_logout_redirect_uri`s, sends the browser there with its `state`.
//!
//! The relying party is known by `client_id` or by the `aud` of `id_token_hint`. A hint
//! this provider signed (any age) for the session the browser holds signs out at once;
//! without one, the user confirms on a page (a form with the CSRF token), so another site
//! cannot sign users out by linking here.

use crate::flow::Context;
use crate::params::Params;
use crate::{State, pages};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use shared::access::relying_parties::{RelyingParty, RelyingPartyId, RelyingPartyStore as _};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::sessions::SessionStore as _;
use shared::stores::Stores;

/// The parameters carried through the confirmation form.
const CARRIED: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];

/// `GET`/`POST /logout`.
pub(crate) async fn logout<S: Stores>(context: &Context<'_, S>, form: bool) -> Response<Body> {
    let params = if form {
        Params::of_form(context.request())
    } else {
        Params::of_query(context.request())
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
    let state = context.state();
    let hint = params
        .get("id_token_hint")
        .map(|hint| state.id_tokens.verify_hint(hint, context.issuer()));
    if matches!(hint, Some(None)) {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The sign-out request carries an id_token this service did not issue.",
        );
    }
    let hint = hint.flatten();
    let named = params.get("client_id");
    if let (Some(named), Some(hint)) = (named, &hint)
        && named != hint.aud
    {
        return context.error_page(
            StatusCode::BAD_REQUEST,
            "The sign-out request names two different applications.",
        );
    }
    let client_id = named.or(hint.as_ref().map(|hint| hint.aud.as_str()));
    let client = match client_id {
        Some(id) => match found(state, id).await {
            Ok(Some(client)) => Some(client),
            Ok(None) => {
                return context.error_page(
                    StatusCode::BAD_REQUEST,
                    "The sign-out request names an application this service does not know.",
                );
            }
            Err(response) => return context.unavailable_page(&response),
        },
        None => None,
    };
    let target = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            let registered = client.as_ref().is_some_and(|client| {
                client
                    .post_logout_redirect_uris
                    .iter()
                    .any(|registered| registered.matches(uri))
            });
            // The same rule as a redirect URI: the string, or a loopback one on any port.
            if !registered {
                return context.error_page(StatusCode::BAD_REQUEST, "The address to return to after signing out is not one the application registered.");
            }
            Some(uri.to_owned())
        }
    };
    let session = match context.live_session().await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let hinted = hint.as_ref().is_some_and(|hint| {
        session
            .as_ref()
            .is_none_or(|(session, _)| session.family == hint.sid)
    });
    let confirmed =
        form && context.csrf_matches(&params) && params.get("decision") == Some("logout");
    if !hinted && !confirmed {
        let carried: Vec<(&'static str, String)> = CARRIED
            .iter()
            .filter_map(|name| params.get(name).map(|value| (*name, value.to_owned())))
            .collect();
        let (csrf_token, set_csrf) = context.csrf();
        let page = pages::logout(
            &context.frame(),
            client.as_ref().map(|client| client.name.as_str()),
            &carried,
            &csrf_token,
        );
        let mut response = pages::html(StatusCode::OK, page);
        if let Some(target) = params.get("post_logout_redirect_uri") {
            response = pages::allowing_redirect_to(response, target);
        }
        return match set_csrf {
            Some(cookie) => pages::with_cookie(response, &cookie),
            None => response,
        };
    }
    if let Some((session, user)) = &session {
        let ended = state
            .stores
            .sessions()
            .end_session(&user.id, &session.family)
            .await;
        if let Err(error) = ended {
            return context.unavailable_page(&error.to_string());
        }
        let event = AccountEvent::new(
            &user.id,
            EventKind::SessionEnded,
            context.now(),
            context.source(),
        );
        account_events::record(state.stores.events(), &event).await;
        tracing::info!(account = %user.id, family = %session.family, "login session ended by a sign-out");
    }
    let response = match target {
        Some(uri) => {
            let mut pairs = Vec::new();
            if let Some(state) = params.get("state") {
                pairs.push(("state", state.to_owned()));
            }
            pages::redirect(&crate::flow::with_query(&uri, &pairs))
        }
        None => pages::html(StatusCode::OK, pages::signed_out(&context.frame())),
    };
    pages::with_cookie(response, &context.cookies().clear_session())
}

async fn found<S: Stores>(state: &State<S>, id: &str) -> Result<Option<RelyingParty>, String> {
    let Some(id) = RelyingPartyId::parse(id) else {
        return Ok(None);
    };
    state
        .stores
        .relying_parties()
        .find(&id)
        .await
        .map_err(|error| error.to_string())
}
