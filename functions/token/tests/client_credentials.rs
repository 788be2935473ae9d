//! The client-credentials grant with in-memory stores: a token for at most the client's
//! scopes, both ways of authenticating, one refusal for every wrong credential, the lockout
//! per client under parallel guesses, rotation with two valid secrets, and deletion.

use base64::Engine as _;
use secrecy::ExposeSecret;
use serde_json::Value;
use shared::access::client_id::ClientId;
use shared::access::clients::{ClientStore, MachineClient, StoredSecret, generate_secret};
use shared::access::roles::Roles;
use shared::access::scopes::Scopes;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::credentials::Password;
use shared::testing::{
    ManualClock, MemoryStores, event_json, request_from, response_json, token_pair,
};
use shared::tokens::TokenVerifier;
use std::time::SystemTime;
use token::State;

struct Setup {
    state: State<MemoryStores>,
    verifier: TokenVerifier,
    client: ClientId,
    secret: String,
}

async fn stored_secret(hasher: &PasswordHasher) -> (String, StoredSecret) {
    let new = generate_secret().unwrap();
    let secret = new.secret.expose_secret().to_owned();
    let hash = hasher.hash(&Password::presented(&secret)).await.unwrap();
    let stored = StoredSecret {
        id: new.id,
        hash,
        created_at: SystemTime::now(),
    };
    (secret, stored)
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let (secret, stored) = stored_secret(&hasher).await;
    let stores = MemoryStores::default();
    let client = ClientId::generate().unwrap();
    stores
        .clients
        .create(&MachineClient {
            id: client.clone(),
            name: "billing".to_owned(),
            scopes: Scopes::parse("products:write"),
            secrets: vec![stored],
            created_at: SystemTime::now(),
            created_by: shared::testing::seeded_account_id("alice"),
        })
        .await
        .unwrap();
    let (issuer, verifier, _) = token_pair();
    let state = State {
        stores,
        hasher,
        issuer,
        mfa: shared::testing::mfa_settings(),
        clock: ManualClock::default().clock(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        roles: Roles::default(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
            .unwrap(),
        id_token_key: None,
        password_grant: true,
        upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
        hook_scopes_beyond_roles: false,
    };
    Setup {
        state,
        verifier,
        client,
        secret,
    }
}

fn form_event(body: &str) -> Value {
    let mut event = event_json("token-client-credentials.json");
    event["body"] = body.into();
    let headers = event["headers"].as_object_mut().unwrap();
    headers.remove("Authorization");
    event["multiValueHeaders"]
        .as_object_mut()
        .unwrap()
        .remove("Authorization");
    event
}

fn basic_event(id: &str, secret: &str, body: &str) -> Value {
    let mut event = form_event(body);
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    let value = format!("Basic {encoded}");
    event["headers"]["Authorization"] = value.clone().into();
    event["multiValueHeaders"]["Authorization"] = serde_json::json!([value]);
    event
}

async fn call(setup: &Setup, event: &Value) -> (u16, String, Value) {
    let response = token::handle(&setup.state, request_from(event)).await;
    let status = response.status().as_u16();
    let text = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (status, text, response_json(&response))
}

#[tokio::test]
async fn a_client_gets_a_token_for_its_scopes_and_no_refresh_token() {
    let setup = setup().await;
    let (status, _, body) = call(
        &setup,
        &basic_event(
            setup.client.as_str(),
            &setup.secret,
            "grant_type=client_credentials",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "products:write");
    assert!(body.get("refresh_token").is_none());
    let claims = setup
        .verifier
        .verify(body["access_token"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.sub, setup.client.as_str());
    assert_eq!(claims.client_id.as_deref(), Some(setup.client.as_str()));
    assert_eq!(claims.scope, "products:write");
    assert!(claims.amr.is_empty());
    assert_eq!(
        claims.sid.as_deref(),
        shared::access::clients::secret_id(&setup.secret),
        "the token names the secret it was minted with"
    );

    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        setup.client, setup.secret
    );
    let (status, _, _) = call(&setup, &form_event(&form)).await;
    assert_eq!(status, 200, "form authentication works too");
}

#[tokio::test]
async fn a_client_may_ask_for_less_but_never_for_more() {
    let setup = setup().await;
    let (_, _, narrowed) = call(
        &setup,
        &basic_event(
            setup.client.as_str(),
            &setup.secret,
            "grant_type=client_credentials&scope=",
        ),
    )
    .await;
    assert_eq!(narrowed["scope"], "products:write");
    for asked in ["users:admin", "products:write users:admin", "made:up"] {
        let body = format!("grant_type=client_credentials&scope={asked}");
        let (status, _, answer) = call(
            &setup,
            &basic_event(setup.client.as_str(), &setup.secret, &body),
        )
        .await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_scope")),
            "{asked}"
        );
    }
}

#[tokio::test]
async fn every_wrong_credential_gets_the_same_401() {
    let setup = setup().await;
    let unknown = ClientId::generate().unwrap();
    let other_secret = generate_secret().unwrap();
    let cases = [
        basic_event(
            setup.client.as_str(),
            other_secret.secret.expose_secret(),
            "grant_type=client_credentials",
        ),
        basic_event(
            unknown.as_str(),
            &setup.secret,
            "grant_type=client_credentials",
        ),
        basic_event(
            "not-a-client",
            &setup.secret,
            "grant_type=client_credentials",
        ),
        basic_event(setup.client.as_str(), "", "grant_type=client_credentials"),
        form_event("grant_type=client_credentials"),
        form_event(&format!(
            "grant_type=client_credentials&client_id={}",
            setup.client
        )),
    ];
    let mut answers = Vec::new();
    for event in &cases {
        let response = token::handle(&setup.state, request_from(event)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"token\""
        );
        answers.push(response_json(&response));
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    assert_eq!(answers[0]["error"], "invalid_client");

    let both = basic_event(
        setup.client.as_str(),
        &setup.secret,
        &format!("grant_type=client_credentials&client_id={}", setup.client),
    );
    let (status, _, body) = call(&setup, &both).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_secrets_lock_the_id_for_wrong_secrets_only() {
    let setup = std::sync::Arc::new(setup().await);
    let guesses: Vec<_> = (0..16)
        .map(|_| {
            let setup = setup.clone();
            tokio::spawn(async move {
                let wrong = generate_secret().unwrap();
                let event = basic_event(
                    setup.client.as_str(),
                    wrong.secret.expose_secret(),
                    "grant_type=client_credentials",
                );
                call(&setup, &event).await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for guess in guesses {
        statuses.push(guess.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        11,
        "{statuses:?}"
    );
    let (status, _, _) = call(
        &setup,
        &basic_event(
            setup.client.as_str(),
            &setup.secret,
            "grant_type=client_credentials",
        ),
    )
    .await;
    assert_eq!(
        status, 200,
        "whoever knows the id cannot lock the client out"
    );
}

#[tokio::test]
async fn during_a_rotation_both_secrets_work_and_a_deleted_client_gets_nothing() {
    let setup = setup().await;
    let (new_secret, stored) = stored_secret(&setup.state.hasher).await;
    let clients = &setup.state.stores.clients;
    assert_eq!(
        clients.add_secret(&setup.client, &stored).await.unwrap(),
        shared::access::clients::SecretAddition::Added
    );
    for secret in [&setup.secret, &new_secret] {
        let event = basic_event(
            setup.client.as_str(),
            secret,
            "grant_type=client_credentials",
        );
        assert_eq!(call(&setup, &event).await.0, 200);
    }
    let old_id = shared::access::clients::secret_id(&setup.secret).unwrap();
    clients.remove_secret(&setup.client, old_id).await.unwrap();
    let old = basic_event(
        setup.client.as_str(),
        &setup.secret,
        "grant_type=client_credentials",
    );
    assert_eq!(
        call(&setup, &old).await.0,
        401,
        "the replaced secret ends with the rotation"
    );

    assert!(clients.delete(&setup.client).await.unwrap());
    let new = basic_event(
        setup.client.as_str(),
        &new_secret,
        "grant_type=client_credentials",
    );
    assert_eq!(call(&setup, &new).await.0, 401);
}
