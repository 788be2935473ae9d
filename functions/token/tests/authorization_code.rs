//! The authorization-code grant with in-memory stores: the tokens a code buys (an RS256
//! id_token that verifies with the published key, carrying the nonce, `at_hash` and the
//! login session), one exchange per code even in parallel, a replay that ends the first
//! exchange's session, every mismatch refused alike, confidential clients' secrets, and
//! refresh tokens bound to their relying party.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use shared::access::clients::{StoredSecret, generate_secret};
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
};
use shared::access::scopes::Scopes;
use shared::authorization::codes::{
    AuthorizationCodeStore as _, AuthorizationGrant, CODE_LIFETIME,
};
use shared::authorization::pkce::s256;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::credentials::{Password, Username};
use shared::identity::users::UserStore as _;
use shared::testing::{
    ManualClock, MemoryStores, id_token_key, id_token_key_pems, request_from, response_json,
    token_pair,
};
use shared::tokens::TokenVerifier;
use shared::tokens::id_tokens::{IdTokenClaims, access_token_hash, public_jwks};
use std::time::SystemTime;
use token::State;

const REDIRECT: &str = "https://notes.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0Hf1Xe-vaNAPcM8vN0QSQqWmQ5yk6bEQcZs";

struct Setup {
    state: State<MemoryStores>,
    verifier: TokenVerifier,
    public: RelyingPartyId,
    confidential: RelyingPartyId,
    secret: String,
    account: shared::identity::account_id::AccountId,
    time: ManualClock,
}

fn party(kind: ClientKind, first_party: bool) -> RelyingParty {
    RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Notes".to_owned(),
        kind,
        redirect_uris: vec![RedirectUri::register(REDIRECT).unwrap()],
        post_logout_redirect_uris: Vec::new(),
        scopes: Scopes::parse("openid profile email offline_access products:write"),
        first_party,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    }
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let stores = MemoryStores::default();
    let shared::identity::users::Insertion::Created(account) = stores
        .users
        .insert(
            &Username::parse("alice").unwrap(),
            "$argon2id$unused",
            SystemTime::now(),
        )
        .await
        .unwrap()
    else {
        panic!("alice exists")
    };
    stores.users.grant("alice", &["editor"]);
    let public = party(ClientKind::Public, false);
    let new = generate_secret().unwrap();
    let secret = new.secret.expose_secret().to_owned();
    let stored = StoredSecret {
        id: new.id,
        hash: hasher.hash(&Password::presented(&secret)).await.unwrap(),
        created_at: SystemTime::now(),
    };
    let confidential = party(
        ClientKind::Confidential {
            secrets: vec![stored],
        },
        true,
    );
    stores.relying_parties.create(&public).await.unwrap();
    stores.relying_parties.create(&confidential).await.unwrap();
    // The user allowed the third-party application everything it may ask for.
    shared::authorization::consents::ConsentStore::grant(
        &stores.consents,
        &account,
        &public.id,
        &public.scopes,
        SystemTime::now(),
    )
    .await
    .unwrap();
    let (issuer, verifier, _) = token_pair();
    let time = ManualClock::at(SystemTime::now());
    Setup {
        state: State {
            stores,
            hasher,
            issuer,
            mfa: shared::testing::mfa_settings(),
            clock: time.clock(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            roles: shared::access::roles::Roles::parse("editor=products:write").unwrap(),
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
                .unwrap(),
            id_token_key: Some(id_token_key()),
            password_grant: true,
            upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
            hooks: shared::hooks::Hooks::none(),
            hook_scopes_beyond_roles: false,
        },
        verifier,
        public: public.id,
        confidential: confidential.id,
        secret,
        account,
        time,
    }
}

