//! The JWKS handler on its sample event: a JWK Set a JWK library can verify our tokens with.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use shared::testing::{event_json, request_from, response_text, token_pair, token_settings};
use shared::tokens::{AccessClaims, TokenVerifier};
use std::time::SystemTime;

#[tokio::test]
async fn the_key_set_is_public_cacheable_and_verifies_a_real_token() {
    let (issuer, _, public_pem) = token_pair();
    let (_, _, previous_pem) = token_pair();
    let verifier =
        TokenVerifier::from_pem(&format!("{previous_pem}{public_pem}"), &token_settings()).unwrap();
    let keys = jwks::State::new(&verifier);
    let response = jwks::handle(&keys, request_from(&event_json("jwks.json"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    assert_eq!(response.headers()["content-type"], "application/json");

    let set: JwkSet = serde_json::from_str(&response_text(&response)).unwrap();
    assert_eq!(set.keys.len(), 2, "the previous and the current key");
    let token = issuer.issue("alice", 0, SystemTime::now()).unwrap().token;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let key = DecodingKey::from_jwk(set.find(&kid).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[token_settings().audience]);
    let claims = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation).unwrap();
    assert_eq!(claims.claims.sub, "alice");
}
