//! IAM policies for API Gateway authorizer responses.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::Value;

/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/*` for a method ARN of
/// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{verb}/{path}`: every method and
/// path of the stage, so a cached Allow also covers the other protected routes.
pub fn stage_wide_resource(method_arn: &str) -> Option<String> {
    let (prefix, resource) = method_arn.rsplit_once(':')?;
    if !prefix.starts_with("arn:") || prefix.split(':').count() != 5 {
        return None;
    }
    let mut parts = resource.split('/');
    let (api, stage) = (parts.next()?, parts.next()?);
    if api.is_empty() || stage.is_empty() {
        return None;
    }
    Some(format!("{prefix}:{api}/{stage}/*"))
}

/// An Allow for `resource`, with `context` passed to the protected functions.
pub fn allow(
    principal: &str,
    resource: &str,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    response(
        principal,
        statement(IamPolicyEffect::Allow, resource),
        context,
    )
}

/// An explicit Deny for `resource` (API Gateway answers 403).
pub fn deny(principal: &str, resource: &str) -> ApiGatewayCustomAuthorizerResponse {
    response(
        principal,
        statement(IamPolicyEffect::Deny, resource),
        Value::Object(Default::default()),
    )
}

fn statement(effect: IamPolicyEffect, resource: &str) -> IamPolicyStatement {
    let mut statement = IamPolicyStatement::default();
    statement.action = vec!["execute-api:Invoke".to_owned()];
    statement.effect = effect;
    statement.resource = vec![resource.to_owned()];
    statement
}

fn response(
    principal: &str,
    statement: IamPolicyStatement,
    context: Value,
) -> ApiGatewayCustomAuthorizerResponse {
    let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
    policy.version = Some("2012-10-17".to_owned());
    policy.statement = vec![statement];
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
    fn method_arns_widen_to_their_stage() {
        let cases = [
            (
                "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/users/me",
                Some("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*"),
            ),
            (
                "arn:aws:execute-api:us-east-1:123456789012:xyz/dev/POST/",
                Some("arn:aws:execute-api:us-east-1:123456789012:xyz/dev/*"),
            ),
            ("arn:aws:execute-api:us-east-1:123456789012:xyz", None),
            ("not-an-arn", None),
            ("", None),
        ];
        for (arn, expected) in cases {
            assert_eq!(stage_wide_resource(arn).as_deref(), expected, "{arn}");
        }
    }

    #[test]
    fn deny_is_explicit_in_the_serialised_policy() {
        let json = serde_json::to_value(deny("bob", "arn:x")).unwrap();
        assert_eq!(json["policyDocument"]["Statement"][0]["Effect"], "Deny");
        let json = serde_json::to_value(allow("bob", "arn:x", Value::Null)).unwrap();
        assert_eq!(json["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(
            json["policyDocument"]["Statement"][0]["Action"][0],
            "execute-api:Invoke"
        );
        assert_eq!(json["principalId"], "bob");
    }
}