/// Issues a code to `client` for `scope`, as the authorization endpoint would.
async fn code_for(setup: &Setup, client: &RelyingPartyId, scope: &str) -> String {
    let code = shared::sessions::generate().unwrap();
    let now = SystemTime::now();
    let grant = AuthorizationGrant {
        client: client.clone(),
        redirect_uri: REDIRECT.to_owned(),
        code_challenge: s256(VERIFIER),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        scopes: Scopes::parse(scope),
        account: setup.account.clone(),
        token_version: 0,
        login_session: "login-session-1".to_owned(),
        authenticated_at: now,
        amr: vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()],
        expires_at: now + CODE_LIFETIME,
    };
    setup
        .state
        .stores
        .authorization_codes
        .issue(&code.hash, &grant)
        .await
        .unwrap();
    code.secret.expose_secret().to_owned()
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn exchange_body(client: &RelyingPartyId, code: &str) -> String {
    form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", client.as_str()),
    ])
}

async fn post(setup: &Setup, body: &str, basic: Option<(&str, &str)>) -> (u16, Value) {
    let mut event = shared::testing::event_with_body("token.json", body);
    if let Some((id, secret)) = basic {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        event["headers"]["Authorization"] = Value::from(format!("Basic {encoded}"));
    }
    let response = token::handle(&setup.state, request_from(&event)).await;
    (response.status().as_u16(), response_json(&response))
}

