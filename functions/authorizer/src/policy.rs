//! IAM policies for API Gateway authorizer responses. API Gateway caches one answer per token
//! and applies it to every route the token calls next, so a policy names every protected
//! route of the stage: Allow for those the token's scopes allow, Deny for the rest.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::Value;
use shared::access::scopes::{Caller, PROTECTED_ROUTES, Scopes};

/// The stage a method ARN belongs to: `arn:aws:execute-api:{region}:{account}:{api}/{stage}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage(String);

/// The resource ARNs of [`PROTECTED_ROUTES`] for the stage last asked about, in the table's
/// order: an instance serves one stage, so they are written once, not on every request.
#[derive(Debug, Default)]
pub struct RouteResources(std::sync::Mutex<Option<(Stage, std::sync::Arc<[String]>)>>);

impl RouteResources {
    /// The ARN of every protected route of `stage`.
    pub fn of(&self, stage: &Stage) -> std::sync::Arc<[String]> {
        let mut cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((known, resources)) = cached.as_ref()
            && known == stage
        {
            return resources.clone();
        }
        let resources: std::sync::Arc<[String]> = PROTECTED_ROUTES
            .iter()
            .map(|route| format!("{}/{}", stage.0, route.resource))
            .collect();
        *cached = Some((stage.clone(), resources.clone()));
        resources
    }
}

impl Stage {
    /// The stage of `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{verb}/{path}`.
    pub fn of_method_arn(method_arn: &str) -> Option<Self> {
        let (prefix, resource) = method_arn.rsplit_once(':')?;
        if !prefix.starts_with("arn:") || prefix.split(':').count() != 5 {
            return None;
        }
        let mut parts = resource.split('/');
        let (api, stage) = (parts.next()?, parts.next()?);
        if api.is_empty() || stage.is_empty() || stage.contains('*') || api.contains('*') {
            return None;
        }
        Some(Self(format!("{prefix}:{api}/{stage}")))
    }

    /// Every method and path of the stage: `{stage}/*`.
    pub fn everything(&self) -> String {
        format!("{}/*", self.0)
    }

    /// The resources of the protected routes a token of `caller` with `scopes` may call,
    /// and of those it may not, taken from `resources` ([`RouteResources::of`] this stage).
    pub fn split_routes(
        resources: &[String],
        caller: Caller,
        scopes: &Scopes,
    ) -> (Vec<String>, Vec<String>) {
        let mut allowed = Vec::with_capacity(resources.len());
        let mut denied = Vec::new();
        for (route, resource) in PROTECTED_ROUTES.iter().zip(resources) {
            if route.allows(caller, scopes) {
                allowed.push(resource.clone());
            } else {
                denied.push(resource.clone());
            }
        }
        (allowed, denied)
    }
}

/// Allow on `allowed` and Deny on `denied` (each statement left out when its list is
/// empty), with `context` passed to the protected functions.
pub fn allow(
    principal: &str,
    allowed: Vec<String>,
    denied: Vec<String>,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let statements = [
        (IamPolicyEffect::Allow, allowed),
        (IamPolicyEffect::Deny, denied),
    ]
    .into_iter()
    .filter(|(_, resources)| !resources.is_empty())
    .map(|(effect, resources)| statement(effect, resources))
    .collect();
    response(principal, statements, context)
}

/// An explicit Deny for `resource` (API Gateway answers 403).
pub fn deny(principal: &str, resource: String) -> ApiGatewayCustomAuthorizerResponse {
    response(
        principal,
        vec![statement(IamPolicyEffect::Deny, vec![resource])],
        Value::Object(Default::default()),
    )
}

fn statement(effect: IamPolicyEffect, resources: Vec<String>) -> IamPolicyStatement {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = resources;
    statement
}

fn response(
    principal: &str,
    statements: Vec<IamPolicyStatement>,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = statements;
    let mut response = ApiGatewayCustomAuthorizerResponse::default();
    response.principal_id = Some(principal.to_owned());
    response.policy_document = policy;
    response.context = context;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_arns_give_their_stage() {
        let cases = [
            (
                "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/users/me",
                Some("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*"),
            ),
            (
                "arn:aws:execute-api:us-east-1:123456789012:xyz/dev/POST/",
                Some("arn:aws:execute-api:us-east-1:123456789012:xyz/dev/*"),
            ),
            (
                "arn:aws:execute-api:us-east-1:123456789012:xyz/*/GET/",
                None,
            ),
            ("arn:aws:execute-api:us-east-1:123456789012:xyz", None),
            ("not-an-arn", None),
            ("", None),
        ];
        for (arn, expected) in cases {
            assert_eq!(
                Stage::of_method_arn(arn)
                    .map(|stage| stage.everything())
                    .as_deref(),
                expected,
                "{arn}"
            );
        }
    }

    #[test]
    fn the_statements_say_allow_and_deny_explicitly() {
        let json = serde_json::to_value(deny("bob", "arn:x".to_owned())).unwrap();
        assert_eq!(json["policyDocument"]["Statement"][0]["Effect"], "Deny");
        let json = serde_json::to_value(allow(
            "bob",
            vec!["arn:a".to_owned()],
            vec!["arn:d".to_owned()],
            Value::Null,
        ))
        .unwrap();
        let statements = &json["policyDocument"]["Statement"];
        assert_eq!(statements[0]["Effect"], "Allow");
        assert_eq!(statements[0]["Action"][0], "execute-api:Invoke");
        assert_eq!(statements[0]["Resource"][0], "arn:a");
        assert_eq!(statements[1]["Effect"], "Deny");
        assert_eq!(statements[1]["Resource"][0], "arn:d");
        assert_eq!(json["principalId"], "bob");
        let everything =
            serde_json::to_value(allow("bob", vec!["arn:a".to_owned()], vec![], Value::Null))
                .unwrap();
        assert_eq!(
            everything["policyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "no empty Deny statement"
        );
    }
}
