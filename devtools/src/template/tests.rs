use super::*;

fn project_template() -> ApiModel {
    project_template_with(&[]).unwrap()
}

/// The project's template with placeholder secret ARNs and `extra` parameter values.
fn project_template_with(extra: &[(&str, &str)]) -> Result<ApiModel, TemplateError> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml")).unwrap();
    let overrides = [
        (
            "MongoDbUriSecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongodb-uri-AbCdEf",
        ),
        (
            "JwtPrivateKeySecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-private-AbCdEf",
        ),
        (
            "SecondFactorKeysSecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:second-factor-keys-AbCdEf",
        ),
        (
            "JwtPublicKeySecretArn",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-public-AbCdEf",
        ),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    parse(&text, &overrides)
}

const SMALL: &str = r#"
Parameters:
  Ttl: {Type: Number, Default: 60}
  Secret: {Type: String, NoEcho: true}
Globals:
  Function:
    Timeout: 7
    Environment:
      Variables: {SHARED: "from-globals", OVERRIDDEN: "globals"}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Header: X-Token, ValidationExpression: "Bearer .+", ReauthorizeEvery: !Ref Ttl}
      GatewayResponses:
        UNAUTHORIZED:
          StatusCode: "401"
          ResponseParameters: {Headers: {WWW-Authenticate: "'Bearer realm=\"x\"'"}}
          ResponseTemplates: {application/json: '{"m":$context.error.messageString}'}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/auth/, MemorySize: 256}
  ItemFn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: items-bin}}
    Properties:
      CodeUri: functions/items
      Timeout: 12
      Environment: {Variables: {OVERRIDDEN: "function", SECRET: !Ref Secret, URL: !Sub "https://${AWS::Region}/${Ttl}"}}
      Events:
        Get: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{id}", Method: get}}
        Open: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items, Method: post, Auth: {Authorizer: NONE}}}
        Queue: {Type: SQS, Properties: {Queue: arn}}
"#;

fn small(overrides: &[(&str, &str)]) -> Result<ApiModel, TemplateError> {
    let overrides = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parse(SMALL, &overrides)
}

#[test]
fn the_project_template_routes_every_endpoint_with_the_right_authorizer() {
    let model = project_template();
    let routes: Vec<(&str, &str, &str, Option<&str>)> = model
        .routes
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                model.functions[&r.function].binary.as_str(),
                r.authorizer.as_deref(),
            )
        })
        .collect();
    // The routes of the real template this reader must get right; a route added to the
    // template does not change them.
    let known = [
        ("POST", "/signup", "signup", None),
        ("POST", "/token", "token", None),
        ("POST", "/revoke", "token", None),
        ("GET", "/users/me", "me", Some("BearerTokenAuthorizer")),
        (
            "GET",
            "/products",
            "products",
            Some("BearerTokenAuthorizer"),
        ),
        (
            "POST",
            "/users/me/password",
            "account",
            Some("BearerTokenAuthorizer"),
        ),
        (
            "POST",
            "/users/me/logout",
            "account",
            Some("BearerTokenAuthorizer"),
        ),
        ("GET", "/.well-known/jwks.json", "jwks", None),
        ("GET", "/docs", "docs", None),
        ("GET", "/docs/{asset}", "docs", None),
        ("GET", "/openapi.json", "docs", None),
    ];
    for route in known {
        assert!(routes.contains(&route), "{route:?} in {routes:?}");
    }
    let authorizer = &model.authorizers["BearerTokenAuthorizer"];
    assert_eq!(model.functions[&authorizer.function].binary, "authorizer");
    assert_eq!(authorizer.header, "Authorization");
    assert_eq!(authorizer.cache_ttl, Duration::from_secs(300));
    let validation = authorizer.validation.as_ref().unwrap();
    assert!(validation.is_match("Bearer abc.DEF-_.ghi"));
    assert!(!validation.is_match("Basic abc"));
    assert!(!validation.is_match("Bearer abc def"));
    assert_eq!(model.gateway_responses["UNAUTHORIZED"].status, Some(401));
    assert_eq!(
        model.gateway_responses["UNAUTHORIZED"].headers[0],
        ("WWW-Authenticate".to_owned(), "Bearer".to_owned())
    );
}

#[test]
fn the_project_template_gives_secrets_only_to_the_functions_that_need_them() {
    let model = project_template();
    let env = |binary: &str| {
        model
            .functions
            .values()
            .find(|f| f.binary == binary)
            .unwrap()
            .environment
            .clone()
    };
    assert!(env("me")["MONGODB_URI_SECRET_ARN"].ends_with(":secret:mongodb-uri-AbCdEf"));
    assert!(!env("authorizer").contains_key("MONGODB_URI_SECRET_ARN"));
    assert!(env("authorizer").contains_key("JWT_PUBLIC_KEY_SECRET_ARN"));
    for binary in ["signup", "me", "products", "authorizer", "login"] {
        assert!(
            !env(binary).contains_key("JWT_PRIVATE_KEY_SECRET_ARN"),
            "{binary}"
        );
    }
    assert!(env("token").contains_key("JWT_PRIVATE_KEY_SECRET_ARN"));
    for binary in ["token", "account", "login"] {
        assert!(
            env(binary)["SECOND_FACTOR_KEYS_SECRET_ARN"]
                .ends_with(":secret:second-factor-keys-AbCdEf"),
            "{binary}"
        );
    }
    for binary in ["signup", "me", "products", "authorizer", "jwks", "docs"] {
        assert!(
            !env(binary).contains_key("SECOND_FACTOR_KEYS_SECRET_ARN"),
            "{binary}"
        );
    }
}

