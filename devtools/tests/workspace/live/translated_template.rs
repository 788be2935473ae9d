//! `template.yaml` as CloudFormation receives it: translated by the pinned SAM CLI's
//! translator (`devtools/scripts/translate-template.py`, run with the Python named by
//! `SAM_PYTHON`; `make integration` sets it), then checked for what a deployment gets.

use crate::support::{self, workspace};
use serde_json::Value;
use shared::platform::metrics::SecurityEvent;
use std::collections::BTreeSet;

/// The translated template's resources.
fn translated(parameters: &[&str]) -> serde_json::Map<String, Value> {
    let python = std::env::var("SAM_PYTHON").unwrap_or_else(|_| {
        panic!(
            "SAM_PYTHON is not set: it names the Python of the pinned SAM CLI's virtualenv; \
             `make integration` installs it and sets it"
        )
    });
    let output = std::process::Command::new(python)
        .arg(workspace().join("devtools/scripts/translate-template.py"))
        .arg(workspace().join("template.yaml"))
        .args(parameters)
        .output()
        .expect("the SAM translator runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let template: Value = serde_json::from_slice(&output.stdout).unwrap();
    template["Resources"].as_object().unwrap().clone()
}

fn of_type<'a>(
    resources: &'a serde_json::Map<String, Value>,
    kind: &str,
) -> Vec<(&'a String, &'a Value)> {
    resources
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .collect()
}

#[test]
fn there_is_exactly_one_stage_and_it_is_throttled() {
    let resources = translated(&[]);
    let stages = of_type(&resources, "AWS::ApiGateway::Stage");
    assert_eq!(stages.len(), 1, "{stages:?}");
    let stage = &stages[0].1["Properties"];
    assert_eq!(stage["StageName"]["Ref"], "StageName");
    let settings = &stage["MethodSettings"][0];
    assert_eq!(
        settings["ThrottlingRateLimit"]["Ref"],
        "ThrottlingRateLimit"
    );
    for (id, deployment) in of_type(&resources, "AWS::ApiGateway::Deployment") {
        assert!(
            deployment["Properties"].get("StageName").is_none(),
            "{id} would create a second, unthrottled stage: {deployment}"
        );
    }
}

#[test]
fn the_stage_writes_json_access_logs_to_a_log_group_with_retention_and_traces() {
    let resources = translated(&[]);
    let (_, stage) = of_type(&resources, "AWS::ApiGateway::Stage")[0];
    let stage = &stage["Properties"];
    assert_eq!(stage["TracingEnabled"], true);
    let access = &stage["AccessLogSetting"];
    let group = access["DestinationArn"]["Fn::GetAtt"][0].as_str().unwrap();
    let log_group = &resources[group];
    assert_eq!(log_group["Type"], "AWS::Logs::LogGroup");
    assert_eq!(
        log_group["Properties"]["RetentionInDays"]["Ref"],
        "LogRetentionDays"
    );
    let format: Value = serde_json::from_str(access["Format"].as_str().unwrap())
        .expect("the access log format is JSON");
    for (field, variable) in [
        ("requestId", "$context.requestId"),
        ("principal", "$context.authorizer.principalId"),
        ("status", "$context.status"),
        ("authorizerError", "$context.authorizer.error"),
        ("latencyMs", "$context.responseLatency"),
        ("xrayTraceId", "$context.xrayTraceId"),
    ] {
        assert_eq!(format[field], variable, "{field}");
    }
    for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
        assert_eq!(
            function["Properties"]["TracingConfig"]["Mode"], "Active",
            "{id}"
        );
    }
}

#[test]
fn the_account_logging_role_exists_only_when_asked_for() {
    let resources = translated(&[]);
    for id in ["ApiGatewayCloudWatchRole", "ApiGatewayAccount"] {
        assert_eq!(
            resources[id]["Condition"], "CreatesApiGatewayAccount",
            "{id} is created only with CreateApiGatewayCloudWatchRole=true"
        );
    }
    let description = &resources["AuthApi"]["Properties"]["Description"]["Fn::If"];
    assert_eq!(description[0], "CreatesApiGatewayAccount");
    assert!(
        description[1].to_string().contains("${ApiGatewayAccount}"),
        "the API waits for the logging role when the stack sets it: {description}"
    );
}

