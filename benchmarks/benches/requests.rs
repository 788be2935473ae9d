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

fn requests(c: &mut Criterion) {
    let f = fixture();
    authorizer(c, &f);
    token(c, &f);
    me_and_products(c, &f);
    signup(c, &f);
}

criterion_group!(benches, requests);
criterion_main!(benches);
