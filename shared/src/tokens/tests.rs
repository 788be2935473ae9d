use super::*;
use crate::tokens::keys::generate_ed25519;
use secrecy::ExposeSecret;
use std::time::Duration;

fn settings() -> TokenSettings {
    TokenSettings {
        issuer: "test-issuer".to_owned(),
        audience: "test-audience".to_owned(),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(86_400),
        session_ttl: Duration::from_secs(86_400),
    }
}

struct Pair {
    issuer: TokenIssuer,
    verifier: TokenVerifier,
    public_pem: String,
}

fn pair() -> Pair {
    let keys = generate_ed25519().unwrap();
    Pair {
        issuer: TokenIssuer::from_pem(keys.private_pem.expose_secret(), settings()).unwrap(),
        verifier: TokenVerifier::from_pem(&keys.public_pem, &settings()).unwrap(),
        public_pem: keys.public_pem,
    }
}

fn b64(json: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(json).unwrap())
}

fn valid_payload() -> serde_json::Value {
    let now = seconds_since_epoch(SystemTime::now());
    serde_json::json!({
        "sub": "alice", "iat": now, "exp": now + 600,
        "iss": "test-issuer", "aud": "test-audience", "jti": "j-1"
    })
}

#[test]
fn a_fresh_token_verifies_with_its_claims() {
    let pair = pair();
    let issued = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let claims = pair.verifier.verify(&issued.token).unwrap();
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.iss, "test-issuer");
    assert_eq!(claims.aud, "test-audience");
    assert_eq!(claims.exp - claims.iat, 900);
    assert_eq!(claims.jti, issued.token_id);
    assert_eq!(issued.expires_in, 900);
}

#[test]
fn the_header_names_eddsa_and_the_key_thumbprint() {
    let pair = pair();
    let issued = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let header = jsonwebtoken::decode_header(&issued.token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.kid.as_deref(), Some(pair.issuer.kid()));
    assert_eq!(
        pair.verifier.kids().collect::<Vec<_>>(),
        vec![pair.issuer.kid()]
    );
    assert_eq!(pair.issuer.kid().len(), 43, "base64url SHA-256 thumbprint");
}

#[test]
fn each_token_gets_a_unique_id() {
    let pair = pair();
    let first = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let second = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    assert_ne!(first.token_id, second.token_id);
}

#[test]
fn an_expired_token_is_rejected() {
    let pair = pair();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    let issued = pair.issuer.issue("alice", 0, two_hours_ago).unwrap();
    assert_eq!(
        pair.verifier.verify(&issued.token),
        Err(TokenError::Expired)
    );
}

#[test]
fn a_tampered_payload_is_rejected() {
    let pair = pair();
    let issued = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    let mut payload = valid_payload();
    payload["sub"] = "mallory".into();
    let forged = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    assert_eq!(pair.verifier.verify(&forged), Err(TokenError::BadSignature));
}

#[test]
fn alg_none_is_rejected() {
    let pair = pair();
    let header = serde_json::json!({"alg": "none", "typ": "JWT", "kid": pair.issuer.kid()});
    for token in [
        format!("{}.{}.", b64(&header), b64(&valid_payload())),
        format!("{}.{}", b64(&header), b64(&valid_payload())),
    ] {
        let result = pair.verifier.verify(&token);
        assert!(
            matches!(
                result,
                Err(TokenError::AlgorithmNotAllowed | TokenError::Malformed)
            ),
            "{token}: {result:?}"
        );
    }
}

#[test]
fn hs256_signed_with_the_public_key_as_secret_is_rejected() {
    let pair = pair();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(pair.issuer.kid().to_owned());
    let key = EncodingKey::from_secret(pair.public_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &valid_payload(), &key).unwrap();
    assert_eq!(
        pair.verifier.verify(&token),
        Err(TokenError::AlgorithmNotAllowed)
    );
}

