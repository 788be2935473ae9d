//! WebAuthn ceremonies end to end between `shared::factors::passkeys::webauthn` and a software authenticator:
//! what a browser sends is verified, and each thing an attacker could change is refused.

use shared::factors::passkeys::Passkey;
use shared::factors::passkeys::webauthn::{
    self, AssertionResponse, PasskeyError, PasskeySettings, RegistrationResponse, RelyingParty,
    Started,
};
use shared::identity::account_id::AccountId;
use shared::testing::soft_passkey::SoftAuthenticator;
use std::time::SystemTime;

const ORIGIN: &str = "http://localhost:3000";

fn relying_party(id: &str, origins: &[&str]) -> RelyingParty {
    let request = lambda_http::Request::default();
    PasskeySettings::new(id, origins)
        .relying_party(&request)
        .expect("a relying party")
}

fn local() -> RelyingParty {
    relying_party("localhost", &[ORIGIN])
}

fn public_key(started: &Started) -> serde_json::Value {
    serde_json::json!({ "publicKey": started.options })
}

/// Registers a passkey for a new account and answers it as stored.
async fn registered(rp: &RelyingParty, authenticator: &mut SoftAuthenticator) -> Passkey {
    let account = AccountId::generate();
    let started = webauthn::start_registration(rp, &account, "alice", &[]).unwrap();
    let answer = authenticator.register(&public_key(&started)).await.unwrap();
    let response = RegistrationResponse::parse(answer.to_string().as_bytes()).unwrap();
    assert_eq!(response.challenge().unwrap(), started.challenge);
    let new = webauthn::finish_registration(rp, &started.state, &response).unwrap();
    Passkey {
        id: new.id,
        account,
        name: "test".to_owned(),
        transports: new.transports,
        public_key: new.public_key,
        state: new.state,
        sign_count: new.sign_count,
        backup_eligible: new.backup_eligible,
        created_at: SystemTime::now(),
        last_used_at: None,
        generation: 0,
    }
}

/// A sign-in challenge and the authenticator's answer to it.
async fn sign_in_answer(
    rp: &RelyingParty,
    authenticator: &mut SoftAuthenticator,
) -> (Started, AssertionResponse) {
    let started = webauthn::start_sign_in(rp).unwrap();
    let answer = authenticator
        .authenticate(&public_key(&started))
        .await
        .unwrap();
    let response = AssertionResponse::parse_sign_in(answer.to_string().as_bytes()).unwrap();
    (started, response)
}

#[tokio::test]
async fn a_registered_passkey_signs_in_and_its_counter_advances() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let mut passkey = registered(&rp, &mut authenticator).await;
    for _ in 0..3 {
        let (started, response) = sign_in_answer(&rp, &mut authenticator).await;
        assert_eq!(response.challenge().unwrap(), started.challenge);
        assert_eq!(response.credential_id(), passkey.id);
        let used = webauthn::verify_assertion(&rp, &started.state, &response, &passkey).unwrap();
        assert!(used.sign_count > passkey.sign_count, "the counter advances");
        passkey.state = used.state;
        passkey.sign_count = used.sign_count;
    }
}

