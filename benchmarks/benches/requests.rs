//! What each request costs, each paired with its floor measured in the same run: the work no
//! implementation of that request can avoid. `bench-report` turns the medians into ratios.
//!
//! Needs a MongoDB-compatible server in `MONGODB_TEST_URI` (`make bench` starts one).

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, VerifyingKey};
use mongodb::bson::{Document, doc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::account_id::AccountId;
use shared::identity::credentials::{Password, Username};
use shared::identity::users::UserStore;
use shared::platform::clock::Clock;
use shared::stores::MongoStores;
use shared::testing::{event_json, request_from, token_settings};
use shared::tokens::TokenSettings;
use shared::tokens::{TokenIssuer, TokenVerifier};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    runtime: tokio::runtime::Runtime,
    database: mongodb::Database,
    stores: MongoStores,
    /// As the products function runs it: the catalogue cached for the default minute.
    products: products::State<MongoStores>,
    /// At the configured (default, OWASP) argon2id parameters: the real cost.
    hasher: PasswordHasher,
    issuer: TokenIssuer,
    authorizer: authorizer::State,
    public_pem: String,
    stored_hash: String,
    /// The seeded account's id, as its tokens name it.
    alice: AccountId,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys = shared::tokens::keys::generate_ed25519().unwrap();
    let settings: TokenSettings = token_settings();
    let issuer = TokenIssuer::from_pem(keys.private_pem.expose_secret(), settings.clone()).unwrap();
    let verifier = TokenVerifier::from_pem(&keys.public_pem, &settings).unwrap();
    let hasher = PasswordHasher::new(HashingParams::default()).unwrap();
    let (database, stores, products, stored_hash, alice) = runtime.block_on(async {
        let (database, stores) = shared::testing::mongo_stores().await;
        let products = products::State::new(&[], stores.clone(), Clock::system()).unwrap();
        let hash = hasher
            .hash(&Password::parse(PASSWORD).unwrap())
            .await
            .unwrap();
        let alice = Username::parse("alice").unwrap();
        stores
            .users
            .insert(&alice, &hash, SystemTime::now())
            .await
            .unwrap();
        let id = stores.users.find(&alice).await.unwrap().unwrap().id;
        (database, stores, products, hash, id)
    });
    Fixture {
        runtime,
        database,
        stores,
        products,
        hasher,
        issuer,
        authorizer: authorizer::State::new(verifier, shared::testing::token_settings()),
        public_pem: keys.public_pem,
        stored_hash,
        alice,
    }
}

fn authorizer(c: &mut Criterion, f: &Fixture) {
    let token = f
        .issuer
        .issue(f.alice.as_str(), 0, SystemTime::now())
        .unwrap()
        .token;
    let mut event = event_json("authorizer.json");
    event["authorizationToken"] = format!("Bearer {token}").into();
    let request: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(event).unwrap();
    let key = VerifyingKey::from_public_key_pem(&f.public_pem).unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .unwrap();
    let signature = Signature::from_slice(&signature).unwrap();

    let mut group = c.benchmark_group("authorizer");
    group.bench_function("request", |b| {
        b.iter(|| authorizer::authorize(&f.authorizer, black_box(&request)).unwrap())
    });
    group.bench_function("floor", |b| {
        b.iter(|| {
            key.verify_strict(black_box(signing_input.as_bytes()), &signature)
                .unwrap()
        })
    });
    group.finish();
}

fn token(c: &mut Criterion, f: &Fixture) {
    let (issuer, _, _) = shared::testing::token_pair();
    let state = token::State {
        stores: f.stores.clone(),
        hasher: f.hasher.clone(),
        issuer,
        mfa: shared::testing::mfa_settings(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::default(),
        roles: shared::access::roles::Roles::default(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
            .unwrap(),
        id_token_key: None,
        password_grant: true,
        upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
        hook_scopes_beyond_roles: false,
    };
    let event = event_json("token.json");
    let password = Password::presented(PASSWORD);
    let mut group = c.benchmark_group("token");
    group.sample_size(20);
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let response = token::handle(&state, request_from(&event)).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime)
            .iter(|| async { assert!(f.hasher.verify(&password, &f.stored_hash).await.unwrap()) })
    });
    group.finish();
}

fn protected_event(file: &str, account: &AccountId) -> Value {
    let mut event = event_json(file);
    event["requestContext"]["authorizer"] =
        json!({"principalId": account.as_str(), "ver": "0", "exp": "4102444800"});
    event
}