#[test]
fn globals_parameters_and_sub_are_resolved() {
    let model = small(&[("Secret", "s3")]).unwrap();
    let items = &model.functions["ItemFn"];
    assert_eq!(items.binary, "items-bin");
    assert_eq!(items.timeout, Duration::from_secs(12));
    assert_eq!(items.memory_mb, 128);
    assert_eq!(items.environment["SHARED"], "from-globals");
    assert_eq!(items.environment["OVERRIDDEN"], "function");
    assert_eq!(items.environment["SECRET"], "s3");
    assert_eq!(items.environment["URL"], "https://local/60");
    let auth = &model.functions["AuthFn"];
    assert_eq!(
        (auth.binary.as_str(), auth.timeout, auth.memory_mb),
        ("auth", Duration::from_secs(7), 256)
    );
    assert_eq!(model.stage, "dev");
}

#[test]
fn routes_take_the_default_authorizer_unless_they_opt_out() {
    let model = small(&[("Secret", "s3")]).unwrap();
    assert_eq!(model.routes.len(), 2, "non-Api events are ignored");
    assert_eq!(
        model.routes[0],
        Route {
            method: "GET".into(),
            path: "/items/{id}".into(),
            function: "ItemFn".into(),
            authorizer: Some("Tok".into())
        }
    );
    assert_eq!(model.routes[1].authorizer, None);
    let authorizer = &model.authorizers["Tok"];
    assert_eq!(
        (authorizer.header.as_str(), authorizer.cache_ttl),
        ("X-Token", Duration::from_secs(60))
    );
    assert!(
        !authorizer
            .validation
            .as_ref()
            .unwrap()
            .is_match("xBearer y"),
        "the expression is anchored"
    );
}

#[test]
fn a_parameter_override_wins_over_the_default() {
    let model = small(&[("Secret", "s3"), ("Ttl", "5")]).unwrap();
    assert_eq!(model.authorizers["Tok"].cache_ttl, Duration::from_secs(5));
}

#[test]
fn a_parameter_without_value_is_an_error_naming_the_variable() {
    let error = small(&[]).unwrap_err().to_string();
    assert!(error.contains("SECRET"), "{error}");
}

#[test]
fn gateway_response_headers_lose_their_quotes() {
    let model = small(&[("Secret", "s3")]).unwrap();
    let unauthorized = &model.gateway_responses["UNAUTHORIZED"];
    assert_eq!(unauthorized.headers[0].1, "Bearer realm=\"x\"");
    assert_eq!(
        unauthorized.body_template.as_deref(),
        Some(r#"{"m":$context.error.messageString}"#)
    );
}

#[test]
fn the_project_template_configures_cors_with_open_preflights() {
    let model = project_template();
    let cors = model.cors.expect("Cors is configured");
    assert_eq!(cors.allow_origin, "*");
    assert_eq!(
        cors.allow_headers.as_deref(),
        Some("Authorization,Content-Type")
    );
    assert_eq!(
        model.preflight_authorizer, None,
        "AddDefaultAuthorizerToCorsPreflight: false"
    );
    for function in model.functions.values() {
        assert_eq!(
            function.environment["CORS_ALLOWED_ORIGIN"], "*",
            "{}",
            function.binary
        );
    }
    assert_eq!(
        model.gateway_responses["DEFAULT_4XX"].headers[0],
        ("Access-Control-Allow-Origin".to_owned(), "*".to_owned())
    );
}

#[test]
fn sam_guards_preflights_with_the_default_authorizer_unless_told_not_to() {
    let with_cors = SMALL.replace(
        "      StageName: dev\n",
        "      StageName: dev\n      Cors: \"'https://app.example'\"\n",
    );
    let overrides = BTreeMap::from([("Secret".to_owned(), "s3".to_owned())]);
    let model = parse(&with_cors, &overrides).unwrap();
    assert_eq!(model.cors.unwrap().allow_origin, "https://app.example");
    assert_eq!(model.preflight_authorizer.as_deref(), Some("Tok"));
    assert!(small(&[("Secret", "s3")]).unwrap().cors.is_none());
}

#[test]
fn parameter_overrides_reach_the_functions_and_unknown_ones_are_refused() {
    let model = project_template_with(&[
        ("UsersCollection", "user_model"),
        ("LegacyUserLookup", "true"),
    ])
    .unwrap();
    let me = &model.functions["MeFunction"].environment;
    assert_eq!(me["USERS_COLLECTION"], "user_model");
    assert_eq!(me["LEGACY_USER_LOOKUP"], "true");
    assert_eq!(
        me["METRICS_NAMESPACE"], "lambda-auth/local",
        "the stack is named local"
    );

    let error = project_template_with(&[("UserCollection", "user_model")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("no parameter UserCollection"), "{error}");
}
