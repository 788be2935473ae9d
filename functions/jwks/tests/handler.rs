//! The JWKS and metadata handler on their sample events: a JWK Set a JWK library can verify
//! our tokens with, and RFC 8414 metadata naming the issuer the tokens carry.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use shared::testing::{
    event_json, id_token_key, id_token_key_pems, request_from, response_text, token_pair,
    token_settings,
};
use shared::tokens::{AccessClaims, TokenVerifier};
use std::time::SystemTime;

#[tokio::test]
async fn the_key_set_is_public_cacheable_and_verifies_a_real_token() {
    let (issuer, _, public_pem) = token_pair();
    let (_, _, previous_pem) = token_pair();
    let verifier =
        TokenVerifier::from_pem(&format!("{previous_pem}{public_pem}"), &token_settings()).unwrap();
    let id_token_keys = shared::tokens::id_tokens::public_jwks(&id_token_key_pems().1).unwrap();
    let keys = jwks::State::new(&verifier, id_token_keys, token_settings());
    let response = jwks::handle(&keys, request_from(&event_json("jwks.json"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["content-type"], "application/json");

    let set: JwkSet = serde_json::from_str(&response_text(&response)).unwrap();
    assert_eq!(
        set.keys.len(),
        3,
        "the previous and the current Ed25519 key, and the RSA id_token key"
    );
    let id_token_kid = id_token_key().kid().to_owned();
    let rsa = set
        .find(&id_token_kid)
        .expect("the id_token key by its kid");
    assert!(matches!(
        rsa.algorithm,
        jsonwebtoken::jwk::AlgorithmParameters::RSA(_)
    ));
    let token = issuer.issue("alice", 0, SystemTime::now()).unwrap().token;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[token_settings().audience]);
    let claims = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).unwrap();
    assert_eq!(claims.claims.sub, "alice");
}

#[tokio::test]
async fn the_metadata_names_the_tokens_issuer_and_endpoints_under_it() {
    let (issuer, verifier, _) = token_pair();
    let derived = shared::tokens::TokenSettings {
        issuer: String::new(),
        ..token_settings()
    };
    let event = event_json("oauth-metadata.json");
    for (settings, expected) in [
        (token_settings(), "https://auth.test".to_owned()),
        (derived, {
            let context = &event["requestContext"];
            format!(
                "https://{}/{}",
                context["domainName"].as_str().unwrap(),
                context["stage"].as_str().unwrap()
            )
        }),
    ] {
        let state = jwks::State::new(&verifier, Vec::new(), settings);
        let response = jwks::handle(&state, request_from(&event)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "public, max-age=300");
        let metadata: serde_json::Value = serde_json::from_str(&response_text(&response)).unwrap();
        assert_eq!(metadata["issuer"], expected);
        for (field, path) in [
            ("token_endpoint", "/token"),
            ("revocation_endpoint", "/revoke"),
            ("jwks_uri", "/.well-known/jwks.json"),
        ] {
            assert_eq!(metadata[field], format!("{expected}{path}"), "{field}");
        }
        assert!(
            metadata["response_types_supported"].is_array(),
            "RFC 8414 requires it"
        );
        assert_eq!(
            metadata["grant_types_supported"],
            serde_json::json!(jwks::GRANT_TYPES)
        );
        assert_eq!(
            metadata["scopes_supported"],
            serde_json::json!([
                "openid",
                "profile",
                "email",
                "offline_access",
                "account",
                "clients:admin",
                "products:write",
                "users:admin"
            ])
        );
        assert_eq!(
            metadata["response_types_supported"],
            serde_json::json!(["code"])
        );
        assert_eq!(
            metadata["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            metadata["authorization_endpoint"],
            format!("{expected}/authorize")
        );
        assert_eq!(
            metadata["token_endpoint_auth_methods_supported"],
            serde_json::json!(["none", "client_secret_basic", "client_secret_post"])
        );
    }
    let token = issuer.issue("alice", 0, SystemTime::now()).unwrap().token;
    assert_eq!(
        verifier.verify(&token).unwrap().iss,
        "https://auth.test",
        "tokens carry the issuer the metadata names"
    );
}

#[tokio::test]
async fn the_openid_configuration_is_the_rfc_8414_document_with_the_providers_fields() {
    let (_, verifier, _) = token_pair();
    let state = jwks::State::new(&verifier, Vec::new(), token_settings());
    let get = |path: &str| {
        let mut event = event_json("oauth-metadata.json");
        event["path"] = path.into();
        event["resource"] = path.into();
        event["requestContext"]["resourcePath"] = path.into();
        event
    };
    let openid = jwks::handle(
        &state,
        request_from(&get("/.well-known/openid-configuration")),
    )
    .await;
    assert_eq!(openid.status(), 200);
    let openid: serde_json::Value = serde_json::from_str(&response_text(&openid)).unwrap();
    let oauth = jwks::handle(
        &state,
        request_from(&get("/.well-known/oauth-authorization-server")),
    )
    .await;
    let oauth: serde_json::Value = serde_json::from_str(&response_text(&oauth)).unwrap();
    for (field, value) in oauth.as_object().unwrap() {
        assert_eq!(&openid[field], value, "{field} agrees in both documents");
    }
    assert_eq!(openid["issuer"], "https://auth.test");
    assert_eq!(openid["userinfo_endpoint"], "https://auth.test/userinfo");
    assert_eq!(
        openid["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        openid["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "EdDSA"])
    );
    assert_eq!(
        openid["authorization_response_iss_parameter_supported"],
        true
    );
    assert!(oauth.get("subject_types_supported").is_none());
}

#[tokio::test]
async fn without_the_password_grant_the_metadata_does_not_list_it() {
    let (_, verifier, _) = token_pair();
    let state = jwks::State::new(&verifier, Vec::new(), token_settings()).without_password_grant();
    let response = jwks::handle(&state, request_from(&event_json("oauth-metadata.json"))).await;
    let metadata: serde_json::Value = serde_json::from_str(&response_text(&response)).unwrap();
    let grants = metadata["grant_types_supported"].as_array().unwrap();
    assert!(
        !grants.iter().any(|grant| grant == "password"),
        "{grants:?}"
    );
    assert!(grants.iter().any(|grant| grant == "authorization_code"));
}
