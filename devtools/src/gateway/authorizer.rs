//! Running a TOKEN authorizer as API Gateway does: identity source and validation expression
//! first, then the function, then the returned policy evaluated against the method ARN, with
//! decisions cached per token for the configured TTL.

use crate::runtime::{FunctionPool, InvokeError};
use crate::template::TokenAuthorizer;
use regex::Regex;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// What the gateway does with the request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Run the function with this `requestContext.authorizer` (principal and context).
    Allow(Map<String, Value>),
    /// `401` (`UNAUTHORIZED` gateway response).
    Unauthorized,
    /// `403` (`ACCESS_DENIED` gateway response); `explicit` when a Deny statement matched.
    Denied {
        /// A Deny statement matched, as opposed to no Allow matching.
        explicit: bool,
    },
    /// `500` (`AUTHORIZER_CONFIGURATION_ERROR`/`AUTHORIZER_FAILURE`).
    Failure,
}

/// A cached authorizer result: the principal, its policy and context.
#[derive(Debug, Clone)]
pub struct Decision {
    principal_id: String,
    statements: Vec<Statement>,
    context: Map<String, Value>,
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    actions: Vec<Regex>,
    resources: Vec<Regex>,
}

/// Decisions per (authorizer, token), each kept for the authorizer's TTL.
#[derive(Debug, Default)]
pub struct DecisionCache {
    entries: Mutex<HashMap<(String, String), (Instant, Decision)>>,
}

/// Authorizes one request to a route guarded by `authorizer` (named `name`).
pub async fn authorize(
    name: &str,
    authorizer: &TokenAuthorizer,
    pool: &FunctionPool,
    cache: &DecisionCache,
    headers: &[(String, String)],
    method_arn: &str,
) -> Outcome {
    let Some(token) = headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(&authorizer.header))
        .map(|(_, v)| v)
    else {
        return Outcome::Unauthorized;
    };
    if authorizer
        .validation
        .as_ref()
        .is_some_and(|expression| !expression.is_match(token))
    {
        return Outcome::Unauthorized;
    }
    let key = (name.to_owned(), token.clone());
    let cached = cache
        .entries
        .lock()
        .expect("cache lock")
        .get(&key)
        .filter(|(expiry, _)| *expiry > Instant::now())
        .map(|(_, d)| d.clone());
    let decision = match cached {
        Some(decision) => decision,
        None => {
            let event =
                json!({ "type": "TOKEN", "authorizationToken": token, "methodArn": method_arn });
            let decision = match pool.invoke(event.to_string().into_bytes()).await {
                Ok(payload) => match parse_decision(&payload) {
                    Some(decision) => decision,
                    None => {
                        eprintln!("local-api: authorizer {name} returned an invalid response");
                        return Outcome::Failure;
                    }
                },
                Err(InvokeError::Function { error_message, .. })
                    if error_message == "Unauthorized" =>
                {
                    return Outcome::Unauthorized;
                }
                Err(error) => {
                    eprintln!("local-api: authorizer {name} failed: {error}");
                    return Outcome::Failure;
                }
            };
            if !authorizer.cache_ttl.is_zero() {
                let expiry = Instant::now() + authorizer.cache_ttl;
                cache
                    .entries
                    .lock()
                    .expect("cache lock")
                    .insert(key, (expiry, decision.clone()));
            }
            decision
        }
    };
    evaluate(&decision, method_arn)
}

impl Decision {
    /// An authorizer's answer as API Gateway reads it; `None` when it is malformed (API
    /// Gateway's `AUTHORIZER_CONFIGURATION_ERROR`).
    pub fn parse(payload: &[u8]) -> Option<Self> {
        parse_decision(payload)
    }

    /// What API Gateway does with this answer for a request to `method_arn`: an explicit
    /// Deny wins, then any Allow (with the context), else an implicit deny.
    pub fn outcome(&self, method_arn: &str) -> Outcome {
        evaluate(self, method_arn)
    }
}