#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_as_a_cloned_authenticator() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let mut passkey = registered(&rp, &mut authenticator).await;
    let clone = authenticator.credential();
    let (started, response) = sign_in_answer(&rp, &mut authenticator).await;
    let used = webauthn::verify_assertion(&rp, &started.state, &response, &passkey).unwrap();
    passkey.state = used.state;
    passkey.sign_count = used.sign_count;

    authenticator.restore(clone);
    let (started, response) = sign_in_answer(&rp, &mut authenticator).await;
    let refused = webauthn::verify_assertion(&rp, &started.state, &response, &passkey);
    assert!(
        matches!(refused, Err(PasskeyError::CounterRegression)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_answer_from_another_origin_is_refused() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&rp, &mut authenticator).await;
    authenticator.set_origin("http://localhost:4444");
    let (started, response) = sign_in_answer(&rp, &mut authenticator).await;
    let refused = webauthn::verify_assertion(&rp, &started.state, &response, &passkey);
    assert!(
        matches!(refused, Err(PasskeyError::Refused(_))),
        "{refused:?}"
    );

    let mut elsewhere = SoftAuthenticator::new("http://localhost:4444");
    let account = AccountId::generate();
    let started = webauthn::start_registration(&rp, &account, "bob", &[]).unwrap();
    let answer = elsewhere.register(&public_key(&started)).await.unwrap();
    let response = RegistrationResponse::parse(answer.to_string().as_bytes()).unwrap();
    let refused = webauthn::finish_registration(&rp, &started.state, &response);
    assert!(
        matches!(refused, Err(PasskeyError::Refused(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_answer_signed_for_another_relying_party_is_refused_even_from_an_allowed_origin() {
    let origin = "https://auth.example.com";
    let signed_for = relying_party("auth.example.com", &[origin]);
    let verifier = relying_party("example.com", &[origin]);
    let mut authenticator = SoftAuthenticator::new(origin);
    let passkey = registered(&signed_for, &mut authenticator).await;
    let (started, response) = sign_in_answer(&signed_for, &mut authenticator).await;
    let refused = webauthn::verify_assertion(&verifier, &started.state, &response, &passkey);
    assert!(
        matches!(refused, Err(PasskeyError::Refused(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_answer_to_one_challenge_does_not_verify_against_another() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&rp, &mut authenticator).await;
    let other = webauthn::start_sign_in(&rp).unwrap();
    let (_, response) = sign_in_answer(&rp, &mut authenticator).await;
    let refused = webauthn::verify_assertion(&rp, &other.state, &response, &passkey);
    assert!(
        matches!(refused, Err(PasskeyError::Refused(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn another_accounts_passkey_does_not_verify_as_this_one() {
    let rp = local();
    let mut alice = SoftAuthenticator::new(ORIGIN);
    let mut mallory = SoftAuthenticator::new(ORIGIN);
    let alices = registered(&rp, &mut alice).await;
    registered(&rp, &mut mallory).await;
    let (started, response) = sign_in_answer(&rp, &mut mallory).await;
    let refused = webauthn::verify_assertion(&rp, &started.state, &response, &alices);
    assert!(refused.is_err(), "{refused:?}");
}

#[tokio::test]
async fn a_passkey_answers_a_second_factor_challenge_naming_it() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&rp, &mut authenticator).await;
    let started = webauthn::start_second_factor(&rp, std::slice::from_ref(&passkey)).unwrap();
    let allowed = &started.options["allowCredentials"];
    assert_eq!(allowed[0]["id"], passkey.id, "{}", started.options);
    let answer = authenticator
        .authenticate(&public_key(&started))
        .await
        .unwrap();
    let response = AssertionResponse::parse_second_factor(answer.to_string().as_bytes()).unwrap();
    webauthn::verify_assertion(&rp, &started.state, &response, &passkey).unwrap();
    assert!(
        webauthn::start_second_factor(&rp, &[]).is_err(),
        "no passkey, no challenge"
    );
}

#[tokio::test]
async fn registration_options_exclude_the_accounts_passkeys_and_require_verification() {
    let rp = local();
    let mut authenticator = SoftAuthenticator::new(ORIGIN);
    let passkey = registered(&rp, &mut authenticator).await;
    let started = webauthn::start_registration(
        &rp,
        &passkey.account,
        "alice",
        std::slice::from_ref(&passkey),
    )
    .unwrap();
    let options = &started.options;
    assert_eq!(
        options["excludeCredentials"][0]["id"], passkey.id,
        "{options}"
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(options["rp"]["id"], "localhost");
}

#[test]
fn an_rp_id_that_is_no_domain_or_an_insecure_origin_is_a_configuration_error() {
    for env in [
        [
            ("PASSKEY_RP_ID", "https://example.com"),
            ("PASSKEY_ORIGINS", ""),
        ],
        [
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "http://example.com"),
        ],
        [
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "https://example.org"),
        ],
        [
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "https://evilexample.com"),
        ],
        [
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "http://localhost:3000"),
        ],
        [
            ("PASSKEY_RP_ID", "localhost"),
            ("PASSKEY_ORIGINS", "http://localhost.evil.com"),
        ],
        [
            ("PASSKEY_RP_ID", "example.com"),
            ("PASSKEY_ORIGINS", "https://example.com/path"),
        ],
    ] {
        assert!(PasskeySettings::from_source(&env).is_err(), "{env:?}");
    }
    let fine = [
        ("PASSKEY_RP_ID", "example.com"),
        (
            "PASSKEY_ORIGINS",
            "https://example.com, https://app.example.com",
        ),
    ];
    assert!(PasskeySettings::from_source(&fine).is_ok());
    let local = [
        ("PASSKEY_RP_ID", "localhost"),
        ("PASSKEY_ORIGINS", "http://localhost:3000"),
    ];
    assert!(PasskeySettings::from_source(&local).is_ok());
}

#[tokio::test]
async fn unconfigured_the_relying_party_is_the_apis_own_domain_and_its_https_origin() {
    let event = shared::testing::event_json("passkey-authentication-options.json");
    let request = shared::testing::request_from(&event);
    // Lambda's AWS_REGION wins over the region in the event's domain name, as deployed.
    let region = std::env::var("AWS_REGION")
        .ok()
        .filter(|region| !region.is_empty())
        .unwrap_or_else(|| "eu-west-1".to_owned());
    let domain = format!("abc123.execute-api.{region}.amazonaws.com");
    let rp = PasskeySettings::default()
        .relying_party(&request)
        .expect("derived from API Gateway's request context");
    assert_eq!(rp.id(), domain);

    let origin = format!("https://{domain}");
    let mut authenticator = SoftAuthenticator::new(&origin);
    let passkey = registered(&rp, &mut authenticator).await;
    let (started, response) = sign_in_answer(&rp, &mut authenticator).await;
    webauthn::verify_assertion(&rp, &started.state, &response, &passkey).unwrap();

    assert!(
        PasskeySettings::default()
            .relying_party(&lambda_http::Request::default())
            .is_none(),
        "no configuration and no API Gateway context: no relying party"
    );
}