fn id_token_claims(token: &str, audience: &str) -> IdTokenClaims {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let keys = public_jwks(&id_token_key_pems().1).unwrap();
    let key = keys
        .iter()
        .find(|key| key.common.key_id == header.kid)
        .expect("the id_token's kid is published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["https://auth.test"]);
    jsonwebtoken::decode::<IdTokenClaims>(token, &DecodingKey::from_jwk(key).unwrap(), &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn a_code_buys_an_access_token_for_the_relying_party_an_id_token_and_a_refresh_token() {
    let setup = setup().await;
    let code = code_for(
        &setup,
        &setup.public,
        "openid profile email offline_access products:write",
    )
    .await;
    let (status, body) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 200, "{body}");
    let access = body["access_token"].as_str().unwrap();
    let claims = setup.verifier.verify(access).unwrap();
    assert_eq!(claims.sub, setup.account.as_str());
    assert_eq!(claims.client_id.as_deref(), Some(setup.public.as_str()));
    assert_eq!(claims.amr, ["pwd", "otp", "mfa"]);
    assert_eq!(
        Scopes::parse(&claims.scope),
        Scopes::parse("openid profile email offline_access products:write")
    );
    let id = id_token_claims(body["id_token"].as_str().unwrap(), setup.public.as_str());
    assert_eq!(id.sub, setup.account.as_str());
    assert_eq!(id.azp, setup.public.as_str());
    assert_eq!(id.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert_eq!(id.at_hash, access_token_hash(access, false));
    assert_eq!(id.sid, "login-session-1");
    assert_eq!(id.preferred_username.as_deref(), Some("alice"));
    assert!(body["refresh_token"].is_string(), "offline_access: {body}");

    let refresh = body["refresh_token"].as_str().unwrap();
    let (status, refreshed) = post(
        &setup,
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", setup.public.as_str()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    let claims = setup
        .verifier
        .verify(refreshed["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.client_id.as_deref(), Some(setup.public.as_str()));
    assert!(Scopes::parse(&claims.scope).contains("products:write"));
}

#[tokio::test]
async fn without_offline_access_a_third_party_gets_no_refresh_token_and_only_granted_role_scopes() {
    let setup = setup().await;
    setup.state.stores.users.grant("alice", &[]);
    let code = code_for(&setup, &setup.public, "openid products:write").await;
    let (status, body) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        claims.scope, "openid",
        "the roles no longer grant products:write"
    );
    let id = id_token_claims(body["id_token"].as_str().unwrap(), setup.public.as_str());
    assert_eq!(id.preferred_username, None, "no profile scope");
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_ends_the_session_of_its_first_exchange() {
    let setup = setup().await;
    let code = code_for(&setup, &setup.public, "openid offline_access").await;
    let (status, first) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 200);
    let (status, replay) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 400);
    assert_eq!(replay["error"], "invalid_grant");
    let (status, refreshed) = post(
        &setup,
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("client_id", setup.public.as_str()),
        ]),
        None,
    )
    .await;
    assert_eq!(
        status, 400,
        "the first exchange's session is revoked: {refreshed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twelve_parallel_exchanges_of_one_code_exactly_one_succeeds() {
    let setup = std::sync::Arc::new(setup().await);
    for round in 0..5 {
        let code = code_for(&setup, &setup.public, "openid offline_access").await;
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let setup = setup.clone();
                let body = exchange_body(&setup.public, &code);
                tokio::spawn(async move { post(&setup, &body, None).await })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (status, body) = task.await.unwrap();
            if status == 200 {
                winners.push(body);
            } else {
                assert_eq!(status, 400, "{body}");
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        let (status, _) = post(
            &setup,
            &form(&[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    winners[0]["refresh_token"].as_str().unwrap(),
                ),
                ("client_id", setup.public.as_str()),
            ]),
            None,
        )
        .await;
        assert_eq!(
            status, 400,
            "round {round}: the replays ended the winner's session"
        );
    }
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_another_redirect_uri_or_another_client_is_refused_alike() {
    let setup = setup().await;
    let other = party(ClientKind::Public, false);
    setup
        .state
        .stores
        .relying_parties
        .create(&other)
        .await
        .unwrap();
    type Case<'a> = Box<dyn Fn(&str) -> String + 'a>;
    let cases: Vec<Case> = vec![
        Box::new(|code| {
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &VERIFIER.replace('d', "e")),
                ("client_id", setup.public.as_str()),
            ])
        }),
        Box::new(|code| {
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", setup.public.as_str()),
            ])
        }),
        Box::new(|code| {
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &format!("{REDIRECT}/")),
                ("code_verifier", VERIFIER),
                ("client_id", setup.public.as_str()),
            ])
        }),
        Box::new(|code| exchange_body(&other.id, code)),
        Box::new(|code| {
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", s256(VERIFIER).as_str()),
                ("client_id", setup.public.as_str()),
            ])
        }),
    ];
    let mut descriptions = std::collections::BTreeSet::new();
    for (index, case) in cases.iter().enumerate() {
        let code = code_for(&setup, &setup.public, "openid").await;
        let (status, body) = post(&setup, &case(&code), None).await;
        assert_eq!(status, 400, "case {index}: {body}");
        assert_eq!(body["error"], "invalid_grant", "case {index}");
        descriptions.insert(body["error_description"].as_str().unwrap().to_owned());
        let (status, _) = post(&setup, &exchange_body(&setup.public, &code), None).await;
        assert_eq!(
            status, 400,
            "case {index}: a refused exchange spends the code"
        );
    }
    assert_eq!(
        descriptions.len(),
        1,
        "one answer for every mismatch: {descriptions:?}"
    );
    let (status, body) = post(&setup, &exchange_body(&setup.public, "not-a-code"), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn an_expired_code_or_one_from_before_a_sign_out_is_refused() {
    let setup = setup().await;
    let code = code_for(&setup, &setup.public, "openid").await;
    setup
        .time
        .advance(CODE_LIFETIME + std::time::Duration::from_secs(1));
    let (status, _) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 400, "expired");
    let setup = self::setup().await;
    let code = code_for(&setup, &setup.public, "openid").await;
    setup
        .state
        .stores
        .users
        .bump_token_version(
            &setup.account,
            shared::identity::users::Revocation::Sessions,
            SystemTime::now(),
        )
        .await
        .unwrap();
    let (status, _) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 400, "the account signed out everywhere since");
}