fn evaluate(decision: &Decision, method_arn: &str) -> Outcome {
    let applies = |statement: &&Statement| {
        statement
            .actions
            .iter()
            .any(|action| action.is_match("execute-api:Invoke"))
            && statement
                .resources
                .iter()
                .any(|resource| resource.is_match(method_arn))
    };
    let matching: Vec<&Statement> = decision.statements.iter().filter(applies).collect();
    if matching.iter().any(|statement| !statement.allow) {
        return Outcome::Denied { explicit: true };
    }
    if matching.is_empty() {
        return Outcome::Denied { explicit: false };
    }
    // API Gateway hands context values to the integration as strings, whatever their type.
    let mut authorizer: Map<String, Value> = decision
        .context
        .iter()
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (key.clone(), Value::String(text))
        })
        .collect();
    authorizer.insert(
        "principalId".to_owned(),
        Value::String(decision.principal_id.clone()),
    );
    Outcome::Allow(authorizer)
}

fn parse_decision(payload: &[u8]) -> Option<Decision> {
    let response: Value = serde_json::from_slice(payload).ok()?;
    let principal_id = response.get("principalId")?.as_str()?.to_owned();
    let policy = response.get("policyDocument")?;
    let statements = match policy.get("Statement")? {
        Value::Array(statements) => statements
            .iter()
            .map(parse_statement)
            .collect::<Option<Vec<_>>>()?,
        single => vec![parse_statement(single)?],
    };
    let context = match response.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context))
            if context
                .values()
                .all(|v| v.is_string() || v.is_number() || v.is_boolean()) =>
        {
            context.clone()
        }
        Some(_) => return None,
    };
    Some(Decision {
        principal_id,
        statements,
        context,
    })
}

fn parse_statement(statement: &Value) -> Option<Statement> {
    let allow = match statement.get("Effect")?.as_str()? {
        "Allow" => true,
        "Deny" => false,
        _ => return None,
    };
    let patterns = |key: &str, case_insensitive: bool| -> Option<Vec<Regex>> {
        let pattern = |text: &str| wildcard(text, case_insensitive);
        match statement.get(key)? {
            Value::String(single) => Some(vec![pattern(single)]),
            Value::Array(many) => many.iter().map(|v| v.as_str().map(pattern)).collect(),
            _ => None,
        }
    };
    Some(Statement {
        allow,
        // IAM compares action names case-insensitively and resource ARNs case-sensitively.
        actions: patterns("Action", true)?,
        resources: patterns("Resource", false)?,
    })
}

