//! An authorization request (RFC 6749 §4.1.1 with PKCE and OpenID Connect Core §3.1.2.1),
//! checked in the order that keeps the endpoint from being an open redirector: until the
//! client and its redirect URI are known good, every problem is an error page; afterwards
//! errors go back to the client's redirect URI with `error`, `state` and `iss` (RFC 9207).

use crate::params::Params;
use shared::access::redirect_uris::redirect_target;
use shared::access::relying_parties::{RelyingParty, RelyingPartyId, RelyingPartyStore};
use shared::access::scopes::Scopes;
use shared::authorization::pkce::CodeChallenge;
use shared::platform::database::StoreError;
use shared::stores::Stores;

/// The request parameters carried through the sign-in forms, so each step can check the
/// request again from what the browser sends.
pub const CARRIED: [&str; 13] = [
    "client_id",
    "redirect_uri",
    "response_type",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    // Not OAuth: an upstream provider to link once signed in, and an upstream identity
    // waiting for its account's owner to sign in (see `federated`).
    "link_provider",
    "link_token",
];

/// The longest `state` or `nonce` accepted.
const MAX_OPAQUE_BYTES: usize = 1024;

/// What the request asks of the user's sign-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: answer without showing a page, or with an error.
    pub none: bool,
    /// `login`: sign in again even with a live login session.
    pub login: bool,
    /// `consent`: ask for consent even when it would not be needed.
    pub consent: bool,
    /// `create`: show the sign-up page first (Initiating User Registration via OpenID
    /// Connect 1.0).
    pub create: bool,
}

/// A checked authorization request.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The relying party.
    pub client: RelyingParty,
    /// The redirect URI, as presented (one the client registered).
    pub redirect_uri: String,
    /// The client's `state`, returned as it came.
    pub state: Option<String>,
    /// The `nonce`, put in the id_token.
    pub nonce: Option<String>,
    /// The scopes asked for, all of them known and allowed to the client.
    pub scopes: Scopes,
    /// The PKCE challenge.
    pub code_challenge: CodeChallenge,
    /// The `prompt` values.
    pub prompt: Prompt,
    /// The `max_age`: how old, in seconds, the sign-in may be.
    pub max_age: Option<u64>,
    /// The `login_hint`: a username to fill in.
    pub login_hint: Option<String>,
    /// The parameters to carry through the forms.
    pub carried: Vec<(&'static str, String)>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The client or the redirect URI cannot be trusted: an error page, never a redirect.
    Page(String),
    /// A problem reported to the client at its redirect URI.
    Redirect(RedirectError),
    /// The database could not be read.
    Store(String),
}

/// An error for the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectError {
    /// Where to send it.
    pub redirect_uri: String,
    /// The client's `state`.
    pub state: Option<String>,
    /// The RFC 6749 §4.1.2.1 / OpenID Connect §3.1.2.6 error code.
    pub error: &'static str,
    /// What went wrong, for the client's developer.
    pub description: String,
}

impl From<StoreError> for RequestError {
    fn from(error: StoreError) -> Self {
        Self::Store(error.to_string())
    }
}

