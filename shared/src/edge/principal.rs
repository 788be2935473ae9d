//! The caller as established by the API Gateway Lambda authorizer. Protected functions run
//! only behind the authorizer, which puts the principal and its context into
//! `requestContext.authorizer`; they then load the caller's account to apply its current state.
//!
//! API Gateway caches the authorizer's Allow per token (`AuthorizerCacheTtl`), so a token
//! first used just before it expires would still be let through after it. The context carries
//! `exp`, and every protected function refuses an expired token itself.

use crate::factors::second_factors::{SecondFactor, SecondFactorStore};
use crate::identity::account_id::AccountId;
use crate::identity::users::{User, UserStore};
use crate::platform::http::ApiError;
use crate::tokens::CLOCK_SKEW_LEEWAY_SECONDS;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Who the authorizer says is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The authorizer's `principalId`: the id of the account the token was issued to.
    pub account: AccountId,
    /// The access token's `jti`, when the authorizer passed it on.
    pub token_id: Option<String>,
    /// The token version the access token carries (`ver`; 0 when absent).
    pub token_version: u64,
    /// When the access token expires (`exp`).
    pub expires_at: SystemTime,
    /// How the user authenticated (`amr`, RFC 8176), empty when the context has none.
    pub methods: Vec<String>,
    /// When the user authenticated (`auth_time`), if the context says.
    pub authenticated_at: Option<SystemTime>,
    /// The session (refresh-token family) the access token belongs to, if it names one.
    pub session: Option<String>,
    /// The scopes the access token carries (`scope`).
    pub scopes: crate::access::scopes::Scopes,
    /// The relying party (or machine client) the token was issued to (`client_id`), if any:
    /// none for a token of the password, passkey or MFA grants.
    pub client: Option<String>,
}