#[tokio::test]
async fn a_confidential_client_must_present_its_secret_and_a_public_one_none() {
    let setup = setup().await;
    let code = code_for(&setup, &setup.confidential, "openid").await;
    let (status, body) = post(&setup, &exchange_body(&setup.confidential, &code), None).await;
    assert_eq!(status, 401, "no secret: {body}");
    assert_eq!(body["error"], "invalid_client");
    let code = code_for(&setup, &setup.confidential, "openid").await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let wrong = format!("{}x", &setup.secret[..setup.secret.len() - 1]);
    let (status, _) = post(&setup, &body, Some((setup.confidential.as_str(), &wrong))).await;
    assert_eq!(status, 401, "a wrong secret");
    let (status, answer) = post(
        &setup,
        &body,
        Some((setup.confidential.as_str(), &setup.secret)),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["refresh_token"].is_string(),
        "a first-party client gets a refresh token without offline_access"
    );
    let code = code_for(&setup, &setup.public, "openid").await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let (status, _) = post(&setup, &body, Some((setup.public.as_str(), &setup.secret))).await;
    assert_eq!(status, 401, "a public client has no secret to present");
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_its_session_ends() {
    let setup = setup().await;
    let code = code_for(&setup, &setup.public, "openid offline_access").await;
    let (_, first) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    let refresh = first["refresh_token"].as_str().unwrap();
    let other = party(ClientKind::Public, false);
    setup
        .state
        .stores
        .relying_parties
        .create(&other)
        .await
        .unwrap();
    for client in [None, Some(other.id.as_str())] {
        let setup_code = code_for(&setup, &setup.public, "openid offline_access").await;
        let (_, fresh) = post(&setup, &exchange_body(&setup.public, &setup_code), None).await;
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
        ];
        if let Some(client) = client {
            pairs.push(("client_id", client));
        }
        let (status, body) = post(&setup, &form(&pairs), None).await;
        assert_eq!(status, 400, "{client:?}: {body}");
    }
    let (status, _) = post(
        &setup,
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", setup.public.as_str()),
        ]),
        None,
    )
    .await;
    assert_eq!(status, 200, "the untouched session still refreshes");
}

#[tokio::test]
async fn during_a_rotation_both_secrets_authenticate_and_a_removed_one_no_longer_does() {
    use shared::access::relying_parties::{SecretAddition, SecretRemoval};
    let setup = setup().await;
    let parties = &setup.state.stores.relying_parties;
    let first_id = shared::access::clients::secret_id(&setup.secret)
        .unwrap()
        .to_owned();
    let new = generate_secret().unwrap();
    let second = new.secret.expose_secret().to_owned();
    let stored = StoredSecret {
        id: new.id.clone(),
        hash: setup
            .state
            .hasher
            .hash(&Password::presented(&second))
            .await
            .unwrap(),
        created_at: SystemTime::now(),
    };
    let added = parties.add_secret(&setup.confidential, &stored).await;
    assert_eq!(added.unwrap(), SecretAddition::Added);
    let exchange = |secret: String| {
        let setup = &setup;
        async move {
            let code = code_for(setup, &setup.confidential, "openid").await;
            let body = form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ]);
            post(setup, &body, Some((setup.confidential.as_str(), &secret)))
                .await
                .0
        }
    };
    assert_eq!(exchange(setup.secret.clone()).await, 200, "the old secret");
    assert_eq!(exchange(second.clone()).await, 200, "the new secret");
    let removed = parties.remove_secret(&setup.confidential, &first_id).await;
    assert_eq!(removed.unwrap(), SecretRemoval::Removed);
    assert_eq!(exchange(setup.secret.clone()).await, 401, "removed");
    assert_eq!(exchange(second).await, 200, "the new secret still");
}

#[tokio::test]
async fn a_code_whose_consent_was_taken_back_buys_nothing_and_its_session_ends() {
    use shared::authorization::consents::ConsentStore as _;
    use shared::sessions::SessionStore as _;
    let setup = setup().await;
    let code = code_for(&setup, &setup.public, "openid offline_access").await;
    let revoked = setup
        .state
        .stores
        .consents
        .revoke(&setup.account, &setup.public)
        .await;
    assert!(revoked.unwrap());
    let (status, body) = post(&setup, &exchange_body(&setup.public, &code), None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    let active = setup
        .state
        .stores
        .sessions
        .active_sessions(&setup.account, SystemTime::now())
        .await
        .unwrap();
    assert!(
        active.is_empty(),
        "the session the exchange began was ended"
    );

    let code = code_for(&setup, &setup.confidential, "openid").await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let (status, _) = post(
        &setup,
        &body,
        Some((setup.confidential.as_str(), &setup.secret)),
    )
    .await;
    assert_eq!(status, 200, "a first-party application needs no consent");
}