/// Checks `params` as an authorization request.
pub async fn check<S: Stores>(
    stores: &S,
    params: &Params,
) -> Result<AuthorizationRequest, RequestError> {
    let client_id = params.get("client_id").ok_or_else(|| {
        RequestError::Page("The request names no application (client_id).".to_owned())
    })?;
    let unknown = || {
        RequestError::Page(
            "The request names an application this service does not know.".to_owned(),
        )
    };
    let id = RelyingPartyId::parse(client_id).ok_or_else(unknown)?;
    let client = stores
        .relying_parties()
        .find(&id)
        .await?
        .ok_or_else(unknown)?;
    let presented = params.get("redirect_uri").ok_or_else(|| {
        RequestError::Page("The request names no address to return to (redirect_uri).".to_owned())
    })?;
    let redirect_uri = redirect_target(&client.redirect_uris, presented)
        .ok_or_else(|| {
            RequestError::Page(
                "The address to return to is not one this application registered.".to_owned(),
            )
        })?
        .to_owned();
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: &'static str, description: &str| {
        RequestError::Redirect(RedirectError {
            redirect_uri: redirect_uri.clone(),
            state: state
                .clone()
                .filter(|state| state.len() <= MAX_OPAQUE_BYTES),
            error,
            description: description.to_owned(),
        })
    };
    if state
        .as_ref()
        .is_some_and(|state| state.len() > MAX_OPAQUE_BYTES)
    {
        return Err(refuse("invalid_request", "state is longer than 1024 bytes"));
    }
    if params.get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "response_type must be code",
            ));
        }
    }
    if params
        .get("response_mode")
        .is_some_and(|mode| mode != "query")
    {
        return Err(refuse("invalid_request", "response_mode must be query"));
    }
    let code_challenge = CodeChallenge::from_request(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|error| refuse("invalid_request", &error.to_string()))?;
    let scopes = Scopes::parse(params.get("scope").unwrap_or_default());
    if scopes.is_empty() {
        return Err(refuse("invalid_scope", "scope is required"));
    }
    if !scopes.is_subset(&client.scopes) {
        return Err(refuse(
            "invalid_scope",
            "a requested scope is not one this application may ask for",
        ));
    }
    let nonce = params.get("nonce").map(str::to_owned);
    if nonce
        .as_ref()
        .is_some_and(|nonce| nonce.len() > MAX_OPAQUE_BYTES)
    {
        return Err(refuse("invalid_request", "nonce is longer than 1024 bytes"));
    }
    let prompt = prompt(params.get("prompt"))
        .map_err(|description| refuse("invalid_request", description))?;
    let max_age = match params.get("max_age") {
        None => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| refuse("invalid_request", "max_age must be a number of seconds"))?,
        ),
    };
    let carried = CARRIED
        .iter()
        .filter_map(|name| params.get(name).map(|value| (*name, value.to_owned())))
        .collect();
    Ok(AuthorizationRequest {
        client,
        redirect_uri,
        state,
        nonce,
        scopes,
        code_challenge,
        prompt,
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        carried,
    })
}

fn prompt(text: Option<&str>) -> Result<Prompt, &'static str> {
    let mut prompt = Prompt::default();
    for value in text
        .unwrap_or_default()
        .split(' ')
        .filter(|value| !value.is_empty())
    {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "create" => prompt.create = true,
            _ => return Err("prompt may be none, login, consent or create"),
        }
    }
    if prompt.none && (prompt.login || prompt.consent || prompt.create) {
        return Err("prompt=none cannot be combined with another value");
    }
    Ok(prompt)
}

impl AuthorizationRequest {
    /// The carried parameter `name`.
    fn carried(&self, name: &str) -> Option<&str> {
        self.carried
            .iter()
            .find(|(carried, _)| *carried == name)
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// The upstream provider to link once signed in (`link_provider`, not OAuth).
    pub fn link_provider(&self) -> Option<&str> {
        self.carried("link_provider")
    }

    /// The identity waiting for its account's owner to sign in (`link_token`).
    pub fn link_token(&self) -> Option<&str> {
        self.carried("link_token")
    }

    /// An error for this request's redirect URI.
    pub fn error(&self, error: &'static str, description: &str) -> RedirectError {
        RedirectError {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            description: description.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_takes_none_login_and_consent_and_none_alone() {
        assert_eq!(prompt(None), Ok(Prompt::default()));
        assert_eq!(
            prompt(Some("login consent")),
            Ok(Prompt {
                none: false,
                login: true,
                consent: true,
                create: false
            })
        );
        assert!(prompt(Some("create")).is_ok_and(|prompt| prompt.create));
        assert!(prompt(Some("none login")).is_err());
        assert!(prompt(Some("none create")).is_err());
        assert!(prompt(Some("select_account")).is_err());
    }
}
