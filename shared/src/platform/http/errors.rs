//! The one JSON error shape of every endpoint except `/token` (which speaks RFC 6749).

use super::request::BodyError;
use super::{MAX_BODY_BYTES, json_response};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

/// Every error a non-`/token` endpoint can answer, with its status and public message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not well-formed (not UTF-8, not JSON).
    #[error("{0}")]
    MalformedBody(String),
    /// 401: the request reached the function without an authenticated caller.
    #[error("authentication required")]
    Unauthenticated,
    /// 403: the caller is authenticated but may not use the API (unknown or disabled account).
    #[error("access denied")]
    Forbidden,
    /// 403: the current password given to confirm a sensitive change is wrong.
    #[error("current password is wrong")]
    WrongPassword,
    /// 403: a sensitive change needs a recent login (the access token's `auth_time` within
    /// `max_age_seconds`) and, when the account has a second factor, a code from it in the
    /// same request (RFC 9470's model). `WWW-Authenticate` carries the same error.
    #[error("{}", insufficient_message(*.second_factor_missing))]
    InsufficientUserAuthentication {
        /// How recent the login must be.
        max_age_seconds: u64,
        /// The login is recent but the request lacks the second factor.
        second_factor_missing: bool,
    },
    /// 403: the authenticator code or recovery code given is wrong, expired or already used.
    #[error("the authenticator code or recovery code is wrong or already used")]
    WrongSecondFactor,
    /// 403: the caller may not do this in their situation (the admin API without a second
    /// factor, disabling the last administrator).
    #[error("{message}")]
    Refused {
        /// The machine-readable code.
        code: &'static str,
        /// What is wrong and what to do.
        message: &'static str,
    },
    /// 404: the function does not serve the route the request came through (a template
    /// route pointed at the wrong function).
    #[error("no such route")]
    NotFound,
    /// 403: the operator's pre-sign-up hook refused the sign-up; its message says why.
    #[error("{0}")]
    SignUpRefused(String),
    /// 409: the username is already registered.
    #[error("username is already taken")]
    UsernameTaken,
    /// 404: the path names something the caller has not (or that does not exist).
    #[error("{message}")]
    NoSuchResource {
        /// The machine-readable code.
        code: &'static str,
        /// What was not found.
        message: &'static str,
    },
    /// 409: the request does not fit the account's state (for example enrolling a second
    /// factor when one is on).
    #[error("{message}")]
    Conflict {
        /// The machine-readable code.
        code: &'static str,
        /// What is wrong and what to do.
        message: &'static str,
    },
    /// 413: the body exceeds [`MAX_BODY_BYTES`].
    #[error("request body exceeds {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    /// 415: the body is not of the one media type the endpoint accepts.
    #[error("Content-Type must be {0}")]
    UnsupportedMediaType(&'static str),
    /// 422: a field is missing or breaks its rules.
    #[error("{message}")]
    InvalidField {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// 429: repeated wrong passwords locked the username; `Retry-After` says for how long.
    #[error("too many failed attempts; retry in {retry_after_seconds} seconds")]
    TooManyAttempts {
        /// Whole seconds until the lock ends.
        retry_after_seconds: u64,
    },
    /// 429: a rate limit on mail or code redemptions; `Retry-After` says when.
    #[error("too many requests; retry in {retry_after_seconds} seconds")]
    RateLimited {
        /// Whole seconds until the limit's window ends.
        retry_after_seconds: u64,
    },
    /// 400: an emailed code that is wrong, expired or already used (one answer for all).
    #[error("the code is wrong, expired or already used")]
    InvalidCode,
    /// 400: a WebAuthn response that does not verify, answers no live challenge of the
    /// caller's, or was already used (one answer for all).
    #[error("the passkey response is invalid, expired or already used; start again")]
    InvalidPasskey,
    /// 503: the mail service could not take the message; nothing was changed.
    #[error("the email could not be sent; nothing was changed, retry shortly")]
    EmailUnavailable,
    /// 500: a failure on our side. The cause goes to the log, never to the caller.
    #[error("internal server error")]
    Internal,
    /// 503: the database cannot be reached right now; retrying later will work.
    #[error("the service is temporarily unavailable; retry shortly")]
    ServiceUnavailable,
}

impl ApiError {
    /// The HTTP status for this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) | Self::InvalidCode | Self::InvalidPasskey => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden
            | Self::WrongPassword
            | Self::InsufficientUserAuthentication { .. }
            | Self::WrongSecondFactor
            | Self::Refused { .. }
            | Self::SignUpRefused(_) => StatusCode::FORBIDDEN,
            Self::TooManyAttempts { .. } | Self::RateLimited { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::NotFound | Self::NoSuchResource { .. } => StatusCode::NOT_FOUND,
            Self::UsernameTaken | Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ServiceUnavailable | Self::EmailUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The machine-readable error code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedBody(_) => "malformed_body",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::WrongPassword => "wrong_password",
            Self::InsufficientUserAuthentication { .. } => "insufficient_user_authentication",
            Self::WrongSecondFactor => "wrong_second_factor",
            Self::Conflict { code, .. }
            | Self::NoSuchResource { code, .. }
            | Self::Refused { code, .. } => code,
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::RateLimited { .. } => "rate_limited",
            Self::InvalidCode => "invalid_code",
            Self::InvalidPasskey => "invalid_passkey",
            Self::EmailUnavailable => "email_unavailable",
            Self::NotFound => "not_found",
            Self::UsernameTaken => "username_taken",
            Self::SignUpRefused(_) => "sign_up_refused",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::InvalidField { .. } => "validation_failed",
            Self::Internal => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The answer for a failed store call: 503 when the database is unreachable, else 500.
    /// The cause is logged here, once.
    #[cfg(feature = "database")]
    pub fn from_store(error: &crate::platform::database::StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "database unavailable");
            Self::ServiceUnavailable
        } else {
            tracing::error!(%error, "database operation failed");
            Self::Internal
        }
    }

    /// `{"error": code, "message": text}` plus `"field"` for validation errors.
    pub fn into_response(self) -> Response<Body> {
        let mut body = json!({ "error": self.code(), "message": self.to_string() });
        if let Self::InvalidField { field, .. } = &self {
            body["field"] = json!(field);
        }
        if let Self::InsufficientUserAuthentication {
            max_age_seconds, ..
        } = &self
        {
            body["max_age"] = json!(max_age_seconds);
        }
        let mut response = json_response(self.status(), &body);
        if self == Self::Unauthenticated {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Self::InsufficientUserAuthentication {
            max_age_seconds, ..
        } = &self
        {
            let challenge = format!(
                "Bearer error=\"insufficient_user_authentication\", error_description=\"{}\", max_age={max_age_seconds}",
                self
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if self == Self::ServiceUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if self == Self::EmailUnavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        }
        if let Self::TooManyAttempts {
            retry_after_seconds,
        }
        | Self::RateLimited {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

fn insufficient_message(second_factor_missing: bool) -> &'static str {
    if second_factor_missing {
        "this change needs a code from your authenticator app (otp) or a recovery code (recovery_code) in the request"
    } else {
        "this change needs a recent login: sign in again with your password (and second factor) and retry"
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::NotUtf8 => Self::MalformedBody(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_one_json_shape_and_their_status() {
        let response = ApiError::InvalidField {
            field: "username",
            message: "too short".into(),
        }
        .into_response();
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()["content-type"], "application/json");
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            body,
            json!({"error": "validation_failed", "message": "too short", "field": "username"})
        );
    }

    #[test]
    fn unauthenticated_answers_carry_a_bearer_challenge() {
        let response = ApiError::Unauthenticated.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }

    #[test]
    fn insufficient_authentication_says_how_recent_in_body_and_challenge() {
        let response = ApiError::InsufficientUserAuthentication {
            max_age_seconds: 600,
            second_factor_missing: false,
        }
        .into_response();
        assert_eq!(response.status(), 403);
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_user_authentication\"")
                && challenge.ends_with("max_age=600"),
            "{challenge}"
        );
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["error"], "insufficient_user_authentication");
        assert_eq!(body["max_age"], 600);
    }

    #[test]
    fn internal_errors_reveal_nothing() {
        let response = ApiError::Internal.into_response();
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert_eq!(
            text,
            r#"{"error":"internal_error","message":"internal server error"}"#
        );
    }
}
