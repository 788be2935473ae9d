//! The admin API on its sample events with in-memory stores: who may use it, every action
//! and its audit record, and the refusals.

use admin::State;
use serde_json::Value;
use shared::access::clients::ClientStore;
use shared::access::roles::Roles;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::factors::passkeys::PasskeyStore as _;
use shared::factors::second_factors::SecondFactorStore;
use shared::factors::secret_box::Sealed;
use shared::identity::account_events::EventKind;
use shared::identity::account_id::AccountId;
use shared::identity::credentials::Username;
use shared::identity::users::{Insertion, UserStore};
use shared::stores::Stores;
use shared::testing::{
    ManualClock, MemoryStores, MemoryUserStore, event_json, request_from, response_json,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The sample events' `auth_time`.
const LOGIN: u64 = 1_795_926_600;

struct Setup {
    state: State<MemoryStores>,
    time: ManualClock,
    alice: AccountId,
    bob: AccountId,
}

async fn with_factor(stores: &MemoryStores, account: &AccountId) {
    let sealed = Sealed {
        key_id: "k1".to_owned(),
        nonce: vec![1; 12],
        ciphertext: vec![2; 36],
    };
    let factors = stores.second_factors();
    assert!(
        factors
            .begin_enrolment(account, &sealed, SystemTime::now())
            .await
            .unwrap()
    );
    assert!(factors.confirm(account, &sealed, 1, &[]).await.unwrap());
}

/// alice, an administrator with a second factor, logged in a minute ago; bob, a user.
async fn setup() -> Setup {
    let users = MemoryUserStore::with_user("alice", "$argon2id$x", SystemTime::now());
    users.grant("alice", &["admin"]);
    let Insertion::Created(bob) = users
        .insert(
            &Username::parse("bob").unwrap(),
            "$argon2id$y",
            SystemTime::now(),
        )
        .await
        .unwrap()
    else {
        panic!("bob is new")
    };
    let stores = MemoryStores::with_users(&users);
    let alice = users.user("alice").unwrap().id;
    with_factor(&stores, &alice).await;
    let time = ManualClock::at(UNIX_EPOCH + Duration::from_secs(LOGIN + 60));
    let state = State {
        stores,
        roles: Roles::default(),
        recent_authentication: Duration::from_secs(600),
        clock: time.clock(),
        hasher: PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap(),
        reset_code_ttl: Duration::from_secs(86_400),
    };
    Setup {
        state,
        time,
        alice,
        bob,
    }
}

fn on(name: &str, target: &AccountId) -> Value {
    let mut event = event_json(name);
    if event["pathParameters"].is_object() {
        event["pathParameters"]["id"] = target.as_str().into();
    }
    event
}

async fn call(setup: &Setup, event: &Value) -> (u16, Value) {
    let response = admin::handle(&setup.state, request_from(event)).await;
    let body = match response.body() {
        lambda_http::Body::Empty => Value::Null,
        _ => response_json(&response),
    };
    (response.status().as_u16(), body)
}

fn list_with(query: Value) -> Value {
    shared::testing::with_query(event_json("admin-list.json"), query)
}

fn kinds(setup: &Setup, account: &AccountId) -> Vec<EventKind> {
    setup.state.stores.events.kinds_of(account)
}

#[tokio::test]
async fn the_sample_list_event_lists_accounts_by_name_a_page_at_a_time() {
    let setup = setup().await;
    let (status, body) = call(&setup, &event_json("admin-list.json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"][0]["username"], "alice");
    assert_eq!(body["users"][0]["roles"], serde_json::json!(["admin"]));
    assert!(body["users"][0].get("password_hash").is_none());
    assert_eq!(body["next"], Value::Null);

    let first = list_with(serde_json::json!({"limit": "1"}));
    let (_, page) = call(&setup, &first).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap().to_owned();
    let second = list_with(serde_json::json!({"limit": "1", "after": next}));
    let (_, page) = call(&setup, &second).await;
    assert_eq!(page["users"][0]["username"], "bob");
    assert_eq!(page["next"], Value::Null);

    for (query, field) in [
        (serde_json::json!({"limit": "0"}), "limit"),
        (serde_json::json!({"limit": "101"}), "limit"),
        (serde_json::json!({"after": "%%%"}), "after"),
        (serde_json::json!({"role": "Not A Role"}), "role"),
        (serde_json::json!({"disabled": "yes"}), "disabled"),
    ] {
        let event = list_with(query.clone());
        let (status, body) = call(&setup, &event).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (422, Some(field)),
            "{query}"
        );
    }
    let admins = list_with(serde_json::json!({"role": "admin"}));
    assert_eq!(
        call(&setup, &admins).await.1["users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let by_prefix = list_with(serde_json::json!({"prefix": "B"}));
    assert_eq!(
        call(&setup, &by_prefix).await.1["users"][0]["username"],
        "bob"
    );
}

#[tokio::test]
async fn a_stale_login_or_one_without_the_second_factor_is_refused() {
    let setup = setup().await;
    let event = on("admin-read.json", &setup.bob);
    setup.time.advance(Duration::from_secs(600));
    let (status, body) = call(&setup, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("insufficient_user_authentication"))
    );

    let setup = self::setup().await;
    let mut password_only = on("admin-read.json", &setup.bob);
    password_only["requestContext"]["authorizer"]["amr"] = "pwd".into();
    let (status, body) = call(&setup, &password_only).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("second_factor_required"))
    );
    let mut passkey_only = on("admin-read.json", &setup.bob);
    passkey_only["requestContext"]["authorizer"]["amr"] = "hwk user mfa".into();
    let (status, body) = call(&setup, &passkey_only).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("second_factor_required")),
        "a passkey alone, registered perhaps before TOTP was on, is not the password and TOTP"
    );
    let mut password_and_passkey = on("admin-read.json", &setup.bob);
    password_and_passkey["requestContext"]["authorizer"]["amr"] = "pwd hwk mfa".into();
    assert_eq!(call(&setup, &password_and_passkey).await.0, 200);

    setup
        .state
        .stores
        .second_factors()
        .remove(&setup.alice)
        .await
        .unwrap();
    let (status, body) = call(&setup, &on("admin-read.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("second_factor_required")),
        "an administrator without a second factor"
    );
}