/// A context number: API Gateway may pass context values on as strings, so both are read.
fn context_number(value: Option<&serde_json::Value>) -> Option<u64> {
    match value? {
        serde_json::Value::Number(number) => number.as_u64(),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Reads the authorizer's principal from a REST API proxy request: 401 when there is none,
/// when it names no account id, when the context has no `exp` or when the token has expired
/// by `now` (with the verifier's clock-skew leeway).
pub fn principal(request: &Request, now: SystemTime) -> Result<Principal, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let fields = &context.authorizer.fields;
    require_route_scopes(request, fields)?;
    let text = |key: &str| {
        fields
            .get(key)
            .and_then(|value| value.as_str())
            .map(str::to_owned)
    };
    let principal_id = text("principalId").ok_or(ApiError::Unauthenticated)?;
    let account = AccountId::parse(&principal_id).ok_or_else(|| {
        tracing::info!("authorizer principal is not an account id: token from before account ids");
        ApiError::Unauthenticated
    })?;
    let Some(exp) = context_number(fields.get("exp")) else {
        tracing::warn!(account = %account, "authorizer context has no exp: refused");
        return Err(ApiError::Unauthenticated);
    };
    let expires_at = UNIX_EPOCH + Duration::from_secs(exp);
    if expires_at + Duration::from_secs(CLOCK_SKEW_LEEWAY_SECONDS) <= now {
        tracing::info!(account = %account, "expired access token refused behind a cached Allow");
        return Err(ApiError::Unauthenticated);
    }
    Ok(Principal {
        account,
        token_id: text("jti"),
        token_version: context_number(fields.get("ver")).unwrap_or(0),
        expires_at,
        methods: text("amr")
            .map(|methods| methods.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        authenticated_at: context_number(fields.get("auth_time"))
            .filter(|seconds| *seconds > 0)
            .map(|seconds| UNIX_EPOCH + Duration::from_secs(seconds)),
        session: text("sid").filter(|sid| !sid.is_empty()),
        scopes: crate::access::scopes::Scopes::parse(text("scope").as_deref().unwrap_or_default()),
        client: text("client_id").filter(|client| !client.is_empty()),
    })
}

/// The answer to a token the route's requirement does not allow.
pub const INSUFFICIENT_SCOPE: ApiError = ApiError::Refused {
    code: "insufficient_scope",
    message: "the access token does not carry the scopes this route requires",
};

/// The scopes the caller's access token carries, as the authorizer passed them on.
pub fn token_scopes(request: &Request) -> crate::access::scopes::Scopes {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return crate::access::scopes::Scopes::none();
    };
    crate::access::scopes::Scopes::parse(
        context
            .authorizer
            .fields
            .get("scope")
            .and_then(|value| value.as_str())
            .unwrap_or_default(),
    )
}

/// Checks the route's requirement in [`crate::access::scopes::PROTECTED_ROUTES`] (the table the
/// authorizer writes its policies from) against the authorizer's context: the kind of
/// token (`client_id` set: a machine client's) and its `scope`. The authorizer stays the
/// gate; this refuses a token the route does not allow when a function is reached some other
/// way (a template route pointed at the wrong function, a direct invocation). A route the
/// table does not protect is refused too: no function reads a caller on a public route.
/// `403 insufficient_scope`.
fn require_route_scopes(
    request: &Request,
    fields: &std::collections::HashMap<String, serde_json::Value>,
) -> Result<(), ApiError> {
    use crate::access::scopes::{Caller, PROTECTED_ROUTES, Scopes};
    let text = |key: &str| fields.get(key).and_then(|value| value.as_str());
    let caller = match text("client_id") {
        Some(client) if crate::access::client_id::ClientId::parse(client).is_some() => {
            Caller::Client
        }
        Some(client) if crate::access::client_id::RelyingPartyId::parse(client).is_some() => {
            Caller::RelyingParty
        }
        _ => Caller::User,
    };
    let scopes = Scopes::parse(text("scope").unwrap_or_default());
    let path = crate::platform::http::resource_path(request);
    let method = request.method().as_str();
    let route = PROTECTED_ROUTES
        .iter()
        .find(|route| route.method == method && route.path == path);
    if route.is_some_and(|route| route.allows(caller, &scopes)) {
        return Ok(());
    }
    tracing::warn!(method, path, ?caller, %scopes, "refused: the route's scopes are not met (was the authorizer bypassed?)");
    Err(INSUFFICIENT_SCOPE)
}

/// The caller's current account: 401 without a valid principal, for an expired token, or
/// when the token predates the account's token version (logout-everywhere, password change);
/// 403 when the account is gone or disabled; 503/500 when the store fails.
pub async fn authenticated_user(
    store: &impl UserStore,
    request: &Request,
    now: SystemTime,
) -> Result<User, ApiError> {
    let principal = principal(request, now)?;
    let account = &principal.account;
    let user = store
        .find_by_id(account)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    match user {
        Some(user) if user.token_version > principal.token_version => {
            tracing::info!(account = %account, "revoked access token refused");
            Err(ApiError::Unauthenticated)
        }
        Some(user) if !user.disabled => Ok(user),
        Some(_) => {
            tracing::info!(account = %account, "disabled user refused");
            Err(ApiError::Forbidden)
        }
        None => {
            tracing::info!(account = %account, "token for a deleted account refused");
            Err(ApiError::Forbidden)
        }
    }
}

/// The caller's principal, its current account ([`authenticated_user`]) and the account's
/// second factor (confirmed or pending), the account and the factor read in one round trip.
pub async fn caller_with_second_factor<S: crate::stores::Stores>(
    stores: &S,
    request: &Request,
    now: SystemTime,
) -> Result<(Principal, User, Option<SecondFactor>), ApiError> {
    let caller = principal(request, now)?;
    let (user, factor) = tokio::join!(
        authenticated_user(stores.users(), request, now),
        stores.second_factors().find(&caller.account)
    );
    let user = user?;
    let factor = factor.map_err(|error| ApiError::from_store(&error))?;
    Ok((caller, user, factor))
}

/// Who calls a route that machine clients may call too.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An account, as [`authenticated_user`] reads it.
    Account(User),
    /// A machine client that still exists.
    Client(crate::access::clients::MachineClient),
}

impl Caller {
    /// The account or client id, for logs.
    pub fn id(&self) -> &str {
        match self {
            Self::Account(user) => user.id.as_str(),
            Self::Client(client) => client.id.as_str(),
        }
    }
}

/// The caller of a route open to machine clients: a client's token (the authorizer's
/// `client_id` equal to its principal) names a client that must still exist (`403` once
/// deleted, `401` once expired) and a secret (`sid`) it still has (`401` once removed); any other token is an account's, read by
/// [`authenticated_user`]. Either way the token's scopes must all still be granted: by the
/// client, or by the account's roles as `roles` defines them now (`401` otherwise, for a
/// token issued before `ROLES` changed).
pub async fn authenticated_caller<S: crate::stores::Stores>(
    stores: &S,
    roles: &crate::access::roles::Roles,
    request: &Request,
    now: SystemTime,
) -> Result<Caller, ApiError> {
    let caller = identified_caller(stores, request, now).await?;
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let carried = crate::access::scopes::Scopes::parse(
        context
            .authorizer
            .fields
            .get("scope")
            .and_then(|value| value.as_str())
            .unwrap_or_default(),
    );
    let granted = match &caller {
        Caller::Account(user) => roles.scopes_for(&user.roles),
        Caller::Client(client) => client.scopes.clone(),
    };
    // OpenID Connect's own scopes and `account` (a relying party's token) are no roles' to
    // grant.
    let carried: crate::access::scopes::Scopes = carried
        .iter()
        .filter(|scope| !crate::access::relying_parties::USER_GRANTED_SCOPES.contains(scope))
        .map(str::to_owned)
        .collect();
    if !carried.is_subset(&granted) {
        tracing::info!(
            caller = caller.id(),
            "token refused: it carries scopes no longer granted"
        );
        return Err(ApiError::Unauthenticated);
    }
    Ok(caller)
}

