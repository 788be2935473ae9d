//! `template.yaml` grants each function exactly the secrets it needs: only `token` can read
//! the private key, the authorizer reads the public key only and has no database access, and
//! only the functions that send mail may call SES, from the configured sender only.

use serde_norway::Value;
use std::collections::{BTreeMap, BTreeSet};

fn resources() -> serde_norway::Mapping {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let root: Value = serde_norway::from_str(&text).unwrap();
    root["Resources"].as_mapping().unwrap().clone()
}

fn referenced_parameter(value: &Value) -> String {
    match value {
        Value::Tagged(tagged) if tagged.tag == "!Ref" => tagged.value.as_str().unwrap().to_owned(),
        other => panic!("secret ARNs must be !Ref parameters, found {other:?}"),
    }
}

/// What one function is given.
struct Grant {
    /// Its SES statement (the `Statement` list of its `!If [SendsMail, …]` policy), if any.
    sends_mail: Option<Value>,
    /// Secret parameters its IAM policies allow it to read.
    readable: BTreeSet<String>,
    /// Secret parameters its `*_SECRET_ARN` variables name.
    named: BTreeSet<String>,
    /// Names of all its environment variables.
    variables: BTreeSet<String>,
    /// Hook ARN parameters its policies allow it to invoke.
    invokes: BTreeSet<String>,
}

/// Per function (logical id): what it may read and what it is told.
fn grants() -> BTreeMap<String, Grant> {
    let mut result = BTreeMap::new();
    for (id, resource) in resources() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let properties = &resource["Properties"];
        let mut readable = BTreeSet::new();
        let mut sends_mail = None;
        let mut invokes = BTreeSet::new();
        for policy in properties["Policies"].as_sequence().into_iter().flatten() {
            if let Value::Tagged(tagged) = policy {
                let branches = tagged
                    .value
                    .as_sequence()
                    .expect("!If [condition, then, else]");
                assert_eq!(tagged.tag, "!If", "{id:?}");
                match branches[0].as_str() {
                    Some("SendsMail") => sends_mail = Some(branches[1]["Statement"].clone()),
                    // An optional secret: readable when its ARN is given.
                    Some("HasFederationSecrets") => {
                        let secret = &branches[1]["AWSSecretsManagerGetSecretValuePolicy"];
                        readable.insert(referenced_parameter(&secret["SecretArn"]));
                    }
                    Some(condition) if condition.ends_with("Hook") => {
                        let statements = branches[1]["Statement"].as_sequence().unwrap();
                        assert_eq!(statements.len(), 1, "{id:?}");
                        assert_eq!(
                            statements[0]["Action"].as_str(),
                            Some("lambda:InvokeFunction"),
                            "{id:?}"
                        );
                        let (_, parameter, _, _) = crate::support::HOOKS
                            .iter()
                            .find(|(hook, ..)| *hook == condition)
                            .unwrap_or_else(|| {
                                panic!("{id:?}: unknown hook condition {condition}")
                            });
                        assert_eq!(
                            referenced_parameter(&statements[0]["Resource"]),
                            *parameter,
                            "{id:?}"
                        );
                        assert_eq!(referenced_parameter(&branches[2]), "AWS::NoValue", "{id:?}");
                        invokes.insert((*parameter).to_owned());
                    }
                    other => panic!("{id:?}: unexpected conditional policy {other:?}"),
                }
                continue;
            }
            let secret = policy
                .get("AWSSecretsManagerGetSecretValuePolicy")
                .unwrap_or_else(|| panic!("{id:?}: only AWSSecretsManagerGetSecretValuePolicy is expected, found {policy:?}"));
            readable.insert(referenced_parameter(&secret["SecretArn"]));
        }
        let mut named = BTreeSet::new();
        let mut variables = BTreeSet::new();
        for (name, value) in properties["Environment"]["Variables"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap().to_owned();
            if name.ends_with("_SECRET_ARN") {
                named.insert(referenced_parameter(value));
            }
            variables.insert(name);
        }
        let grant = Grant {
            sends_mail,
            readable,
            named,
            variables,
            invokes,
        };
        result.insert(id.as_str().unwrap().to_owned(), grant);
    }
    result
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn each_function_may_read_exactly_the_secrets_it_needs() {
    let expected = BTreeMap::from([
        ("SignupFunction", set(&["MongoDbUriSecretArn"])),
        (
            "TokenFunction",
            set(&[
                "MongoDbUriSecretArn",
                "JwtPrivateKeySecretArn",
                "SecondFactorKeysSecretArn",
            ]),
        ),
        ("AuthorizerFunction", set(&["JwtPublicKeySecretArn"])),
        ("MeFunction", set(&["MongoDbUriSecretArn"])),
        ("ProductsFunction", set(&["MongoDbUriSecretArn"])),
        (
            "AccountFunction",
            set(&["MongoDbUriSecretArn", "SecondFactorKeysSecretArn"]),
        ),
        ("JwksFunction", set(&["JwtPublicKeySecretArn"])),
        ("DocsFunction", set(&[])),
        ("RecoveryFunction", set(&["MongoDbUriSecretArn"])),
        ("AdminFunction", set(&["MongoDbUriSecretArn"])),
        (
            "LoginFunction",
            set(&[
                "MongoDbUriSecretArn",
                "SecondFactorKeysSecretArn",
                "JwtPublicKeySecretArn",
                "FederationSecretsSecretArn",
            ]),
        ),
    ]);
    let grants = grants();
    assert_eq!(
        grants.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected.keys().copied().collect()
    );
    for (function, secrets) in expected {
        let grant = &grants[function];
        assert_eq!(grant.readable, secrets, "{function}: IAM policy");
        let why = "*_SECRET_ARN variables match what it may read";
        assert_eq!(grant.named, secrets, "{function}: {why}");
    }
}

