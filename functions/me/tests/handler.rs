//! `GET /users/me` on the sample event and on every refusal, with an in-memory store.

use serde_json::{Value, json};
use shared::factors::second_factors::SecondFactorStore as _;
use shared::identity::credentials::Username;
use shared::identity::users::UserStore as _;
use shared::platform::clock::Clock;
use shared::testing::{MemoryStores, MemoryUserStore, event_json, request_from, response_json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn store_with_alice() -> MemoryUserStore {
    let created = UNIX_EPOCH + Duration::from_millis(1_795_926_600_123);
    MemoryUserStore::with_user("alice", "$argon2id$v=19$stored-hash", created)
}

async fn call(store: &MemoryUserStore, event: &Value) -> (u16, Value) {
    let state = me::State {
        stores: MemoryStores::with_users(store),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let response = me::handle(&state, request_from(event)).await;
    (response.status().as_u16(), response_json(&response))
}

#[tokio::test]
async fn the_sample_event_returns_the_callers_own_record_without_the_hash() {
    let store = store_with_alice();
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({
            "username": "alice", "created_at": "2026-11-29T04:30:00.123Z", "disabled": false,
            "email": null,
            "two_factor": {"enabled": false, "recovery_codes_remaining": 0},
            "has_password": true,
            "username_editable": false,
            "identities": [],
        })
    );
    assert!(!body.to_string().contains("argon2"));
}

#[tokio::test]
async fn linked_identities_are_listed_with_their_id_and_what_the_provider_asserted() {
    use shared::identity::identities::{Identity, IdentityStore as _};
    let store = store_with_alice();
    let stores = MemoryStores::with_users(&store);
    let linked_at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let identity = Identity {
        issuer: "https://accounts.google.com".to_owned(),
        subject: "1078".to_owned(),
        account: shared::testing::seeded_account_id("alice"),
        email: Some(
            shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap(),
        ),
        email_verified: true,
        linked_at,
        last_used_at: linked_at,
    };
    stores.identities.link(&identity).await.unwrap();
    let state = me::State {
        stores,
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let response = me::handle(&state, request_from(&event_json("me.json"))).await;
    let body = response_json(&response);
    assert_eq!(
        body["identities"],
        json!([{
            "id": identity.id(),
            "issuer": "https://accounts.google.com",
            "subject": "1078",
            "email": "alice@example.com",
            "email_verified": true,
            "linked_at": "2027-01-15T08:00:00.000Z",
            "last_used_at": "2027-01-15T08:00:00.000Z",
        }])
    );
    assert_eq!(identity.id().len(), 24);
}

#[tokio::test]
async fn two_factor_shows_whether_totp_is_on_and_how_many_recovery_codes_remain() {
    let store = store_with_alice();
    let stores = MemoryStores::with_users(&store);
    let alice = shared::testing::seeded_account_id("alice");
    let sealed = shared::factors::secret_box::Sealed {
        key_id: "k".to_owned(),
        nonce: vec![0; 12],
        ciphertext: vec![1; 36],
    };
    let factors = &stores.second_factors;
    factors
        .begin_enrolment(&alice, &sealed, SystemTime::now())
        .await
        .unwrap();
    let state = me::State {
        stores: stores.clone(),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    assert_eq!(
        answer(&state).await["two_factor"]["enabled"],
        false,
        "pending is not on"
    );
    let hashes = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
    factors.confirm(&alice, &sealed, 1, &hashes).await.unwrap();
    let body = answer(&state).await;
    assert_eq!(
        body["two_factor"],
        json!({"enabled": true, "recovery_codes_remaining": 3})
    );
    assert!(!body.to_string().contains("ciphertext"));
}

#[tokio::test]
async fn the_record_is_the_callers_not_a_fixed_user() {
    let store = store_with_alice();
    store
        .insert(
            &Username::parse("Bob.Smith").unwrap(),
            "$argon2id$x",
            SystemTime::now(),
        )
        .await
        .unwrap();
    let bob = store.user("bob.smith").unwrap();
    let mut event = event_json("me.json");
    event["requestContext"]["authorizer"]["principalId"] = bob.id.as_str().into();
    let (status, body) = call(&store, &event).await;
    assert_eq!(status, 200);
    assert_eq!(body["username"], "Bob.Smith");
}

#[tokio::test]
async fn a_request_without_an_authorizer_principal_is_401() {
    let store = store_with_alice();
    let mut event = event_json("me.json");
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let (status, body) = call(&store, &event).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthenticated");
}

#[tokio::test]
async fn an_unknown_or_disabled_caller_is_403() {
    let store = store_with_alice();
    let mut event = event_json("me.json");
    event["requestContext"]["authorizer"]["principalId"] = "0123456789abcdef01234567".into();
    assert_eq!(call(&store, &event).await.0, 403, "unknown account");

    store.disable("alice");
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 403, "disabled user");
    assert_eq!(body["error"], "forbidden");
}

#[tokio::test]
async fn a_store_failure_is_500() {
    let (status, body) = call(&MemoryUserStore::failing(), &event_json("me.json")).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"], "internal_error");
}

#[tokio::test]
async fn an_unreachable_database_is_503() {
    let (status, body) = call(&MemoryUserStore::unreachable(), &event_json("me.json")).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"], "service_unavailable");
}

#[tokio::test]
async fn a_token_older_than_the_accounts_token_version_is_401() {
    let store = store_with_alice();
    let alice = store.user("alice").unwrap().id;
    store
        .bump_token_version(
            &alice,
            shared::identity::users::Revocation::Sessions,
            SystemTime::now(),
        )
        .await
        .unwrap();
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 401, "ver 0 after a logout-everywhere");
    assert_eq!(body["error"], "unauthenticated");

    for version in [serde_json::json!("1"), serde_json::json!(1)] {
        let mut event = event_json("me.json");
        event["requestContext"]["authorizer"]["ver"] = version.clone();
        assert_eq!(call(&store, &event).await.0, 200, "ver {version}");
    }
}

#[tokio::test]
async fn an_expired_token_behind_a_cached_allow_is_401() {
    let store = store_with_alice();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let leeway = shared::tokens::CLOCK_SKEW_LEEWAY_SECONDS;
    for (exp, expected) in [
        (json!((now + 60).to_string()), 200),
        (json!(now - leeway + 2), 200),
        (json!(now - leeway - 1), 401),
        (json!((now - 3600).to_string()), 401),
        (json!("soon"), 401),
    ] {
        let mut event = event_json("me.json");
        event["requestContext"]["authorizer"]["exp"] = exp.clone();
        let (status, body) = call(&store, &event).await;
        assert_eq!(status, expected, "exp {exp}: {body}");
    }
    let mut event = event_json("me.json");
    let context = event["requestContext"]["authorizer"]
        .as_object_mut()
        .unwrap();
    context.remove("exp");
    assert_eq!(call(&store, &event).await.0, 401, "a context without exp");
}

#[tokio::test]
async fn a_principal_that_is_not_an_account_id_is_401() {
    let store = store_with_alice();
    for principal in ["alice", "", "2BD806C97F0E00AF1A1FC332"] {
        let mut event = event_json("me.json");
        event["requestContext"]["authorizer"]["principalId"] = principal.into();
        assert_eq!(call(&store, &event).await.0, 401, "{principal:?}");
    }
}

#[tokio::test]
async fn a_name_deleted_and_registered_again_does_not_inherit_the_old_accounts_tokens() {
    let store = store_with_alice();
    store.delete("alice");
    let alice = Username::parse("alice").unwrap();
    store
        .insert(&alice, "$argon2id$new-owner", SystemTime::now())
        .await
        .unwrap();
    let (status, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(status, 403, "the old account's token: {body}");
    assert_eq!(body["error"], "forbidden");
}

async fn answer(state: &me::State<MemoryStores>) -> Value {
    response_json(&me::handle(state, request_from(&event_json("me.json"))).await)
}

#[tokio::test]
async fn sessions_are_the_callers_active_ones_with_its_own_marked() {
    use shared::platform::http::RequestSource;
    use shared::sessions::{Session, SessionStore as _};
    let store = store_with_alice();
    let stores = MemoryStores::with_users(&store);
    let alice = shared::testing::seeded_account_id("alice");
    let now = SystemTime::now();
    let hour = Duration::from_secs(3600);
    let mut mine = Session::new(&alice, 0, now, hour);
    mine.family = "0b6f2c1e-8d4f-4f57-9a3e-2f1c6d7e8a90".to_owned();
    mine.client = RequestSource {
        ip: Some("198.51.100.4".to_owned()),
        user_agent: Some("Phone/2.0".to_owned()),
    };
    let other = Session::new(&alice, 0, now - hour / 2, hour);
    let ended = Session::new(&alice, 0, now, hour);
    let bobs = Session::new(&shared::testing::seeded_account_id("bob"), 0, now, hour);
    let tokens = &stores.sessions;
    for (session, hash) in [(&mine, "h1"), (&other, "h2"), (&ended, "h3"), (&bobs, "h4")] {
        tokens
            .start(session, hash, session.authenticated_at, hour)
            .await
            .unwrap();
    }
    tokens.revoke_family(&ended.family).await.unwrap();
    let state = me::State {
        stores: stores.clone(),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let response = me::handle(&state, request_from(&event_json("me-sessions.json"))).await;
    assert_eq!(response.status(), 200);
    let body = response_json(&response);
    let sessions = body["sessions"].as_array().unwrap();
    let ids: Vec<&str> = sessions.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine.family.as_str(), other.family.as_str()], "{body}");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[1]["current"], false);
    assert_eq!(sessions[0]["ip"], "198.51.100.4");
    assert_eq!(sessions[0]["user_agent"], "Phone/2.0");
    assert_eq!(sessions[0]["amr"], json!(["pwd"]));
    assert!(!body.to_string().contains("h1"), "no token hash");
}

