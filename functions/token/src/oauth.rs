//! RFC 6749 section 5 responses: the token body and the error body, both `no-store`.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use shared::platform::http::json_response;
use std::time::Duration;

/// An error answered in RFC 6749 section 5.2 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthError {
    /// 400 `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest(String),
    /// 400 `invalid_grant`: unknown user, wrong password or disabled account,
    /// indistinguishably.
    InvalidGrant,
    /// 400 `invalid_grant`: a refresh token that is unknown, expired, used or revoked, or
    /// whose account can no longer use it, indistinguishably.
    InvalidRefreshToken,
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 401 `invalid_client`: unknown client, wrong secret, or no client authentication, with
    /// `WWW-Authenticate: Basic` (RFC 6749 section 5.2), indistinguishably.
    InvalidClient,
    /// 400 `invalid_scope`: a scope the client was not given, or one that does not exist.
    InvalidScope,
    /// 403 `mfa_required`: the password is right and the account has a second factor; the
    /// `mfa_token` completes the login with the MFA grant.
    MfaRequired {
        /// Single-use, valid for five minutes.
        mfa_token: String,
    },
    /// 400 `invalid_grant`: an `mfa_token` that is unknown, expired, already used, or whose
    /// account changed since (signed out, password changed, second factor off).
    InvalidMfaToken,
    /// 400 `invalid_grant`: the authenticator code or recovery code is wrong or already used.
    InvalidSecondFactor,
    /// 400 `invalid_grant`: an authorization code that is unknown, expired or already used, or
    /// that was issued to another client, for another `redirect_uri`, or for a PKCE challenge
    /// the `code_verifier` does not answer, indistinguishably.
    InvalidAuthorizationCode,
    /// 400 `invalid_grant`: a passkey assertion that does not verify, names an unknown
    /// credential, answers no live challenge or was already used, indistinguishably.
    InvalidPasskey,
    /// 429 `too_many_attempts`: the username is locked after repeated failures; the password
    /// was not checked. `Retry-After` says when to try again.
    TooManyAttempts {
        /// How long the lock still holds.
        retry_after: Duration,
    },
    /// 429 `too_many_attempts`: too many failed password checks came from the caller's
    /// network (its IPv4 address or IPv6 /56) this hour.
    SourceThrottled {
        /// How long until the hour ends.
        retry_after: Duration,
    },
    /// 413 `invalid_request`: the body is too large to read.
    PayloadTooLarge,
    /// 415 `invalid_request`: the body is not form-encoded.
    UnsupportedMediaType,
    /// 500 `server_error`: our failure; details only in the log.
    ServerError,
    /// 503 `service_unavailable`: the database cannot be reached right now.
    ServiceUnavailable,
    /// 503 `service_unavailable`: the pre-token-generation hook failed; no token was issued
    /// and the session this request started or continued was ended.
    HookFailed,
    /// 400 `invalid_grant`: a token exchange's `subject_token` is not a valid id_token of a
    /// configured provider for one of its clients, or its nonce is wrong or used before.
    InvalidSubjectToken(String),
    /// 400 `invalid_grant`: the identity is new and an account here holds its address, but
    /// may not be linked without its owner's sign-in (in the browser).
    LinkRequired,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mfa_token: Option<&'a str>,
}

impl OAuthError {
    /// The status, the RFC 6749 `error` code, the description and, for a `429` or `503`,
    /// the seconds to wait: what the token endpoint answers, for other front doors (the
    /// hosted pages) to show the same.
    pub fn describe(&self) -> (StatusCode, &'static str, String, Option<u64>) {
        let retry_after = match &self {
            Self::TooManyAttempts { retry_after } | Self::SourceThrottled { retry_after } => Some(
                shared::abuse::login_failures::retry_after_seconds(*retry_after),
            ),
            Self::ServiceUnavailable | Self::HookFailed => Some(5),
            _ => None,
        };
        let locked_description;
        let (status, error, description) = match self {
            Self::InvalidRequest(description) => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                description.as_str(),
            ),
            Self::InvalidSubjectToken(description) => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                description.as_str(),
            ),
            Self::LinkRequired => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "an account here already uses the address this id_token asserts, and it may not be linked without its owner: sign in to that account in the browser and link this provider there first",
            ),
            Self::InvalidGrant => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "invalid username or password",
            ),
            Self::InvalidRefreshToken => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the refresh token is invalid, expired or revoked",
            ),
            Self::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code, password, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange, urn:lambda-auth:params:oauth:grant-type:mfa or urn:lambda-auth:params:oauth:grant-type:passkey",
            ),
            Self::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            ),
            Self::InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the requested scope is not one this client may have",
            ),
            Self::MfaRequired { .. } => (
                StatusCode::FORBIDDEN,
                "mfa_required",
                "this account has two-factor authentication: send the mfa_token with otp, recovery_code or passkey using grant_type urn:lambda-auth:params:oauth:grant-type:mfa",
            ),
            Self::InvalidMfaToken => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the mfa_token is invalid, expired or used; sign in again with the password",
            ),
            Self::InvalidSecondFactor => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the authenticator code or recovery code is wrong or already used",
            ),
            Self::InvalidAuthorizationCode => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the authorization code is invalid, expired or used, or does not match this client, redirect_uri or code_verifier",
            ),
            Self::InvalidPasskey => (
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the passkey could not be verified; ask for new options and try again",
            ),
            Self::TooManyAttempts { .. } => {
                locked_description = format!(
                    "too many failed logins for this username; retry in {} seconds",
                    retry_after.unwrap_or(1)
                );
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    locked_description.as_str(),
                )
            }
            Self::SourceThrottled { .. } => {
                locked_description = format!(
                    "too many failed logins from your network; retry in {} seconds",
                    retry_after.unwrap_or(1)
                );
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    locked_description.as_str(),
                )
            }
            Self::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "request body is too large",
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded",
            ),
            Self::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal server error",
            ),
            Self::ServiceUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "the service is temporarily unavailable; retry shortly",
            ),
            Self::HookFailed => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "the tokens could not be issued (a hook failed); sign in again shortly",
            ),
        };
        (status, error, description.to_owned(), retry_after)
    }

    /// The status and `{"error","error_description"}` body.
    pub fn into_response(self) -> Response<Body> {
        let (status, error, description, retry_after) = self.describe();
        let description = description.as_str();
        let mut response = no_store(json_response(
            status,
            &ErrorBody {
                error,
                error_description: description,
                mfa_token: match &self {
                    Self::MfaRequired { mfa_token } => Some(mfa_token),
                    _ => None,
                },
            },
        ));
        if self == Self::InvalidClient {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The successful token response.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The signed JWT.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token; exchange it with `grant_type=refresh_token`. None for a
    /// machine client, which asks again with its credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The scopes the access token grants, space-separated; absent when it grants none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The OpenID Connect id_token, for an authorization code granted with `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// The RFC 7009 answer: `200` with an empty JSON object, whatever was revoked.
pub fn revoked() -> Response<Body> {
    no_store(json_response(StatusCode::OK, &serde_json::json!({})))
}

impl TokenResponse {
    /// `200` with the token, never cached.
    pub fn into_response(self) -> Response<Body> {
        no_store(json_response(StatusCode::OK, &self))
    }
}

fn no_store(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
