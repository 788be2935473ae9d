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
    pub username: String,
    /// The access token's `jti`, when the authorizer passed it on.
    pub token_id: Option<String>,
}

/// Reads the authorizer's principal from a REST API proxy request, if there is one.
pub fn principal(request: &Request) -> Option<Principal> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return None;
    };
    let fields = &context.authorizer.fields;
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    let username = text("principalId").filter(|name| !name.is_empty())?;
    Some(Principal {
        username,
        token_id: text("jti"),
    })
}

/// The caller's current account: 401 without a principal, 403 when the account is missing,
/// disabled or not a valid username, 500 when the store fails.
pub async fn authenticated_user(
    store: &impl UserStore,
    request: &Request,
) -> Result<User, ApiError> {
    let principal = principal(request).ok_or(ApiError::Unauthenticated)?;
    let username = Username::parse(&principal.username).map_err(|_| {
        tracing::warn!("authorizer principal is not a valid username");
        ApiError::Forbidden
    })?;
    let user = store
        .find(&username)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    match user {
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
