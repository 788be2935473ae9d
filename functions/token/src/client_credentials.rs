//! The client-credentials grant (RFC 6749 section 4.4): a machine client authenticates with
//! its id and secret, by HTTP Basic or in the form (section 2.3.1, one method per request),
//! and gets an access token for at most its scopes, without a refresh token.
//!
//! Each attempt is counted on the client's failure counter, as passwords are; after five
//! failures wrong secrets get `429` until the lock ends, while the right secret still works,
//! so whoever knows a client's id (it is every token's `sub`) cannot lock the service out.
//! The secret is 256 random bits: the lock slows no guess that could succeed, it only makes a
//! guessing run loud. Unknown ids are counted alike and cost the same argon2id work.

use crate::oauth::{OAuthError, TokenResponse};
use crate::{State, server_error, store_error};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::Request;
use lambda_http::http::header;
use shared::abuse::login_failures::{Attempt, FailureKey, LoginFailureStore};
use shared::access::client_id::ClientId;
use shared::access::clients::{ClientStore, secret_id};
use shared::access::scopes::Scopes;
use shared::identity::credentials::Password;
use shared::platform::metrics::SecurityEvent;
use shared::stores::Stores;
use std::borrow::Cow;
use std::time::SystemTime;

/// The longest secret looked at; ours are 52 characters.
const MAX_SECRET_BYTES: usize = 256;

/// Failed secrets of one client id. Its id has a `:`, which no username has.
struct ClientFailures<'a>(&'a ClientId);

impl FailureKey for ClientFailures<'_> {
    fn counter_id(&self) -> Cow<'_, str> {
        Cow::Owned(format!("client:{}", self.0.as_str()))
    }
}

/// The form's part of a client-credentials request.
pub(crate) struct FormCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// Answers the grant: `401 invalid_client` for a missing, unknown or wrong credential (the
/// same bytes for each), `400 invalid_scope` for a scope the client was not given, `429`
/// while the client id is locked.
pub(crate) async fn grant<S: Stores>(
    state: &State<S>,
    request: &Request,
    form: FormCredentials,
    issuer: &str,
    now: SystemTime,
) -> Result<TokenResponse, OAuthError> {
    let (id, secret) = credentials(request, form.client_id, form.client_secret)?;
    let password = Password::presented(&secret);
    let Some(id) = ClientId::parse(&id).filter(|_| secret.len() <= MAX_SECRET_BYTES) else {
        // No client can have this id: nothing to count, the same work as a wrong secret.
        verify_dummy(state, &password).await?;
        tracing::info!("client authentication refused: not a client id");
        return Err(OAuthError::InvalidClient);
    };
    let key = ClientFailures(&id);
    let (attempt, found) = tokio::join!(
        state.stores.login_failures().claim_attempt(&key, now),
        state.stores.clients().find(&id)
    );
    let (attempt, found) = (attempt.map_err(store_error)?, found.map_err(store_error)?);
    let stored = found.as_ref().and_then(|client| {
        let presented_id = secret_id(&secret)?;
        client
            .secrets
            .iter()
            .find(|stored| stored.id == presented_id)
    });
    let used_secret = stored.map(|stored| stored.id.clone()).unwrap_or_default();
    let right = match stored {
        Some(stored) => state
            .hasher
            .verify(&password, &stored.hash)
            .await
            .map_err(|error| server_error(&error))?,
        None => {
            verify_dummy(state, &password).await?;
            false
        }
    };
    let Some(client) = found.filter(|_| right) else {
        if let Attempt::Locked { retry_after, .. } = attempt {
            tracing::info!(client = %id, "client authentication refused: locked");
            state.metrics.record(SecurityEvent::LockedOut);
            return Err(OAuthError::TooManyAttempts { retry_after });
        }
        tracing::info!(client = %id, "client authentication refused: unknown client or wrong secret");
        state.metrics.record(SecurityEvent::FailedLogin);
        return Err(OAuthError::InvalidClient);
    };
    if let Err(error) = state.stores.login_failures().reset(&key).await {
        tracing::warn!(%error, "client authenticated but its failure counter was not reset");
    }
    let granted = match form.scope.as_deref().map(Scopes::parse) {
        None => client.scopes.clone(),
        Some(asked) if asked.is_empty() => client.scopes.clone(),
        Some(asked) if asked.is_subset(&client.scopes) => asked,
        Some(_) => {
            tracing::info!(client = %id, "client asked for a scope it was not given");
            return Err(OAuthError::InvalidScope);
        }
    };
    let access = state
        .issuer
        .issue_for_client(issuer, id.as_str(), &used_secret, &granted, now)
        .map_err(|error| server_error(&error))?;
    tracing::info!(client = %id, jti = %access.token_id, scope = %granted, "client token issued");
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "bearer",
        expires_in: access.expires_in,
        refresh_token: None,
        scope: (!granted.is_empty()).then(|| granted.to_string()),
        id_token: None,
    })
}

async fn verify_dummy<S: Stores>(state: &State<S>, password: &Password) -> Result<(), OAuthError> {
    state
        .hasher
        .verify_dummy(password)
        .await
        .map_err(|error| server_error(&error))
}

/// The client id and secret, from an HTTP Basic `Authorization` header (each part
/// form-urlencoded, RFC 6749 section 2.3.1) or from the form, never both.
fn credentials(
    request: &Request,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<(String, String), OAuthError> {
    match presented_client(request, form_id, form_secret)? {
        (id, Some(secret)) => Ok((id, secret)),
        (_, None) => Err(OAuthError::InvalidClient),
    }
}

/// The client id, and its secret if one was presented: from an HTTP Basic `Authorization`
/// header (each part form-urlencoded, RFC 6749 section 2.3.1), or from the form (a public
/// client's `client_id` alone), never both.
pub(crate) fn presented_client(
    request: &Request,
    form_id: Option<String>,
    form_secret: Option<String>,
) -> Result<(String, Option<String>), OAuthError> {
    let basic = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| encoded.trim().to_owned());
    match (basic, form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method: HTTP Basic or the form, not both".to_owned(),
        )),
        (Some(encoded), None, None) => {
            let decoded = STANDARD
                .decode(encoded)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or(OAuthError::InvalidClient)?;
            let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
            let decode = |part: &str| form_urlencoded_decode(part).ok_or(OAuthError::InvalidClient);
            Ok((decode(id)?, Some(decode(secret)?)))
        }
        (None, Some(id), secret) => Ok((id, secret)),
        _ => Err(OAuthError::InvalidClient),
    }
}

fn form_urlencoded_decode(part: &str) -> Option<String> {
    if part.contains(['&', '=']) {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}")).ok()?;
    pairs.into_iter().next().map(|(_, value)| value)
}