async fn identified_caller<S: crate::stores::Stores>(
    stores: &S,
    request: &Request,
    now: SystemTime,
) -> Result<Caller, ApiError> {
    use crate::access::clients::{ClientId, ClientStore};
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let fields = &context.authorizer.fields;
    let text = |key: &str| fields.get(key).and_then(|value| value.as_str());
    let client = text("client_id").filter(|client| !client.is_empty());
    require_route_scopes(request, fields)?;
    let relying_party = client
        .is_some_and(|client| crate::access::client_id::RelyingPartyId::parse(client).is_some());
    let Some(client) = client.filter(|_| !relying_party) else {
        return authenticated_user(stores.users(), request, now)
            .await
            .map(Caller::Account);
    };
    let id = ClientId::parse(client)
        .filter(|id| text("principalId") == Some(id.as_str()))
        .ok_or(ApiError::Unauthenticated)?;
    let exp = context_number(fields.get("exp")).ok_or(ApiError::Unauthenticated)?;
    if UNIX_EPOCH + Duration::from_secs(exp) + Duration::from_secs(CLOCK_SKEW_LEEWAY_SECONDS) <= now
    {
        tracing::info!(client = %id, "expired client token refused behind a cached Allow");
        return Err(ApiError::Unauthenticated);
    }
    let secret = text("sid").unwrap_or_default();
    match stores
        .clients()
        .find(&id)
        .await
        .map_err(|error| ApiError::from_store(&error))?
    {
        Some(client) if client.secrets.iter().any(|stored| stored.id == secret) => {
            Ok(Caller::Client(client))
        }
        Some(_) => {
            tracing::info!(client = %id, "token of a removed client secret refused");
            Err(ApiError::Unauthenticated)
        }
        None => {
            tracing::info!(client = %id, "token of a deleted client refused");
            Err(ApiError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event_json, request_from};

    #[test]
    fn the_context_says_how_and_when_the_user_authenticated() {
        let mut event = event_json("me.json");
        let context = &mut event["requestContext"]["authorizer"];
        context["amr"] = "pwd otp".into();
        context["auth_time"] = "1795926600".into();
        let caller = principal(&request_from(&event), SystemTime::now()).unwrap();
        assert_eq!(caller.methods, ["pwd", "otp"]);
        assert_eq!(
            caller.authenticated_at,
            Some(UNIX_EPOCH + Duration::from_secs(1_795_926_600))
        );

        let mut older = event_json("me.json");
        let context = older["requestContext"]["authorizer"]
            .as_object_mut()
            .unwrap();
        context.remove("amr");
        context.remove("auth_time");
        let without = principal(&request_from(&older), SystemTime::now()).unwrap();
        assert!(without.methods.is_empty());
        assert_eq!(without.authenticated_at, None, "older contexts say nothing");
    }

    #[test]
    fn a_token_without_the_routes_scopes_is_refused_even_past_the_authorizer() {
        let allowed = event_json("products-create.json");
        let scope = allowed["requestContext"]["authorizer"]["scope"].clone();
        assert!(
            scope.as_str().unwrap().contains("products:write"),
            "{scope}"
        );
        assert!(principal(&request_from(&allowed), SystemTime::now()).is_ok());

        let mut without = allowed.clone();
        without["requestContext"]["authorizer"]["scope"] = "".into();
        assert_eq!(
            principal(&request_from(&without), SystemTime::now()),
            Err(INSUFFICIENT_SCOPE)
        );

        let mut admin_route = event_json("admin-list.json");
        admin_route["requestContext"]["authorizer"]["scope"] = "products:write".into();
        assert_eq!(
            principal(&request_from(&admin_route), SystemTime::now()),
            Err(INSUFFICIENT_SCOPE)
        );

        let mut public_route = event_json("me.json");
        public_route["requestContext"]["resourcePath"] = "/signup".into();
        public_route["requestContext"]["httpMethod"] = "POST".into();
        public_route["httpMethod"] = "POST".into();
        public_route["resource"] = "/signup".into();
        assert_eq!(
            principal(&request_from(&public_route), SystemTime::now()),
            Err(INSUFFICIENT_SCOPE),
            "no function reads a caller on a public route"
        );
    }
}
