//! The API Gateway REST API TOKEN authorizer. It verifies the bearer token with public keys
//! only and answers a policy that names every protected route of the stage, allowing those
//! the token's scopes allow, so API Gateway's cached decision is right for every route. Any
//! token problem fails the invocation with `Unauthorized`, which API Gateway turns into a 401.

pub mod policy;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerResponse,
};
use serde_json::json;
use shared::access::client_id::{ClientId, RelyingPartyId};
use shared::access::scopes::{Caller, Scopes};
use shared::identity::account_id::AccountId;
use shared::tokens::TokenVerifier;

/// The only failure an authorizer reports: API Gateway maps exactly this message to 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unauthorized")
    }
}

impl From<Unauthorized> for lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "Unauthorized".to_owned(),
            error_message: "Unauthorized".to_owned(),
        }
    }
}

/// What the authorizer needs, built once per execution environment.
pub struct State {
    /// Checks signatures and claims with the public keys of `JWT_PUBLIC_KEY`.
    pub verifier: TokenVerifier,
    /// The token settings: the issuer tokens must name (configured, or the API's own URL
    /// read from the method ARN).
    pub settings: shared::tokens::TokenSettings,
    /// The protected routes' resource ARNs, written once per stage.
    pub resources: policy::RouteResources,
}

impl State {
    /// The state for `verifier` and `settings`.
    pub fn new(verifier: TokenVerifier, settings: shared::tokens::TokenSettings) -> Self {
        Self {
            verifier,
            settings,
            resources: policy::RouteResources::default(),
        }
    }
}

/// Decides one authorization request.
///
/// - no `Bearer` token, or a token that fails verification: `Err(Unauthorized)` (401);
/// - a genuine token whose subject is neither an account id (alone, or with a relying
///   party's `client_id`: a user's token from the authorization-code flow) nor (with a
///   matching `client_id`) a machine client's id: an explicit Deny for the whole stage (403);
/// - otherwise a policy naming every protected route of the stage ([`PROTECTED_ROUTES`]):
///   Allow for those the kind of token (a user's or a client's) may call with the scopes in
///   its `scope`, Deny for the rest, so the answer API Gateway caches for the token is right
///   for every route. `principalId` is the account or client id, and the context `{jti,
///   ver, exp, amr, auth_time, sid, scope, client_id}` is what
///   the protected functions read: `ver` is the token version they compare with the
///   account's, `exp` lets them refuse an expired token that API Gateway's cached Allow
///   still lets through, `amr` (space-separated, as context values are scalars) and
///   `auth_time` say how and when the user authenticated, `sid` names the session the token
///   belongs to (empty for a token outside one), `scope` is what it may do.
///
/// [`PROTECTED_ROUTES`]: shared::access::scopes::PROTECTED_ROUTES
pub fn authorize(
    state: &State,
    request: &ApiGatewayCustomAuthorizerRequest,
) -> Result<ApiGatewayCustomAuthorizerResponse, Unauthorized> {
    let Some(token) = request
        .authorization_token
        .as_deref()
        .and_then(bearer_token)
    else {
        tracing::info!("refused: no bearer token");
        return Err(Unauthorized);
    };
    let method_arn = request.method_arn.as_deref();
    let (Some(stage), Some(issuer)) = (
        method_arn.and_then(policy::Stage::of_method_arn),
        state
            .settings
            .issuer_for(method_arn.and_then(shared::tokens::issuer::of_method_arn)),
    ) else {
        tracing::error!(method_arn = ?request.method_arn, "refused: unusable methodArn");
        return Err(Unauthorized);
    };
    let claims = state
        .verifier
        .verify_from(token, &issuer)
        .map_err(|reason| {
            tracing::info!(%reason, "refused: token rejected");
            Unauthorized
        })?;
    let caller = match claims.client_id.as_deref() {
        None if AccountId::parse(&claims.sub).is_some() => Caller::User,
        Some(client)
            if AccountId::parse(&claims.sub).is_some()
                && RelyingPartyId::parse(client).is_some() =>
        {
            Caller::RelyingParty
        }
        Some(client) if client == claims.sub && ClientId::parse(client).is_some() => Caller::Client,
        _ => {
            tracing::warn!(jti = %claims.jti, "denied: token subject is neither an account nor a client");
            return Ok(policy::deny(&claims.sub, stage.everything()));
        }
    };
    let scopes = Scopes::parse(&claims.scope);
    let resources = state.resources.of(&stage);
    let (allowed, denied) = policy::Stage::split_routes(&resources, caller, &scopes);
    tracing::info!(subject = %claims.sub, jti = %claims.jti, scope = %scopes, routes_allowed = allowed.len(), routes_denied = denied.len(), "allowed");
    Ok(policy::allow(
        &claims.sub,
        allowed,
        denied,
        json!({
            "jti": claims.jti,
            "ver": claims.ver,
            "exp": claims.exp,
            "amr": claims.amr.join(" "),
            "auth_time": claims.auth_time,
            "sid": claims.sid.unwrap_or_default(),
            "scope": scopes.to_string(),
            "client_id": claims.client_id.unwrap_or_default(),
        }),
    ))
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive.
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens_are_extracted_case_insensitively() {
        let cases = [
            ("Bearer abc.def.ghi", Some("abc.def.ghi")),
            ("bearer abc.def.ghi", Some("abc.def.ghi")),
            ("BEARER abc", Some("abc")),
            ("Basic dXNlcjpwYXNz", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("abc.def.ghi", None),
            ("Bearer a b", None),
        ];
        for (header, expected) in cases {
            assert_eq!(bearer_token(header), expected, "{header:?}");
        }
    }
}