#[test]
fn only_token_can_reach_the_private_key_and_the_authorizer_has_no_database() {
    for (
        function,
        Grant {
            readable,
            variables,
            ..
        },
    ) in grants()
    {
        let private = readable.contains("JwtPrivateKeySecretArn")
            || variables.iter().any(|v| v.starts_with("JWT_PRIVATE_KEY"));
        assert_eq!(
            private,
            function == "TokenFunction",
            "{function} and the private key"
        );
        if function == "AuthorizerFunction" {
            assert!(
                variables
                    .iter()
                    .all(|v| !v.starts_with("MONGODB_URI") && v != "DB_NAME"),
                "{variables:?}"
            );
            assert!(!readable.contains("MongoDbUriSecretArn"));
        }
    }
}

#[test]
fn only_the_sending_functions_may_send_mail_and_only_as_the_configured_sender() {
    let mut senders = BTreeSet::new();
    for (function, grant) in grants() {
        let Some(statements) = grant.sends_mail else {
            assert!(
                !grant.variables.contains("MAIL_FROM"),
                "{function} is told a sender but may not send"
            );
            continue;
        };
        senders.insert(function.clone());
        assert!(grant.variables.contains("MAIL_FROM"), "{function}");
        let statements = statements.as_sequence().unwrap();
        assert_eq!(statements.len(), 1, "{function}");
        let statement = &statements[0];
        assert_eq!(statement["Effect"].as_str(), Some("Allow"));
        assert_eq!(
            statement["Action"].as_str(),
            Some("ses:SendEmail"),
            "{function}"
        );
        let condition = &statement["Condition"]["StringEquals"]["ses:FromAddress"];
        assert_eq!(
            condition,
            &serde_norway::from_str::<Value>("!Ref MailFromAddress").unwrap(),
            "{function}: sending only as MailFromAddress"
        );
        let resources = format!("{:?}", statement["Resource"]);
        assert!(
            resources.contains(":identity/") && !resources.contains('*'),
            "{function}: identities only, no wildcard: {resources}"
        );
    }
    assert_eq!(
        senders,
        set(&[
            "AccountFunction",
            "LoginFunction",
            "RecoveryFunction",
            "SignupFunction"
        ])
    );
}

#[test]
fn a_function_may_invoke_exactly_the_hooks_it_calls_and_only_when_they_are_set() {
    let grants = grants();
    for (id, grant) in &grants {
        let expected: BTreeSet<String> = crate::support::HOOKS
            .iter()
            .filter(|(.., callers)| callers.contains(&id.as_str()))
            .map(|(_, parameter, ..)| (*parameter).to_owned())
            .collect();
        assert_eq!(grant.invokes, expected, "{id} invokes");
        let told: BTreeSet<String> = crate::support::HOOKS
            .iter()
            .filter(|(_, _, variable, _)| grant.variables.contains(*variable))
            .map(|(_, parameter, ..)| (*parameter).to_owned())
            .collect();
        assert_eq!(
            told, expected,
            "{id} is told of exactly the hooks it may invoke"
        );
    }
}

#[test]
fn no_secret_value_is_a_template_parameter() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let root: Value = serde_norway::from_str(&text).unwrap();
    for (name, _) in root["Parameters"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let looks_secret = ["Uri", "Key", "Password", "Secret"]
            .iter()
            .any(|word| name.contains(word));
        assert!(
            !looks_secret || name.ends_with("SecretArn"),
            "{name} should be a secret ARN, not a value"
        );
    }
}