#[test]
fn every_alarm_watches_a_metric_the_stack_emits_and_notifies_the_topic_when_given() {
    let resources = translated(&[]);
    let functions: BTreeSet<&String> = of_type(&resources, "AWS::Lambda::Function")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let api_name = &resources["AuthApi"]["Properties"]["Name"];
    let alarms = of_type(&resources, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 5, "{alarms:?}");
    let mut watched_functions = BTreeSet::new();
    let mut api_metrics = BTreeSet::new();
    let mut security_metrics = BTreeSet::new();
    let emitted: BTreeSet<&str> = [
        SecurityEvent::FailedLogin,
        SecurityEvent::LockedOut,
        SecurityEvent::RefreshTokenReuse,
        SecurityEvent::LegacyHashUpgrade,
        SecurityEvent::FailedSecondFactor,
        SecurityEvent::MailFailed,
        SecurityEvent::SlowResetRequest,
        SecurityEvent::RateLimited,
    ]
    .map(SecurityEvent::metric_name)
    .into();
    for (id, alarm) in &alarms {
        let properties = &alarm["Properties"];
        assert_eq!(
            properties["AlarmActions"]["Fn::If"][0], "HasAlarmTopic",
            "{id} notifies AlarmTopicArn when it is set"
        );
        let metrics: Vec<&Value> = match properties.get("Metrics") {
            Some(queries) => queries
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|query| query.get("MetricStat"))
                .map(|stat| &stat["Metric"])
                .collect(),
            None => vec![properties],
        };
        for metric in metrics {
            let dimensions = metric["Dimensions"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            let namespace = &metric["Namespace"];
            if namespace["Fn::Sub"] == "lambda-auth/${AWS::StackName}" {
                let name = metric["MetricName"].as_str().unwrap();
                assert!(
                    emitted.contains(name),
                    "{id}: {name} is not a metric the functions emit"
                );
                security_metrics.insert(name.to_owned());
                continue;
            }
            match namespace.as_str().unwrap() {
                "AWS/Lambda" => {
                    let function = dimensions[0]["Value"]["Ref"].as_str().unwrap();
                    assert!(functions.contains(&function.to_owned()), "{id}: {function}");
                    assert!(
                        ["Errors", "Throttles"].contains(&metric["MetricName"].as_str().unwrap())
                    );
                    watched_functions.insert(function.to_owned());
                }
                "AWS/ApiGateway" => {
                    assert_eq!(&dimensions[0]["Value"], api_name, "{id} watches this API");
                    assert_eq!(dimensions[1]["Value"]["Ref"], "StageName", "{id}");
                    api_metrics.insert(metric["MetricName"].as_str().unwrap().to_owned());
                }
                other => panic!("{id}: a metric in {other}, which nothing here emits"),
            }
        }
    }
    let all_functions: BTreeSet<String> = functions.iter().map(|id| (*id).clone()).collect();
    assert_eq!(
        watched_functions, all_functions,
        "every function's errors and throttles"
    );
    let expected: BTreeSet<String> = ["4XXError", "5XXError", "Latency"]
        .map(str::to_owned)
        .into();
    assert_eq!(api_metrics, expected);
    let security: BTreeSet<String> = ["LockedOutAttempts", "MailFailures", "RefreshTokenReuse"]
        .map(str::to_owned)
        .into();
    assert_eq!(security_metrics, security);
}

#[test]
fn the_functions_emit_metrics_in_the_namespace_the_alarms_watch() {
    let resources = translated(&[]);
    for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
        let variables = &function["Properties"]["Environment"]["Variables"];
        assert_eq!(
            variables["METRICS_NAMESPACE"]["Fn::Sub"], "lambda-auth/${AWS::StackName}",
            "{id}"
        );
    }
}