#[tokio::test]
async fn the_export_needs_a_recent_login() {
    let store = store_with_alice();
    let state = me::State {
        stores: MemoryStores::with_users(&store),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let stale = event_json("me-export.json");
    let response = me::handle(&state, request_from(&stale)).await;
    assert_eq!(response.status(), 403, "the sample login is old");
    assert_eq!(
        response_json(&response)["error"],
        "insufficient_user_authentication"
    );
    let mut fresh = event_json("me-export.json");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    fresh["requestContext"]["authorizer"]["auth_time"] = now.to_string().into();
    let response = me::handle(&state, request_from(&fresh)).await;
    assert_eq!(response.status(), 200);
    let export = response_json(&response);
    assert_eq!(export["account"]["username"], "alice");
    assert_eq!(export["events_complete"], true);
    assert!(!export.to_string().contains("argon2"), "no hash");
}

#[tokio::test]
async fn the_account_shows_its_verified_address_and_one_waiting_for_its_code() {
    use shared::identity::users::UserStore as _;
    let store = store_with_alice();
    let alice = shared::testing::seeded_account_id("alice");
    let now = std::time::SystemTime::now();
    let verified =
        shared::identity::email_address::EmailAddress::parse("Alice@Example.com").unwrap();
    store
        .set_pending_email(&alice, Some(&verified), 0, now)
        .await
        .unwrap();
    let (_, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(
        body["email"],
        serde_json::json!({"address": "Alice@example.com", "verified": false, "pending_address": null})
    );
    store.verify_email(&alice, &verified, 0, now).await.unwrap();
    let next = shared::identity::email_address::EmailAddress::parse("alice@new.example").unwrap();
    store
        .set_pending_email(&alice, Some(&next), 0, now)
        .await
        .unwrap();
    let (_, body) = call(&store, &event_json("me.json")).await;
    assert_eq!(
        body["email"],
        serde_json::json!({"address": "Alice@example.com", "verified": true, "pending_address": "alice@new.example"})
    );
}

#[tokio::test]
async fn userinfo_answers_sub_and_the_claims_of_the_granted_scopes_and_needs_openid() {
    let store = store_with_alice();
    let alice = shared::testing::seeded_account_id("alice");
    let mut event = event_json("userinfo.json");
    let (status, body) = call(&store, &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "sub": alice.as_str(), "preferred_username": "alice" }),
        "no verified address, so no email claim"
    );
    event["requestContext"]["authorizer"]["scope"] = "openid".into();
    let (_, body) = call(&store, &event).await;
    assert_eq!(
        body,
        json!({ "sub": alice.as_str() }),
        "profile not granted"
    );
    event["requestContext"]["authorizer"]["scope"] = "".into();
    event["requestContext"]["authorizer"]["client_id"] = "".into();
    let (status, body) = call(&store, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn consents_list_the_callers_applications_with_their_names_and_scopes_only() {
    use shared::access::relying_parties::{
        ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
    };
    use shared::authorization::consents::ConsentStore as _;
    let store = store_with_alice();
    let stores = MemoryStores::with_users(&store);
    let alice = shared::testing::seeded_account_id("alice");
    let bob = shared::testing::seeded_account_id("bob");
    let party = RelyingParty {
        id: RelyingPartyId::parse("rp_aaaaaaaaaaaaaaaaaaaaaaaa").unwrap(),
        name: "Elsewhere".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        scopes: shared::access::scopes::Scopes::parse("openid profile"),
        first_party: false,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: SystemTime::now(),
        created_by: bob.clone(),
    };
    stores.relying_parties.create(&party).await.unwrap();
    let gone = RelyingPartyId::parse("rp_bbbbbbbbbbbbbbbbbbbbbbbb").unwrap();
    let scopes = shared::access::scopes::Scopes::parse("openid profile");
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    for (account, client) in [(&alice, &party.id), (&alice, &gone), (&bob, &party.id)] {
        stores
            .consents
            .grant(account, client, &scopes, at)
            .await
            .unwrap();
    }
    let state = me::State {
        stores,
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    let response = me::handle(&state, request_from(&event_json("me-consents.json"))).await;
    assert_eq!(response.status(), 200);
    let body = response_json(&response);
    assert_eq!(
        body,
        json!({ "consents": [
            { "client_id": party.id.as_str(), "name": "Elsewhere", "scopes": ["openid", "profile"], "granted_at": "2027-01-15T08:00:00.000Z" },
            { "client_id": gone.as_str(), "name": null, "scopes": ["openid", "profile"], "granted_at": "2027-01-15T08:00:00.000Z" },
        ]})
    );
}