#[tokio::test]
async fn disabling_ends_the_accounts_sessions_and_is_recorded_with_the_administrator() {
    let setup = setup().await;
    let (status, body) = call(&setup, &on("admin-disable.json", &setup.bob)).await;
    assert_eq!(
        (status, body["disabled"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let bob = setup.state.stores.users.user("bob").unwrap();
    assert_eq!(
        bob.token_version, 1,
        "every token of bob's is refused from now on"
    );
    assert_eq!(kinds(&setup, &setup.bob), [EventKind::AccountDisabled]);
    let recorded = setup.state.stores.events.all();
    assert_eq!(recorded[0].actor.as_ref(), Some(&setup.alice));

    let (status, body) = call(&setup, &on("admin-read.json", &setup.bob)).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"][0]["type"], "account_disabled");
    assert_eq!(body["events"][0]["actor"], setup.alice.as_str());
    assert_eq!(body["two_factor"]["enabled"], false);

    let (status, body) = call(&setup, &on("admin-enable.json", &setup.bob)).await;
    assert_eq!((status, body["disabled"].as_bool()), (200, Some(false)));
    assert_eq!(
        kinds(&setup, &setup.bob),
        [EventKind::AccountDisabled, EventKind::AccountEnabled]
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_disable_demote_or_delete_themselves() {
    let setup = setup().await;
    for (name, event) in [
        ("disable", on("admin-disable.json", &setup.alice)),
        ("delete", on("admin-delete.json", &setup.alice)),
        ("demote", {
            let mut event = on("admin-roles.json", &setup.alice);
            event["body"] = r#"{"roles": []}"#.into();
            event
        }),
    ] {
        let (status, body) = call(&setup, &event).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (409, Some("last_administrator")),
            "{name}"
        );
    }
    let alice = setup.state.stores.users.user("alice").unwrap();
    assert!(
        !alice.disabled && alice.roles == ["admin"],
        "nothing changed"
    );

    // An administrator role needs the account's second factor first.
    let (status, body) = call(&setup, &on("admin-roles.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("target_needs_second_factor"))
    );
    with_factor(&setup.state.stores, &setup.bob).await;

    // With a second administrator, alice may step down.
    let (status, _) = call(&setup, &on("admin-roles.json", &setup.bob)).await;
    assert_eq!(status, 200);
    assert_eq!(kinds(&setup, &setup.bob), [EventKind::RolesChanged]);
    let (status, body) = call(&setup, &on("admin-disable.json", &setup.alice)).await;
    assert_eq!((status, body["disabled"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn roles_must_be_defined_and_the_same_roles_change_nothing() {
    let setup = setup().await;
    let mut unknown = on("admin-roles.json", &setup.bob);
    unknown["body"] = r#"{"roles": ["root"]}"#.into();
    let (status, body) = call(&setup, &unknown).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("roles")));
    let mut not_a_list = on("admin-roles.json", &setup.bob);
    not_a_list["body"] = r#"{"roles": "admin"}"#.into();
    assert_eq!(call(&setup, &not_a_list).await.0, 422);

    let mut same = on("admin-roles.json", &setup.bob);
    same["body"] = r#"{"roles": []}"#.into();
    assert_eq!(call(&setup, &same).await.0, 200);
    assert_eq!(
        setup.state.stores.users.user("bob").unwrap().token_version,
        0
    );
    assert!(kinds(&setup, &setup.bob).is_empty(), "no change, no event");
}

#[tokio::test]
async fn unlock_logout_second_factor_reset_and_delete_act_on_the_account() {
    let setup = setup().await;
    let (status, _) = call(&setup, &on("admin-unlock.json", &setup.bob)).await;
    assert_eq!(status, 200);
    let (status, _) = call(&setup, &on("admin-logout.json", &setup.bob)).await;
    assert_eq!(status, 200);
    assert_eq!(
        setup.state.stores.users.user("bob").unwrap().token_version,
        1
    );

    let (status, body) = call(&setup, &on("admin-reset-mfa.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("no_second_factor"))
    );
    with_factor(&setup.state.stores, &setup.bob).await;
    let passkey = shared::factors::passkeys::Passkey {
        id: "bobs-passkey".to_owned(),
        account: setup.bob.clone(),
        name: "phone".to_owned(),
        transports: vec![],
        public_key: vec![1; 40],
        state: vec![0; 7],
        sign_count: 0,
        backup_eligible: true,
        created_at: std::time::SystemTime::now(),
        last_used_at: None,
        generation: 0,
    };
    setup.state.stores.passkeys().add(&passkey).await.unwrap();
    let (status, read) = call(&setup, &on("admin-read.json", &setup.bob)).await;
    assert_eq!(
        (status, &read["passkeys"][0]["name"]),
        (200, &Value::from("phone")),
        "{read}"
    );
    let (status, _) = call(&setup, &on("admin-reset-mfa.json", &setup.bob)).await;
    assert_eq!(status, 200);
    assert!(
        setup
            .state
            .stores
            .passkeys()
            .list(&setup.bob)
            .await
            .unwrap()
            .is_empty(),
        "the lost phone's passkey goes with its TOTP"
    );
    assert!(
        setup
            .state
            .stores
            .second_factors()
            .find(&setup.bob)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        kinds(&setup, &setup.bob),
        [
            EventKind::AccountUnlocked,
            EventKind::LoggedOutEverywhere,
            EventKind::SecondFactorReset
        ]
    );

    let (status, _) = call(&setup, &on("admin-delete.json", &setup.bob)).await;
    assert_eq!(status, 204);
    assert!(setup.state.stores.users.user("bob").is_none());
    let (status, body) = call(&setup, &on("admin-delete.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("account_not_found"))
    );
    let deleted = setup.state.stores.events.all();
    let last = deleted.last().unwrap();
    assert_eq!(last.kind, EventKind::AccountDeleted);
    assert_eq!(last.actor.as_ref(), Some(&setup.alice));
    assert_ne!(last.account, setup.bob, "kept under a pseudonym");
}

#[tokio::test]
async fn an_unknown_or_malformed_account_id_is_404() {
    let setup = setup().await;
    let mut event = event_json("admin-read.json");
    let (status, body) = call(&setup, &event).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("account_not_found"))
    );
    event["pathParameters"]["id"] = "{\"$ne\":null}".into();
    assert_eq!(call(&setup, &event).await.0, 404);
}

#[tokio::test]
async fn a_disabled_administrator_is_refused_at_once() {
    let setup = setup().await;
    setup.state.stores.users.disable("alice");
    let (status, _) = call(&setup, &event_json("admin-list.json")).await;
    assert_eq!(status, 403);
}

/// alice holds `support` (accounts only), bob `admin` (everything), carol nothing.
async fn support_setup() -> Setup {
    let mut setup = setup().await;
    setup.state.roles = Roles::parse(
        "admin=users:admin,clients:admin,products:write;support=users:admin;editor=products:write",
    )
    .unwrap();
    let users = &setup.state.stores.users;
    users.grant("alice", &["support"]);
    users.grant("bob", &["admin"]);
    with_factor(&setup.state.stores, &setup.bob).await;
    setup
}

fn as_support(mut event: Value) -> Value {
    event["requestContext"]["authorizer"]["scope"] = "users:admin".into();
    event
}

#[tokio::test]
async fn an_administrator_cannot_act_above_their_own_scopes() {
    let setup = support_setup().await;
    for name in [
        "admin-read.json",
        "admin-disable.json",
        "admin-delete.json",
        "admin-logout.json",
        "admin-email-delete.json",
    ] {
        let (status, body) = call(&setup, &as_support(on(name, &setup.bob))).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("target_more_privileged")),
            "{name}"
        );
    }
    let mut promote_self = as_support(on("admin-roles.json", &setup.alice));
    promote_self["body"] = r#"{"roles": ["admin"]}"#.into();
    let (status, body) = call(&setup, &promote_self).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("role_exceeds_yours"))
    );
    let mut make_editor = as_support(on("admin-roles.json", &setup.alice));
    make_editor["body"] = r#"{"roles": ["support", "editor"]}"#.into();
    let (status, body) = call(&setup, &make_editor).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("role_exceeds_yours"))
    );
    let alice = setup.state.stores.users.user("alice").unwrap();
    assert_eq!(alice.roles, ["support"], "nothing changed");
    assert!(setup.state.stores.events.all().is_empty());
}

#[tokio::test]
async fn a_token_with_scopes_the_roles_no_longer_grant_is_refused() {
    let mut setup = setup().await;
    setup.state.roles = Roles::parse("admin=users:admin").unwrap();
    let (status, _) = call(&setup, &event_json("admin-list.json")).await;
    assert_eq!(
        status, 401,
        "the token still says clients:admin and products:write"
    );
}

#[tokio::test]
async fn an_administrators_second_factor_is_not_reset_while_they_are_one() {
    let setup = support_setup().await;
    let (status, body) = call(&setup, &as_support(on("admin-reset-mfa.json", &setup.bob))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("target_more_privileged")),
        "support cannot touch admin"
    );
    let setup = self::setup().await;
    setup.state.stores.users.grant("bob", &["admin"]);
    with_factor(&setup.state.stores, &setup.bob).await;
    let (status, body) = call(&setup, &on("admin-reset-mfa.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("privileged_account"))
    );
    assert!(
        setup
            .state
            .stores
            .second_factors()
            .find(&setup.bob)
            .await
            .unwrap()
            .is_some()
    );
}

fn on_client(name: &str, client: &str, secret: Option<&str>) -> Value {
    let mut event = event_json(name);
    event["pathParameters"]["id"] = client.into();
    if let Some(secret) = secret {
        event["pathParameters"]["secret_id"] = secret.into();
    }
    event
}

#[tokio::test]
async fn a_client_is_created_with_a_secret_shown_once_rotated_and_deleted() {
    let setup = setup().await;
    let response = admin::handle(
        &setup.state,
        request_from(&event_json("admin-clients-create.json")),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created = response_json(&response);
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert_eq!(
        response.headers()["location"],
        format!("/admin/clients/{id}")
    );
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["scopes"], serde_json::json!(["products:write"]));
    assert_eq!(created["created_by"], setup.alice.as_str());
    let stored = &setup.state.stores.clients.list(None, 10).await.unwrap()[0];
    assert!(
        stored.secrets[0].hash.starts_with("$argon2id$"),
        "only the hash is kept"
    );
    assert!(!stored.secrets[0].hash.contains(&secret));

    let (status, listed) = call(&setup, &event_json("admin-clients.json")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["clients"][0]["client_id"], id.as_str());
    assert!(!listed.to_string().contains(&secret), "never listed");
    assert!(!listed.to_string().contains("argon2"), "nor its hash");

    let (status, rotated) = call(&setup, &on_client("admin-clients-rotate.json", &id, None)).await;
    assert_eq!(status, 201);
    assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2);
    assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
    let (status, body) = call(&setup, &on_client("admin-clients-rotate.json", &id, None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("rotation_in_progress")),
        "a retried rotation never evicts the secret in use"
    );
    let old_id = shared::access::clients::secret_id(&secret).unwrap();
    let (status, _) = call(
        &setup,
        &on_client("admin-clients-remove-secret.json", &id, Some(old_id)),
    )
    .await;
    assert_eq!(status, 204);
    let new_id = rotated["secret_id"].as_str().unwrap();
    let (status, body) = call(
        &setup,
        &on_client("admin-clients-remove-secret.json", &id, Some(new_id)),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (409, Some("last_secret")));
    let (status, body) = call(
        &setup,
        &on_client("admin-clients-remove-secret.json", &id, Some(old_id)),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("secret_not_found"))
    );

    let (status, _) = call(&setup, &on_client("admin-clients-delete.json", &id, None)).await;
    assert_eq!(status, 204);
    let (status, body) = call(&setup, &on_client("admin-clients-delete.json", &id, None)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("client_not_found"))
    );
    let (status, _) = call(&setup, &event_json("admin-clients-delete.json")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_client_gets_only_scopes_clients_may_hold_and_the_administrator_has() {
    let setup = setup().await;
    let with_body =
        |body: &str| shared::testing::event_with_body("admin-clients-create.json", body);
    for (body, field) in [
        (r#"{"name": "x", "scopes": ["users:admin"]}"#, "scopes"),
        (r#"{"name": "x", "scopes": ["made:up"]}"#, "scopes"),
        (r#"{"name": "x", "scopes": "products:write"}"#, "scopes"),
        (r#"{"name": "  ", "scopes": []}"#, "name"),
        (r#"{"scopes": []}"#, "name"),
    ] {
        let (status, answer) = call(&setup, &with_body(body)).await;
        assert_eq!(
            (status, answer["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let mut support = support_setup().await;
    support.state.roles =
        Roles::parse("admin=users:admin,clients:admin,products:write;support=clients:admin")
            .unwrap();
    let mut event = event_json("admin-clients-create.json");
    event["requestContext"]["authorizer"]["scope"] = "clients:admin".into();
    let (status, answer) = call(&support, &event).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("scope_exceeds_yours"))
    );
    assert!(
        support
            .state
            .stores
            .clients
            .list(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_reset_code_is_shown_once_stored_as_a_hash_and_replaces_the_last() {
    use shared::mail::email_codes::{EmailCodeStore, Purpose};
    let setup = setup().await;
    let (status, first) = call(&setup, &on("admin-reset-code.json", &setup.bob)).await;
    assert_eq!(status, 201, "{first}");
    let code = first["code"].as_str().unwrap();
    assert_eq!(code.len(), 19, "XXXX-XXXX-XXXX-XXXX");
    let codes = &setup.state.stores.email_codes;
    let hash = shared::mail::email_codes::hash(code).unwrap();
    let now = setup.time.clock().now();
    let stored = codes
        .find(&hash, Purpose::AdminReset, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.account, stored.address), (setup.bob.clone(), None));
    assert_eq!(stored.expires_at, now + Duration::from_secs(86_400));

    let (_, second) = call(&setup, &on("admin-reset-code.json", &setup.bob)).await;
    assert_ne!(second["code"], first["code"]);
    assert!(
        codes
            .find(&hash, Purpose::AdminReset, now)
            .await
            .unwrap()
            .is_none(),
        "a new code replaces the last one"
    );
    assert_eq!(
        kinds(&setup, &setup.bob),
        [
            EventKind::PasswordResetIssued,
            EventKind::PasswordResetIssued
        ]
    );
    setup.state.stores.users.disable("bob");
    let (status, body) = call(&setup, &on("admin-reset-code.json", &setup.bob)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("account_disabled"))
    );
}

#[tokio::test]
async fn clients_are_listed_a_page_at_a_time() {
    let setup = setup().await;
    for _ in 0..3 {
        let (status, _) = call(&setup, &event_json("admin-clients-create.json")).await;
        assert_eq!(status, 201);
    }
    let page = |query: Value| shared::testing::with_query(event_json("admin-clients.json"), query);
    let (status, first) = call(&setup, &page(serde_json::json!({"limit": "2"}))).await;
    assert_eq!(status, 200);
    assert_eq!(first["clients"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let (_, second) = call(
        &setup,
        &page(serde_json::json!({"limit": "2", "after": next})),
    )
    .await;
    assert_eq!(second["clients"].as_array().unwrap().len(), 1);
    assert_eq!(second["next"], Value::Null);
    let (status, body) = call(&setup, &page(serde_json::json!({"after": "nonsense"}))).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("after")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_issues_of_a_reset_code_leave_one_live_code() {
    let setup = std::sync::Arc::new(setup().await);
    for round in 0..5 {
        let issues: Vec<_> = (0..8)
            .map(|_| {
                let setup = setup.clone();
                tokio::spawn(async move {
                    call(&setup, &on("admin-reset-code.json", &setup.bob))
                        .await
                        .0
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for issue in issues {
            statuses.push(issue.await.unwrap());
        }
        assert!(statuses.contains(&201), "round {round}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| [201, 409].contains(s)),
            "round {round}: {statuses:?}"
        );
        let live = setup.state.stores.email_codes.codes_of(&setup.bob);
        assert_eq!(live, 1, "round {round}: one outstanding code, {statuses:?}");
    }
}

#[tokio::test]
async fn removing_an_address_removes_the_waiting_one_and_every_emailed_code_and_is_recorded() {
    use shared::identity::email_address::EmailAddress;
    use shared::mail::email_codes::{EmailCode, EmailCodeStore as _, Purpose};
    let setup = setup().await;
    let stores = &setup.state.stores;
    let verified = EmailAddress::parse("bob@example.com").unwrap();
    let waiting = EmailAddress::parse("bob@intruder.example").unwrap();
    let users = stores.users();
    assert!(
        users
            .set_pending_email(&setup.bob, Some(&verified), 0, SystemTime::now())
            .await
            .unwrap()
    );
    users
        .verify_email(&setup.bob, &verified, 0, SystemTime::now())
        .await
        .unwrap();
    assert!(
        users
            .set_pending_email(&setup.bob, Some(&waiting), 0, SystemTime::now())
            .await
            .unwrap()
    );
    let code = EmailCode {
        account: setup.bob.clone(),
        purpose: Purpose::Verify,
        address: Some(waiting.clone()),
        expires_at: SystemTime::now() + Duration::from_secs(900),
        token_version: 0,
        issued_by: None,
    };
    stores
        .email_codes()
        .create("kept-by-an-intruder", &code)
        .await
        .unwrap();

    let (status, body) = call(&setup, &on("admin-email-delete.json", &setup.bob)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], Value::Null, "{body}");
    let bob = users.find_by_id(&setup.bob).await.unwrap().unwrap();
    assert_eq!((bob.email, bob.pending_email), (None, None));
    assert!(stores.email_codes.is_empty(), "the kept code is gone");
    assert_eq!(kinds(&setup, &setup.bob), [EventKind::EmailRemoved]);
    let recorded = setup.state.stores.events.all();
    assert_eq!(recorded[0].actor.as_ref(), Some(&setup.alice));
}

#[tokio::test]
async fn an_administrators_sign_out_ends_the_accounts_waiting_address_and_codes() {
    use shared::identity::email_address::EmailAddress;
    use shared::mail::email_codes::{EmailCode, EmailCodeStore as _, Purpose};
    let setup = setup().await;
    let stores = &setup.state.stores;
    let waiting = EmailAddress::parse("bob@intruder.example").unwrap();
    assert!(
        stores
            .users()
            .set_pending_email(&setup.bob, Some(&waiting), 0, SystemTime::now())
            .await
            .unwrap()
    );
    let code = EmailCode {
        account: setup.bob.clone(),
        purpose: Purpose::Verify,
        address: Some(waiting),
        expires_at: SystemTime::now() + Duration::from_secs(900),
        token_version: 0,
        issued_by: None,
    };
    stores.email_codes().create("kept", &code).await.unwrap();
    for name in ["admin-logout.json", "admin-disable.json"] {
        let (status, body) = call(&setup, &on(name, &setup.bob)).await;
        assert_eq!(status, 200, "{name}: {body}");
        let bob = stores
            .users()
            .find_by_id(&setup.bob)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bob.pending_email, None, "{name}");
        assert!(stores.email_codes.is_empty(), "{name}");
    }
}

#[tokio::test]
async fn a_relying_party_is_registered_read_listed_and_deleted_and_bad_uris_are_refused() {
    use shared::access::relying_parties::RelyingPartyStore as _;
    let setup = setup().await;
    let (status, created) = call(&setup, &event_json("admin-relying-parties-create.json")).await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("rp_"));
    assert_eq!(created["type"], "public");
    assert_eq!(created["token_endpoint_auth_method"], "none");
    assert_eq!(created["id_token_signed_response_alg"], "RS256");
    assert!(
        created.get("client_secret").is_none(),
        "a public client has no secret"
    );
    assert_eq!(created["first_party"], true);
    let (status, read) = call(
        &setup,
        &on_client("admin-relying-parties-read.json", &id, None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(read, created);
    let (status, listed) = call(&setup, &event_json("admin-relying-parties.json")).await;
    assert_eq!(status, 200);
    assert_eq!(listed["relying_parties"][0]["client_id"], id.as_str());

    let mut confidential = event_json("admin-relying-parties-create.json");
    let mut body: Value = serde_json::from_str(confidential["body"].as_str().unwrap()).unwrap();
    body["type"] = "confidential".into();
    confidential["body"] = body.to_string().into();
    let (status, server) = call(&setup, &confidential).await;
    assert_eq!(status, 201);
    let secret = server["client_secret"].as_str().unwrap();
    let stored = setup
        .state
        .stores
        .relying_parties
        .find(
            &shared::access::relying_parties::RelyingPartyId::parse(
                server["client_id"].as_str().unwrap(),
            )
            .unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    let hash = &stored.secrets()[0].hash;
    assert!(hash.starts_with("$argon2id$") && !hash.contains(secret));

    for (field, value) in [
        (
            "redirect_uris",
            serde_json::json!(["http://notes.example/callback"]),
        ),
        (
            "redirect_uris",
            serde_json::json!(["http://localhost/callback"]),
        ),
        (
            "redirect_uris",
            serde_json::json!(["https://notes.example/cb#fragment"]),
        ),
        ("redirect_uris", serde_json::json!([])),
        ("scopes", serde_json::json!(["openid", "everything"])),
        ("type", serde_json::json!("spa")),
        ("id_token_signed_response_alg", serde_json::json!("none")),
    ] {
        let mut event = event_json("admin-relying-parties-create.json");
        let mut body: Value = serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
        body[field] = value.clone();
        event["body"] = body.to_string().into();
        let (status, refused) = call(&setup, &event).await;
        assert_eq!(status, 422, "{field} {value}: {refused}");
        assert_eq!(refused["field"], field, "{refused}");
    }
    assert_eq!(
        setup
            .state
            .stores
            .relying_parties
            .list(None, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let (status, _) = call(
        &setup,
        &on_client("admin-relying-parties-delete.json", &id, None),
    )
    .await;
    assert_eq!(status, 204);
    let (status, gone) = call(
        &setup,
        &on_client("admin-relying-parties-read.json", &id, None),
    )
    .await;
    assert_eq!(
        (status, gone["error"].as_str()),
        (404, Some("relying_party_not_found"))
    );
}

#[tokio::test]
async fn a_confidential_relying_partys_secret_rotates_and_a_public_one_has_none() {
    let setup = setup().await;
    let mut confidential = event_json("admin-relying-parties-create.json");
    let mut body: Value = serde_json::from_str(confidential["body"].as_str().unwrap()).unwrap();
    body["type"] = "confidential".into();
    confidential["body"] = body.to_string().into();
    let (status, server) = call(&setup, &confidential).await;
    assert_eq!(status, 201, "{server}");
    let id = server["client_id"].as_str().unwrap().to_owned();
    let first = server["client_secret"].as_str().unwrap().to_owned();
    let old_id = server["secrets"][0]["id"].as_str().unwrap().to_owned();

    let rotate = on_client("admin-relying-parties-rotate.json", &id, None);
    let (status, rotated) = call(&setup, &rotate).await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2);
    let second = rotated["client_secret"].as_str().unwrap();
    assert_ne!(second, first);
    assert!(
        rotated["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|secret| secret.get("hash").is_none()),
        "no hash is shown: {rotated}"
    );
    let (status, refused) = call(&setup, &rotate).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("rotation_in_progress"))
    );

    let remove = |secret: &str| {
        on_client(
            "admin-relying-parties-remove-secret.json",
            &id,
            Some(secret),
        )
    };
    let (status, _) = call(&setup, &remove(&old_id)).await;
    assert_eq!(status, 204);
    let new_id = rotated["secret_id"].as_str().unwrap();
    let (status, refused) = call(&setup, &remove(new_id)).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("last_secret"))
    );
    let (status, refused) = call(&setup, &remove(&old_id)).await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (404, Some("secret_not_found"))
    );

    let (status, public) = call(&setup, &event_json("admin-relying-parties-create.json")).await;
    assert_eq!(status, 201);
    let public_id = public["client_id"].as_str().unwrap();
    let (status, refused) = call(
        &setup,
        &on_client("admin-relying-parties-rotate.json", public_id, None),
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (409, Some("public_client"))
    );
}