#[test]
fn the_argon2id_routes_have_tighter_throttling_of_their_own() {
    let resources = translated(&[]);
    let (_, stage) = of_type(&resources, "AWS::ApiGateway::Stage")[0];
    let settings = stage["Properties"]["MethodSettings"].as_array().unwrap();
    let limited: BTreeSet<(String, String)> = settings
        .iter()
        .filter(|setting| setting["ThrottlingRateLimit"]["Ref"] == "HashingRouteRateLimit")
        .map(|setting| {
            assert_eq!(
                setting["ThrottlingBurstLimit"]["Ref"],
                "HashingRouteBurstLimit"
            );
            (
                setting["HttpMethod"].as_str().unwrap().to_owned(),
                setting["ResourcePath"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/token"),
        ("POST", "/signup"),
        ("POST", "/users~1me~1password"),
        ("POST", "/password-reset~1confirm"),
        ("POST", "/login"),
        ("POST", "/login~1sign-up"),
        ("POST", "/login~1password-reset~1confirm"),
        ("POST", "/login~1password-reset"),
    ]
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .into();
    assert_eq!(limited, expected);
    let template = support::template_model();
    for (method, path) in &expected {
        let path = path.replace("~1", "/");
        assert!(
            template
                .routes
                .iter()
                .any(|route| route.method == *method && route.path == path),
            "{method} {path} is a route of the template"
        );
    }
}

#[test]
fn the_argon2id_functions_reserve_concurrency_only_when_asked() {
    let resources = translated(&[]);
    for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
        let reserved = function["Properties"].get("ReservedConcurrentExecutions");
        let hashing = [
            "SignupFunction",
            "TokenFunction",
            "AccountFunction",
            "RecoveryFunction",
            "LoginFunction",
        ]
        .contains(&id.as_str());
        match reserved {
            Some(reserved) => {
                assert!(hashing, "{id} hashes no password");
                assert_eq!(reserved["Fn::If"][0], "ReservesHashingConcurrency", "{id}");
                assert_eq!(reserved["Fn::If"][1]["Ref"], "HashingConcurrency", "{id}");
            }
            None => assert!(!hashing, "{id} hashes passwords"),
        }
    }
}

#[test]
fn a_web_acl_is_associated_with_the_stage_only_when_given() {
    let resources = translated(&[]);
    let associations = of_type(&resources, "AWS::WAFv2::WebACLAssociation");
    assert_eq!(associations.len(), 1);
    let (_, association) = associations[0];
    assert_eq!(association["Condition"], "HasWebAcl");
    assert_eq!(association["Properties"]["WebACLArn"]["Ref"], "WebAclArn");
    let stage_arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
        .as_str()
        .unwrap();
    let (stage_id, _) = of_type(&resources, "AWS::ApiGateway::Stage")[0];
    assert!(
        stage_arn.ends_with(&format!("/stages/${{{stage_id}}}")),
        "{stage_arn}"
    );
}

#[test]
fn only_the_database_functions_join_a_vpc_and_only_when_subnets_are_given() {
    let resources = translated(&[]);
    for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
        let variables = &function["Properties"]["Environment"]["Variables"];
        let uses_database = variables.get("MONGODB_URI_SECRET_ARN").is_some();
        match function["Properties"].get("VpcConfig") {
            Some(vpc) => {
                assert!(uses_database, "{id} needs no database, so no VPC");
                let choice = &vpc["Fn::If"];
                assert_eq!(choice[0], "InVpc", "{id}");
                assert_eq!(choice[1]["SubnetIds"]["Ref"], "SubnetIds", "{id}");
                assert_eq!(
                    choice[1]["SecurityGroupIds"]["Ref"], "SecurityGroupIds",
                    "{id}"
                );
                assert_eq!(
                    choice[2]["Ref"], "AWS::NoValue",
                    "{id}: outside a VPC by default"
                );
            }
            None => assert!(
                !uses_database,
                "{id} uses the database but cannot join the VPC"
            ),
        }
    }
}

#[test]
fn each_function_role_holds_logs_traces_its_own_secrets_and_no_more() {
    let resources = translated(&[]);
    for (id, function) in of_type(&resources, "AWS::Lambda::Function") {
        let role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        let role = &resources[role_id]["Properties"];
        let managed: BTreeSet<&str> = role["ManagedPolicyArns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arn| arn.as_str().unwrap().rsplit('/').next().unwrap())
            .collect();
        let mut expected: BTreeSet<&str> =
            ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"].into();
        if function["Properties"].get("VpcConfig").is_some() {
            expected.insert("AWSLambdaVPCAccessExecutionRole");
        }
        assert_eq!(managed, expected, "{id}");
        for policy in role["Policies"].as_array().into_iter().flatten() {
            if let Some(choice) = policy.get("Fn::If") {
                if choice[0] == "HasFederationSecrets" {
                    assert_reads_only_the_federation_secrets(id, choice);
                } else if choice[0]
                    .as_str()
                    .is_some_and(|condition| condition.ends_with("Hook"))
                {
                    assert_invokes_only_its_hook(id, choice);
                } else {
                    assert_sends_only_as_the_sender(id, choice);
                }
                continue;
            }
            for statement in policy["PolicyDocument"]["Statement"].as_array().unwrap() {
                assert_eq!(
                    statement["Action"],
                    serde_json::json!(["secretsmanager:GetSecretValue"]),
                    "{id}"
                );
                let secret = &statement["Resource"]["Fn::Sub"][1]["secretArn"]["Ref"];
                assert!(
                    secret.as_str().unwrap().ends_with("SecretArn"),
                    "{id}: {secret}"
                );
            }
        }
    }
}

/// The translated `!If [HasFederationSecrets, policy, NoValue]`: only the login function
/// reads the upstream providers' secrets, and only that secret.
fn assert_reads_only_the_federation_secrets(id: &str, choice: &Value) {
    assert_eq!(
        id, "LoginFunction",
        "{id} may not read the providers' secrets"
    );
    assert_eq!(choice[2]["Ref"], "AWS::NoValue", "{id}");
    let statements = choice[1]["PolicyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{id}");
    assert_eq!(
        statements[0]["Action"],
        serde_json::json!(["secretsmanager:GetSecretValue"]),
        "{id}"
    );
    assert_eq!(
        statements[0]["Resource"]["Fn::Sub"][1]["secretArn"]["Ref"], "FederationSecretsSecretArn",
        "{id}"
    );
}

/// The translated `!If [Has…Hook, policy, NoValue]`: `lambda:InvokeFunction` on the hook's
/// ARN parameter only, given only to the functions that call that hook.
fn assert_invokes_only_its_hook(id: &str, choice: &Value) {
    let (_, parameter, _, functions) = crate::support::HOOKS
        .iter()
        .find(|(condition, ..)| choice[0] == *condition)
        .unwrap_or_else(|| panic!("{id}: unknown hook condition {}", choice[0]));
    assert!(functions.contains(&id), "{id} may not invoke {parameter}");
    assert_eq!(choice[2]["Ref"], "AWS::NoValue", "{id}");
    let statements = choice[1]["PolicyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{id}");
    assert_eq!(statements[0]["Action"], "lambda:InvokeFunction", "{id}");
    assert_eq!(statements[0]["Resource"]["Ref"], *parameter, "{id}");
}

/// The translated `!If [SendsMail, policy, NoValue]` of a sending function: only
/// `ses:SendEmail`, only from `MailFromAddress`, and only for signup, account, recovery and
/// login (the forgot-password page).
fn assert_sends_only_as_the_sender(id: &str, choice: &Value) {
    assert!(
        [
            "SignupFunction",
            "AccountFunction",
            "RecoveryFunction",
            "LoginFunction"
        ]
        .contains(&id),
        "{id} may not send mail"
    );
    assert_eq!(choice[0], "SendsMail", "{id}");
    assert_eq!(choice[2]["Ref"], "AWS::NoValue", "{id}");
    let statements = choice[1]["PolicyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{id}");
    assert_eq!(statements[0]["Action"], "ses:SendEmail", "{id}");
    assert_eq!(
        statements[0]["Condition"]["StringEquals"]["ses:FromAddress"]["Ref"], "MailFromAddress",
        "{id}"
    );
}