#[test]
fn a_wrong_issuer_or_audience_is_rejected() {
    let pair = pair();
    let keys = generate_ed25519().unwrap();
    for (issuer, audience, claim) in [
        ("other", "test-audience", "iss"),
        ("test-issuer", "other", "aud"),
    ] {
        let other = TokenSettings {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ..settings()
        };
        let issuer = TokenIssuer::from_pem(keys.private_pem.expose_secret(), other).unwrap();
        let verifier = TokenVerifier::from_pem(&keys.public_pem, &settings()).unwrap();
        let issued = issuer.issue("alice", 0, SystemTime::now()).unwrap();
        assert_eq!(
            verifier.verify(&issued.token),
            Err(TokenError::InvalidClaims(claim.to_owned()))
        );
    }
    drop(pair);
}

#[test]
fn a_token_from_another_key_is_rejected() {
    let ours = pair();
    let theirs = pair();
    let issued = theirs.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    assert_eq!(
        ours.verifier.verify(&issued.token),
        Err(TokenError::UnknownKey)
    );
}

#[test]
fn another_key_claiming_our_kid_is_rejected() {
    let ours = pair();
    let theirs = pair();
    let issued = theirs.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": ours.issuer.kid()});
    let relabelled = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
    assert_eq!(
        ours.verifier.verify(&relabelled),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_without_kid_is_rejected() {
    let pair = pair();
    let key = EncodingKey::from_ed_pem(
        generate_ed25519()
            .unwrap()
            .private_pem
            .expose_secret()
            .as_bytes(),
    )
    .unwrap();
    let token =
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &valid_payload(), &key).unwrap();
    assert_eq!(pair.verifier.verify(&token), Err(TokenError::UnknownKey));
}

#[test]
fn header_key_hints_are_refused() {
    let pair = pair();
    let issued = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    for (name, value) in [
        ("jku", "https://evil.example/jwks"),
        ("x5u", "https://evil.example/cert"),
    ] {
        let mut header =
            serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": pair.issuer.kid()});
        header[name] = value.into();
        let token = format!("{}.{}.{}", b64(&header), parts[1], parts[2]);
        assert_eq!(
            pair.verifier.verify(&token),
            Err(TokenError::HeaderNotAllowed(name))
        );
    }
}

#[test]
fn garbage_is_malformed() {
    let pair = pair();
    for token in ["", "abc", "a.b.c", "Bearer x.y.z"] {
        assert_eq!(
            pair.verifier.verify(token),
            Err(TokenError::Malformed),
            "{token:?}"
        );
    }
}

#[test]
fn several_public_keys_are_accepted_for_rotation() {
    let old = generate_ed25519().unwrap();
    let new = generate_ed25519().unwrap();
    let both = format!("{}{}", old.public_pem, new.public_pem);
    let verifier = TokenVerifier::from_pem(&both, &settings()).unwrap();
    for keys in [&old, &new] {
        let issuer = TokenIssuer::from_pem(keys.private_pem.expose_secret(), settings()).unwrap();
        let issued = issuer.issue("alice", 0, SystemTime::now()).unwrap();
        assert!(verifier.verify(&issued.token).is_ok());
    }
}

#[test]
fn keys_of_the_wrong_kind_are_refused_at_load() {
    let keys = generate_ed25519().unwrap();
    assert!(
        TokenIssuer::from_pem(&keys.public_pem, settings()).is_err(),
        "public key as private"
    );
    assert!(
        TokenVerifier::from_pem(keys.private_pem.expose_secret(), &settings()).is_err(),
        "private as public"
    );
    assert!(TokenVerifier::from_pem("not a pem", &settings()).is_err());
}

#[test]
fn a_token_not_yet_valid_is_rejected() {
    let keys = generate_ed25519().unwrap();
    let private_pem = keys.private_pem.expose_secret();
    let verifier = TokenVerifier::from_pem(&keys.public_pem, &settings()).unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(
        TokenIssuer::from_pem(private_pem, settings())
            .unwrap()
            .kid()
            .to_owned(),
    );
    let mut payload = valid_payload();
    payload["nbf"] = (seconds_since_epoch(SystemTime::now()) + 3600).into();
    let key = EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &payload, &key).unwrap();
    assert_eq!(
        verifier.verify(&token),
        Err(TokenError::InvalidClaims("nbf".to_owned()))
    );
}

