//! The caller as established by the API Gateway Lambda authorizer. Protected functions run
//! only behind the authorizer, which puts the principal and its context into
//! `requestContext.authorizer`; they then load the caller's account to apply its current state.

use crate::credentials::Username;
use crate::http::ApiError;
use crate::users::{User, UserStore};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Who the authorizer says is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The authorizer's `principalId`: the username the token was issued to.
    pub username: Username,
    /// The access token's `jti`, when the authorizer passed it on.
    pub token_id: Option<String>,
    /// The token version the access token carries (`ver`; 0 when absent). API Gateway may
    /// pass context numbers on as strings, so both forms are read.
    pub token_version: u64,
}

/// Reads the authorizer's principal from a REST API proxy request: 401 when there is none,
/// 403 when its `principalId` is not a valid username.
pub fn principal(request: &Request) -> Result<Principal, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let fields = &context.authorizer.fields;
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    let principal_id = text("principalId")
        .filter(|name| !name.is_empty())
        .ok_or(ApiError::Unauthenticated)?;
    let username = Username::parse(&principal_id).map_err(|_| {
        tracing::warn!("authorizer principal is not a valid username");
        ApiError::Forbidden
    })?;
    let token_version = match fields.get("ver") {
        Some(serde_json::Value::Number(number)) => number.as_u64(),
        Some(serde_json::Value::String(text)) => text.parse().ok(),
        _ => None,
    }
    .unwrap_or(0);
    Ok(Principal {
        username,
        token_id: text("jti"),
        token_version,
    })
}

/// The caller's current account: 401 without a principal or when the token predates the
/// account's token version (logout-everywhere, password change), 403 when the account is
/// missing, disabled or not a valid username, 503/500 when the store fails.
pub async fn authenticated_user(
    store: &impl UserStore,
    request: &Request,
) -> Result<User, ApiError> {
    let principal = principal(request)?;
    let username = &principal.username;
    let user = store
        .find(username)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    match user {
        Some(user) if user.token_version > principal.token_version => {
            tracing::info!(username = %username, "revoked access token refused");
            Err(ApiError::Unauthenticated)
        }
        Some(user) if !user.disabled => Ok(user),
        Some(_) => {
            tracing::info!(username = %username, "disabled user refused");
            Err(ApiError::Forbidden)
        }
        None => {
            tracing::info!(username = %username, "token for unknown user refused");
            Err(ApiError::Forbidden)
        }
    }
}