fn me_and_products(c: &mut Criterion, f: &Fixture) {
    let users = f.database.collection::<Document>("users");
    let me_event = protected_event("me.json", &f.alice);
    let products_event = protected_event("products.json", &f.alice);
    let by_id = doc! { "_id": f.alice.object_id() };
    let me = me::State {
        stores: f.stores.clone(),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let mut group = c.benchmark_group("me");
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let response = me::handle(&me, request_from(&me_event)).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let found = users.find_one(by_id.clone()).await;
            assert!(found.unwrap().is_some());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("products");
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let response = products::handle(&f.products, request_from(&products_event)).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let found = users.find_one(by_id.clone()).await;
            assert!(found.unwrap().is_some());
        })
    });
    group.finish();
}

fn signup(c: &mut Criterion, f: &Fixture) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let run = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let password = Password::parse(PASSWORD).unwrap();
    let state = signup::State {
        stores: f.stores.clone(),
        hasher: f.hasher.clone(),
        clock: Clock::system(),
        mailer: shared::mail::sender::Mailer::Off,
        mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        breached: shared::factors::breached_passwords::BreachedPasswords::off(),
        hooks: shared::hooks::Hooks::none(),
    };
    let mut group = c.benchmark_group("signup");
    group.sample_size(20);
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let mut event = event_json("signup.json");
            event["body"] = json!({"username": format!("u{run}-{n}"), "password": PASSWORD})
                .to_string()
                .into();
            let response = signup::handle(&state, request_from(&event)).await;
            assert_eq!(response.status(), 201);
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime)
            .iter(|| async { f.hasher.hash(&password).await.unwrap() })
    });
    group.finish();
}

/// A public, first-party relying party in the fixture's database.
fn relying_party(f: &Fixture) -> shared::access::relying_parties::RelyingParty {
    use shared::access::relying_parties::{
        ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
    };
    let party = RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Notes".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: vec![
            shared::access::redirect_uris::RedirectUri::register(REDIRECT).unwrap(),
        ],
        post_logout_redirect_uris: Vec::new(),
        scopes: shared::access::scopes::Scopes::parse("openid profile offline_access"),
        first_party: true,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: SystemTime::now(),
        created_by: f.alice.clone(),
    };
    f.runtime
        .block_on(f.stores.relying_parties.create(&party))
        .unwrap();
    party
}

const REDIRECT: &str = "https://notes.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0Hf1Xe-vaNAPcM8vN0QSQqWmQ5yk6bEQcZs";