#[test]
fn an_oversized_token_is_rejected_before_parsing() {
    let pair = pair();
    let huge = format!(
        "{}.{}.{}",
        "a".repeat(4000),
        "b".repeat(4000),
        "c".repeat(200)
    );
    assert_eq!(pair.verifier.verify(&huge), Err(TokenError::TooLarge));
}

#[test]
fn non_canonical_base64_is_rejected() {
    let pair = pair();
    let issued = pair.issuer.issue("alice", 0, SystemTime::now()).unwrap();
    let parts: Vec<&str> = issued.token.split('.').collect();
    for forged in [
        format!("{}.{}=.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}==", parts[0], parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            parts[0],
            parts[1].replace('-', "+"),
            parts[2].replace('_', "/")
        ),
    ] {
        if forged == issued.token {
            continue;
        }
        assert!(pair.verifier.verify(&forged).is_err(), "{forged}");
    }
}

#[test]
fn a_key_rotation_keeps_old_tokens_valid_until_the_old_key_is_removed() {
    let old = generate_ed25519().unwrap();
    let new = generate_ed25519().unwrap();
    let old_issuer = TokenIssuer::from_pem(old.private_pem.expose_secret(), settings()).unwrap();
    let new_issuer = TokenIssuer::from_pem(new.private_pem.expose_secret(), settings()).unwrap();
    let before_rotation = old_issuer
        .issue("alice", 0, SystemTime::now())
        .unwrap()
        .token;

    // Step 1: publish the new key beside the old one; the old key still signs.
    let both = format!("{}{}", old.public_pem, new.public_pem);
    let during = TokenVerifier::from_pem(&both, &settings()).unwrap();
    assert!(during.verify(&before_rotation).is_ok());
    // Step 2: sign with the new key; tokens of both keys verify.
    let after_switch = new_issuer
        .issue("alice", 0, SystemTime::now())
        .unwrap()
        .token;
    assert!(during.verify(&after_switch).is_ok());
    // Step 3: after the longest token lifetime, remove the old key.
    let after = TokenVerifier::from_pem(&new.public_pem, &settings()).unwrap();
    assert_eq!(after.verify(&before_rotation), Err(TokenError::UnknownKey));
    assert!(after.verify(&after_switch).is_ok());
}

#[test]
fn the_jwks_lists_every_key_and_round_trips_a_verification_through_a_jwk_library() {
    let old = pair();
    let new = pair();
    let verifier = TokenVerifier::from_pem(
        &format!("{}{}", old.public_pem, new.public_pem),
        &settings(),
    )
    .unwrap();
    let published = serde_json::to_value(verifier.jwks()).unwrap();
    let keys = published["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for (jwk, issuer) in keys.iter().zip([&old.issuer, &new.issuer]) {
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["alg"], "EdDSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["kid"], issuer.kid());
        assert!(jwk.get("d").is_none(), "no private part");
    }

    // A client's view: parse the published JSON as a JWK Set, pick the key by the token's
    // kid, and verify with it.
    let text = published.to_string();
    let set: JwkSet = serde_json::from_str(&text).unwrap();
    let token = new
        .issuer
        .issue("alice", 3, SystemTime::now())
        .unwrap()
        .token;
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("the token's kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&["test-audience"]);
    let claims = jsonwebtoken::decode::<AccessClaims>(&token, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!((claims.sub.as_str(), claims.ver), ("alice", 3));
}