/// An IAM wildcard pattern (`*` any run of characters, `/` included; `?` one character) as
/// a regex.
fn wildcard(pattern: &str, case_insensitive: bool) -> Regex {
    let escaped = regex::escape(pattern)
        .replace(r"\*", ".*")
        .replace(r"\?", ".");
    let flags = if case_insensitive { "(?i)" } else { "" };
    Regex::new(&format!("{flags}^{escaped}$")).expect("escaped pattern is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(statements: Value) -> Decision {
        let payload = json!({"principalId": "alice", "policyDocument": {"Version": "2012-10-17", "Statement": statements}, "context": {"jti": "j1", "n": 3}});
        parse_decision(payload.to_string().as_bytes()).unwrap()
    }

    const ARN: &str = "arn:aws:execute-api:local:123456789012:localapi01/prod/GET/users/me";

    #[test]
    fn a_stage_wide_allow_covers_every_route_and_passes_the_context() {
        let d = decision(
            json!([{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:local:123456789012:localapi01/prod/*"}]),
        );
        let Outcome::Allow(context) = evaluate(&d, ARN) else {
            panic!("allowed")
        };
        assert_eq!(context["principalId"], "alice");
        assert_eq!(context["jti"], "j1");
        assert_eq!(context["n"], "3", "numbers reach the function as strings");
        assert!(matches!(
            evaluate(&d, &ARN.replace("GET/users/me", "POST/products")),
            Outcome::Allow(_)
        ));
    }

    #[test]
    fn a_narrow_allow_leaves_other_routes_implicitly_denied() {
        let d = decision(
            json!([{"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": [ARN]}]),
        );
        assert!(matches!(evaluate(&d, ARN), Outcome::Allow(_)));
        assert_eq!(
            evaluate(&d, &ARN.replace("users/me", "products")),
            Outcome::Denied { explicit: false }
        );
    }

    #[test]
    fn an_explicit_deny_wins_over_an_allow() {
        let d = decision(json!([
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
            {"Action": "execute-api:*", "Effect": "Deny", "Resource": "arn:aws:execute-api:*:*:*/prod/GET/users/?e"}
        ]));
        assert_eq!(evaluate(&d, ARN), Outcome::Denied { explicit: true });
    }

    /// API Gateway's documented matching for `execute-api` resources: `*` stands for any run
    /// of characters (across `/`), `?` for one, the method and stage are parts like any
    /// other, ARNs are case-sensitive and action names are not, and an explicit Deny wins.
    #[test]
    fn policies_match_method_arns_as_api_gateway_documents() {
        const STAGE: &str = "arn:aws:execute-api:local:123456789012:localapi01/prod";
        let allow = |resource: &str| json!([{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}]);
        let cases: Vec<(Value, &str, Option<bool>)> = vec![
            (
                allow(&format!("{STAGE}/GET/users/me")),
                "GET/users/me",
                None,
            ),
            (
                allow(&format!("{STAGE}/GET/users/me")),
                "GET/users/me/sessions",
                Some(false),
            ),
            (
                allow(&format!("{STAGE}/GET/users/me")),
                "POST/users/me",
                Some(false),
            ),
            (
                allow(&format!("{STAGE}/*/users/me")),
                "DELETE/users/me",
                None,
            ),
            (
                allow(&format!("{STAGE}/GET/*")),
                "GET/users/me/sessions",
                None,
            ),
            (
                allow(&format!("{STAGE}/GET/*")),
                "POST/products",
                Some(false),
            ),
            (
                allow(&format!("{STAGE}/DELETE/products/*")),
                "DELETE/products/p-1",
                None,
            ),
            (
                allow(&format!("{STAGE}/DELETE/products/*")),
                "DELETE/products",
                Some(false),
            ),
            (
                allow("arn:aws:execute-api:local:123456789012:localapi01/*/GET/products"),
                "GET/products",
                None,
            ),
            (
                allow(&format!("{STAGE}/GET/Users/me")),
                "GET/users/me",
                Some(false),
            ),
            (
                allow(&format!("{STAGE}/GET/users/m?")),
                "GET/users/me",
                None,
            ),
            (
                allow(&format!("{STAGE}/GET/users/?")),
                "GET/users/me",
                Some(false),
            ),
            (allow("*"), "PUT/products/p-1", None),
            (
                allow("arn:aws:execute-api:local:123456789012:otherapi01/prod/*"),
                "GET/users/me",
                Some(false),
            ),
            (
                json!([{"Action": "execute-api:invoke", "Effect": "Allow", "Resource": format!("{STAGE}/*")}]),
                "GET/products",
                None,
            ),
            (
                json!([{"Action": "execute-api:*", "Effect": "Allow", "Resource": format!("{STAGE}/*")}]),
                "GET/products",
                None,
            ),
            (
                json!([{"Action": "execute-api:ManageConnections", "Effect": "Allow", "Resource": format!("{STAGE}/*")}]),
                "GET/products",
                Some(false),
            ),
            (
                json!([
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": format!("{STAGE}/*")},
                    {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{STAGE}/DELETE/users/me/sessions/*")]}
                ]),
                "DELETE/users/me",
                None,
            ),
            (
                json!([
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": format!("{STAGE}/*")},
                    {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{STAGE}/DELETE/users/me/sessions/*")]}
                ]),
                "DELETE/users/me/sessions/abc",
                Some(true),
            ),
            (
                json!([
                    {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": format!("{STAGE}/POST/products")},
                    {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": format!("{STAGE}/POST/products")}
                ]),
                "POST/products",
                Some(true),
            ),
        ];
        for (statements, route, denied) in cases {
            let outcome = evaluate(&decision(statements.clone()), &format!("{STAGE}/{route}"));
            match denied {
                None => assert!(
                    matches!(outcome, Outcome::Allow(_)),
                    "{route} under {statements}: {outcome:?}"
                ),
                Some(explicit) => assert_eq!(
                    outcome,
                    Outcome::Denied { explicit },
                    "{route} under {statements}"
                ),
            }
        }
    }

    #[test]
    fn malformed_authorizer_responses_are_rejected() {
        for payload in [
            json!({"policyDocument": {"Statement": []}}),
            json!({"principalId": "a"}),
            json!({"principalId": "a", "policyDocument": {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}),
            json!({"principalId": "a", "policyDocument": {"Statement": []}, "context": {"nested": {"x": 1}}}),
        ] {
            assert!(
                parse_decision(payload.to_string().as_bytes()).is_none(),
                "{payload}"
            );
        }
        assert!(parse_decision(b"not json").is_none());
    }
}
