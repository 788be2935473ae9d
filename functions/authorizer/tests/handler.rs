//! The authorizer on the sample TOKEN event and on every refusal.

use authorizer::{Unauthorized, authorize};
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::testing::{event_json, token_pair, token_settings};
use shared::tokens::keys::generate_ed25519;
use shared::tokens::{TokenIssuer, TokenVerifier};
use std::time::{Duration, SystemTime};

/// An account id, as tokens carry it in `sub`.
const ALICE: &str = "2bd806c97f0e00af1a1fc332";

fn request_with(authorization: Option<&str>) -> ApiGatewayCustomAuthorizerRequest {
    let mut event = event_json("authorizer.json");
    match authorization {
        Some(value) => event["authorizationToken"] = value.into(),
        None => drop(event.as_object_mut().unwrap().remove("authorizationToken")),
    }
    serde_json::from_value(event).unwrap()
}

fn decide(
    verifier: &TokenVerifier,
    request: &ApiGatewayCustomAuthorizerRequest,
) -> Result<Value, Unauthorized> {
    let state = authorizer::State::new(verifier.clone(), token_settings());
    authorize(&state, request).map(|response| serde_json::to_value(response).unwrap())
}

const STAGE: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod";

fn resources(statement: &Value) -> Vec<String> {
    statement["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_valid_token_gets_every_route_its_scopes_allow_with_the_caller_in_context() {
    let (issuer, verifier, _) = token_pair();
    let token = issuer.issue(ALICE, 3, SystemTime::now()).unwrap();
    let claims = verifier.verify(&token.token).unwrap();
    let response = decide(
        &verifier,
        &request_with(Some(&format!("Bearer {}", token.token))),
    )
    .unwrap();
    assert_eq!(response["principalId"], ALICE);
    let statements = response["policyDocument"]["Statement"].as_array().unwrap();
    assert_eq!(response["policyDocument"]["Version"], "2012-10-17");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(statements[0]["Action"], json!(["execute-api:Invoke"]));
    let allowed = resources(&statements[0]);
    for route in [
        "GET/users/me",
        "GET/products",
        "DELETE/users/me/sessions/*",
        "POST/users/me/password",
    ] {
        assert!(
            allowed.contains(&format!("{STAGE}/{route}")),
            "{route} in {allowed:?}"
        );
    }
    let protected = shared::access::scopes::PROTECTED_ROUTES.len();
    let denied = statements.get(1).map(resources).unwrap_or_default();
    assert_eq!(
        allowed.len() + denied.len(),
        protected,
        "every protected route, once"
    );
    for resource in &denied {
        assert!(!allowed.contains(resource));
    }
    assert!(
        statements
            .get(1)
            .is_none_or(|deny| deny["Effect"] == "Deny")
    );
    assert_eq!(
        response["context"],
        json!({
            "jti": token.token_id,
            "ver": 3,
            "exp": claims.exp,
            "amr": "pwd",
            "auth_time": claims.auth_time,
            "sid": "",
            "scope": "",
            "client_id": "",
        }),
        "what the protected functions check again (the token version and the expiry) and how \
         and when the user authenticated"
    );
}

#[test]
fn a_session_token_names_its_session_in_the_context() {
    let (issuer, verifier, _) = token_pair();
    let login = shared::tokens::Authentication {
        methods: vec!["pwd".to_owned()],
        at: SystemTime::now(),
        session: Some("family-1".to_owned()),
        scopes: shared::access::scopes::Scopes::none(),
        client: None,
    };
    let token = issuer
        .issue_for(ALICE, 0, &login, SystemTime::now())
        .unwrap();
    assert_eq!(
        verifier.verify(&token.token).unwrap().sid.as_deref(),
        Some("family-1")
    );
    let response = decide(
        &verifier,
        &request_with(Some(&format!("Bearer {}", token.token))),
    )
    .unwrap();
    assert_eq!(response["context"]["sid"], "family-1");
}

#[test]
fn the_sample_event_placeholder_is_unauthorized() {
    let (_, verifier, _) = token_pair();
    assert_eq!(
        decide(&verifier, &request_with(None).clone()),
        Err(Unauthorized)
    );
    let sample: ApiGatewayCustomAuthorizerRequest =
        serde_json::from_value(event_json("authorizer.json")).unwrap();
    assert_eq!(decide(&verifier, &sample), Err(Unauthorized));
}

#[test]
fn missing_malformed_expired_forged_and_misaddressed_tokens_are_unauthorized() {
    let (issuer, verifier, _) = token_pair();
    let (stranger, _, _) = token_pair();
    let valid = issuer.issue(ALICE, 0, SystemTime::now()).unwrap().token;
    let expired = issuer
        .issue("alice", 0, SystemTime::now() - Duration::from_secs(3600))
        .unwrap()
        .token;
    let foreign = stranger.issue(ALICE, 0, SystemTime::now()).unwrap().token;
    let keys = generate_ed25519().unwrap();
    let other_audience = shared::tokens::TokenSettings {
        audience: "another-api".to_owned(),
        ..token_settings()
    };
    let misaddressed =
        TokenIssuer::from_pem(keys.private_pem.expose_secret(), other_audience).unwrap();
    let same_key_verifier = TokenVerifier::from_pem(&keys.public_pem, &token_settings()).unwrap();
    let misaddressed = misaddressed
        .issue("alice", 0, SystemTime::now())
        .unwrap()
        .token;
    let mut tampered = valid.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");

    let cases: [(&str, Option<String>, &TokenVerifier); 8] = [
        ("no header", None, &verifier),
        ("empty header", Some(String::new()), &verifier),
        ("no scheme", Some(valid.clone()), &verifier),
        ("basic scheme", Some(format!("Basic {valid}")), &verifier),
        ("expired", Some(format!("Bearer {expired}")), &verifier),
        (
            "bad signature",
            Some(format!("Bearer {tampered}")),
            &verifier,
        ),
        ("another key", Some(format!("Bearer {foreign}")), &verifier),
        (
            "wrong audience",
            Some(format!("Bearer {misaddressed}")),
            &same_key_verifier,
        ),
    ];
    for (name, header, verifier) in cases {
        assert_eq!(
            decide(verifier, &request_with(header.as_deref())),
            Err(Unauthorized),
            "{name}"
        );
    }
}

#[test]
fn a_genuine_token_whose_subject_is_not_an_account_id_gets_an_explicit_deny() {
    let keys = generate_ed25519().unwrap();
    let verifier = TokenVerifier::from_pem(&keys.public_pem, &token_settings()).unwrap();
    let issuer = TokenIssuer::from_pem(keys.private_pem.expose_secret(), token_settings()).unwrap();
    let token = issuer.issue("alice", 0, SystemTime::now()).unwrap().token;
    let response = decide(&verifier, &request_with(Some(&format!("Bearer {token}")))).unwrap();
    assert_eq!(response["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(response["context"], json!({}));
}

#[test]
fn an_hs256_token_signed_with_the_public_key_is_unauthorized() {
    let (issuer, verifier, public_pem) = token_pair();
    let claims = json!({"sub": "alice", "iat": 1, "exp": 4_000_000_000u64, "iss": token_settings().issuer,
        "aud": token_settings().audience, "jti": "x"});
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(issuer.kid().to_owned());
    let forged = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(public_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        decide(&verifier, &request_with(Some(&format!("Bearer {forged}")))),
        Err(Unauthorized)
    );
}

#[test]
fn the_failure_reaches_api_gateway_as_exactly_unauthorized() {
    let diagnostic: lambda_runtime::Diagnostic = Unauthorized.into();
    assert_eq!(diagnostic.error_message, "Unauthorized");
}

#[test]
fn an_unusable_method_arn_is_unauthorized() {
    let (issuer, verifier, _) = token_pair();
    let token = issuer.issue(ALICE, 0, SystemTime::now()).unwrap().token;
    let mut request = request_with(Some(&format!("Bearer {token}")));
    request.method_arn = Some("garbage".to_owned());
    assert_eq!(decide(&verifier, &request), Err(Unauthorized));
}

#[test]
fn a_relying_partys_token_reaches_the_account_only_with_the_account_scope_and_a_machine_id_beside_an_account_is_denied()
 {
    let (issuer, verifier, _) = token_pair();
    let with_client = |client: &str, scopes: &str| {
        let login = shared::tokens::Authentication {
            client: Some(client.to_owned()),
            scopes: shared::access::scopes::Scopes::parse(scopes),
            ..shared::tokens::Authentication::password(SystemTime::now())
        };
        let token = issuer
            .issue_for(ALICE, 0, &login, SystemTime::now())
            .unwrap()
            .token;
        decide(&verifier, &request_with(Some(&format!("Bearer {token}")))).unwrap()
    };
    let allowed = |response: &Value| -> Vec<String> {
        response["policyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|statement| statement["Effect"] == "Allow")
            .flat_map(resources)
            .collect()
    };
    let relying_party = shared::access::client_id::RelyingPartyId::generate().unwrap();
    let openid = with_client(relying_party.as_str(), "openid profile");
    assert_eq!(openid["principalId"], ALICE);
    assert_eq!(openid["context"]["client_id"], relying_party.as_str());
    let routes = allowed(&openid);
    assert!(
        routes.iter().any(|route| route.ends_with("/GET/userinfo")),
        "{routes:?}"
    );
    assert!(
        !routes.iter().any(|route| route.ends_with("/GET/users/me")),
        "an application without the account scope cannot read the account: {routes:?}"
    );
    let account = with_client(relying_party.as_str(), "openid account");
    assert!(
        allowed(&account)
            .iter()
            .any(|route| route.ends_with("/GET/users/me"))
    );
    let machine = shared::access::client_id::ClientId::generate().unwrap();
    let response = with_client(machine.as_str(), "");
    assert_eq!(response["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(response["context"], json!({}));
}