/// The authorization-code exchange (an access token, an RS256 id_token, a refresh token)
/// against its floor: the six round trips it cannot avoid (the client, the code's redemption,
/// the account, the session, the replay check, the history) and one RS256 signature.
fn code_exchange(c: &mut Criterion, f: &Fixture) {
    use shared::authorization::codes::{
        AuthorizationCodeStore as _, AuthorizationGrant, CODE_LIFETIME,
    };
    let party = relying_party(f);
    let state = token::State {
        stores: f.stores.clone(),
        hasher: f.hasher.clone(),
        issuer: shared::testing::token_pair().0,
        mfa: shared::testing::mfa_settings(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::default(),
        roles: shared::access::roles::Roles::default(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
            .unwrap(),
        id_token_key: Some(shared::testing::id_token_key()),
        password_grant: true,
        upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
        hook_scopes_beyond_roles: false,
    };
    let issue = |count: u64| {
        let stores = f.stores.clone();
        let party = party.id.clone();
        let alice = f.alice.clone();
        async move {
            let mut codes = Vec::new();
            for _ in 0..count {
                let code = shared::sessions::generate().unwrap();
                let now = SystemTime::now();
                let grant = AuthorizationGrant {
                    client: party.clone(),
                    redirect_uri: REDIRECT.to_owned(),
                    code_challenge: shared::authorization::pkce::s256(VERIFIER),
                    nonce: Some("n-0S6_WzA2Mj".to_owned()),
                    scopes: shared::access::scopes::Scopes::parse("openid profile offline_access"),
                    account: alice.clone(),
                    token_version: 0,
                    login_session: "bench".to_owned(),
                    authenticated_at: now,
                    amr: vec!["pwd".to_owned()],
                    expires_at: now + CODE_LIFETIME * 60,
                };
                stores
                    .authorization_codes
                    .issue(&code.hash, &grant)
                    .await
                    .unwrap();
                codes.push(code.secret.expose_secret().to_owned());
            }
            codes
        }
    };
    let key = shared::testing::id_token_key();
    let claims = shared::tokens::id_tokens::IdTokenClaims {
        iss: "https://auth.test".to_owned(),
        sub: f.alice.as_str().to_owned(),
        aud: party.id.as_str().to_owned(),
        exp: 4_000_000_060,
        iat: 4_000_000_000,
        auth_time: 4_000_000_000,
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        amr: vec!["pwd".to_owned()],
        azp: party.id.as_str().to_owned(),
        at_hash: "77QmUPtjPfzWtF2AnpK9RQ".to_owned(),
        sid: "bench".to_owned(),
        preferred_username: Some("alice".to_owned()),
        email: None,
        email_verified: None,
    };
    let parties = f.database.collection::<Document>("relying_parties");
    let users = f.database.collection::<Document>("users");
    let codes = f.database.collection::<Document>("floor_codes");
    let sessions = f.database.collection::<Document>("floor_sessions");
    let events = f.database.collection::<Document>("floor_events");
    let mut group = c.benchmark_group("code-exchange");
    group.sample_size(20);
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter_custom(|iters| {
            let issued = issue(iters);
            let state = &state;
            let party = party.id.as_str().to_owned();
            async move {
                let codes = issued.await;
                let start = std::time::Instant::now();
                for code in codes {
                    let body = serde_urlencoded::to_string([
                        ("grant_type", "authorization_code"),
                        ("code", code.as_str()),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", VERIFIER),
                        ("client_id", party.as_str()),
                    ])
                    .unwrap();
                    let event = shared::testing::event_with_body("token.json", &body);
                    let response = token::handle(state, request_from(&event)).await;
                    assert_eq!(response.status(), 200);
                }
                start.elapsed()
            }
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime).iter_custom(|iters| {
            let (parties, users, codes, sessions, events) = (
                parties.clone(),
                users.clone(),
                codes.clone(),
                sessions.clone(),
                events.clone(),
            );
            let (key, claims, party, alice) = (&key, &claims, party.id.as_str(), f.alice.clone());
            async move {
                let ids: Vec<String> = (0..iters)
                    .map(|_| uuid::Uuid::new_v4().to_string())
                    .collect();
                let documents: Vec<Document> = ids
                    .iter()
                    .map(|id| doc! { "_id": id, "session": null })
                    .collect();
                if !documents.is_empty() {
                    codes.insert_many(documents).await.unwrap();
                }
                let start = std::time::Instant::now();
                for id in &ids {
                    assert!(
                        parties
                            .find_one(doc! { "_id": party })
                            .await
                            .unwrap()
                            .is_some()
                    );
                    codes
                        .find_one_and_update(
                            doc! { "_id": id, "session": null },
                            doc! { "$set": { "session": "s" } },
                        )
                        .await
                        .unwrap();
                    assert!(
                        users
                            .find_one(doc! { "_id": alice.object_id() })
                            .await
                            .unwrap()
                            .is_some()
                    );
                    sessions
                        .insert_one(doc! { "account": alice.as_str() })
                        .await
                        .unwrap();
                    codes
                        .find_one(doc! { "_id": id, "replayed": true })
                        .await
                        .unwrap();
                    events
                        .insert_one(doc! { "account": alice.as_str() })
                        .await
                        .unwrap();
                    black_box(shared::tokens::id_tokens::sign_rs256(claims, key).unwrap());
                }
                start.elapsed()
            }
        })
    });
    group.finish();
}

/// The hosted sign-in page for an authorization request without a login session, against
/// its floor: reading the relying party.
fn authorize_page(c: &mut Criterion, f: &Fixture) {
    let party = relying_party(f);
    let (_, _, public_pem) = shared::testing::token_pair();
    let login = login::State {
        stores: f.stores.clone(),
        hasher: f.hasher.clone(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::default(),
        mfa: shared::testing::mfa_settings(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: None,
        tokens: token_settings(),
        brand: login::brand::Brand::default(),
        id_tokens: shared::tokens::id_tokens::IdTokenVerifier::from_pem(&public_pem).unwrap(),
        accounts: signup::State::new(&[], f.stores.clone()).unwrap(),
        recovery: recovery::State::new(&[], f.stores.clone()).unwrap(),
        upstreams: shared::federation::upstream::Upstreams::from_source(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
    };
    let challenge = shared::authorization::pkce::s256(VERIFIER);
    let event = shared::testing::with_query(
        event_json("login-authorize.json"),
        json!({
            "response_type": "code",
            "client_id": party.id.as_str(),
            "redirect_uri": REDIRECT,
            "scope": "openid profile",
            "state": "af0ifjsldkj",
            "nonce": "n-0S6_WzA2Mj",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }),
    );
    let parties = f.database.collection::<Document>("relying_parties");
    let mut group = c.benchmark_group("authorize-page");
    group.bench_function("request", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let response = login::handle(&login, request_from(&event)).await;
            assert_eq!(response.status(), 200);
        })
    });
    group.bench_function("floor", |b| {
        b.to_async(&f.runtime).iter(|| async {
            let found = parties.find_one(doc! { "_id": party.id.as_str() }).await;
            assert!(found.unwrap().is_some());
        })
    });
    group.finish();
}

fn requests(c: &mut Criterion) {
    let f = fixture();
    authorizer(c, &f);
    token(c, &f);
    me_and_products(c, &f);
    signup(c, &f);
    code_exchange(c, &f);
    authorize_page(c, &f);
}

criterion_group!(benches, requests);
criterion_main!(benches);
