//! Refresh-token storage and the user store's token-version updates against a real
//! MongoDB-compatible server (`MONGODB_TEST_URI`; `make test` starts one).

use mongodb::bson::{Document, doc};
use secrecy::ExposeSecret;
use shared::credentials::Username;
use shared::db::connect;
use shared::refresh::{Exchange, MongoRefreshTokenStore, RefreshRecord, RefreshTokenStore};
use shared::testing::{index_on, test_database_settings};
use shared::users::{MongoUserStore, UserStore};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const DAY: Duration = Duration::from_secs(86_400);

async fn fresh() -> (mongodb::Database, MongoRefreshTokenStore) {
    let database = connect(&test_database_settings()).await.expect("client");
    let store = MongoRefreshTokenStore::new(&database);
    store.ensure_indexes().await.expect("indexes");
    (database, store)
}

fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

/// Stores a new token for `user` in `family` and returns its secret and hash.
async fn stored(
    store: &MongoRefreshTokenStore,
    user: &str,
    family: &str,
    now: SystemTime,
) -> (String, String) {
    let token = shared::refresh::generate().unwrap();
    let record = RefreshRecord::new(
        token.hash.clone(),
        &name(user),
        family.to_owned(),
        0,
        now,
        DAY,
    );
    store.insert(&record, now).await.unwrap();
    (token.secret.expose_secret().to_owned(), token.hash)
}

#[tokio::test]
async fn only_the_hash_is_stored_and_expiry_is_a_ttl_index() {
    let (database, store) = fresh().await;
    store.ensure_indexes().await.expect("idempotent");
    let (secret, hash) = stored(&store, "alice", "f1", SystemTime::now()).await;
    let collection = database.collection::<Document>("refresh_tokens");
    let document = collection.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(document.get_str("_id").unwrap(), hash);
    assert_eq!(document.get_str("state").unwrap(), "active");
    assert!(!document.to_string().contains(&secret), "{document}");
    let ttl = index_on(&database, "refresh_tokens", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );
}

#[tokio::test]
async fn an_exchange_uses_the_token_once_and_a_replay_names_its_family() {
    let (_database, store) = fresh().await;
    let now = SystemTime::now();
    let (_, hash) = stored(&store, "alice", "family-1", now).await;
    let Exchange::Rotated(record) = store.exchange(&hash, now).await.unwrap() else {
        panic!("the first exchange rotates");
    };
    assert_eq!(
        (record.username.as_str(), record.family.as_str()),
        ("alice", "family-1")
    );
    assert_eq!(
        store.exchange(&hash, now).await.unwrap(),
        Exchange::Reused {
            family: "family-1".to_owned()
        }
    );
    assert_eq!(
        store.exchange(&"0".repeat(64), now).await.unwrap(),
        Exchange::Invalid
    );
}

#[tokio::test]
async fn an_expired_or_revoked_token_is_invalid() {
    let (_database, store) = fresh().await;
    let now = SystemTime::now();
    let (_, expiring) = stored(&store, "alice", "f1", now).await;
    assert_eq!(
        store.exchange(&expiring, now + DAY).await.unwrap(),
        Exchange::Invalid
    );
    let (_, revoked) = stored(&store, "alice", "f2", now).await;
    assert_eq!(
        store.family_of(&revoked).await.unwrap().as_deref(),
        Some("f2")
    );
    assert_eq!(store.revoke_family("f2").await.unwrap(), 1);
    assert_eq!(store.revoke_family("f2").await.unwrap(), 0, "idempotent");
    assert_eq!(
        store.exchange(&revoked, now).await.unwrap(),
        Exchange::Invalid
    );
}

#[tokio::test]
async fn ten_concurrent_exchanges_rotate_exactly_once() {
    let (_database, store) = fresh().await;
    let store = Arc::new(store);
    let now = SystemTime::now();
    let (_, hash) = stored(&store, "alice", "race", now).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (store, hash) = (Arc::clone(&store), hash.clone());
            tokio::spawn(async move { store.exchange(&hash, now).await.unwrap() })
        })
        .collect();
    let mut rotated = 0;
    for task in tasks {
        match task.await.unwrap() {
            Exchange::Rotated(_) => rotated += 1,
            Exchange::Reused { family } => assert_eq!(family, "race"),
            Exchange::Invalid => panic!("the token exists"),
        }
    }
    assert_eq!(rotated, 1);
}

#[tokio::test]
async fn revoking_a_user_ends_every_family_of_that_user_only() {
    let (_database, store) = fresh().await;
    let now = SystemTime::now();
    let (_, first) = stored(&store, "Alice", "a1", now).await;
    let (_, second) = stored(&store, "alice", "a2", now).await;
    let (_, bobs) = stored(&store, "bob", "b1", now).await;
    assert_eq!(store.revoke_user(&name("ALICE")).await.unwrap(), 2);
    assert_eq!(
        store.exchange(&first, now).await.unwrap(),
        Exchange::Invalid
    );
    assert_eq!(
        store.exchange(&second, now).await.unwrap(),
        Exchange::Invalid
    );
    assert!(matches!(
        store.exchange(&bobs, now).await.unwrap(),
        Exchange::Rotated(_)
    ));
}

#[tokio::test]
async fn token_versions_and_password_changes_are_conditional_single_updates() {
    let database = connect(&test_database_settings()).await.expect("client");
    let users = MongoUserStore::new(&database);
    users.ensure_indexes().await.unwrap();
    let alice = name("alice");
    let now = SystemTime::now();
    users.insert(&alice, "$argon2id$old", now).await.unwrap();
    assert_eq!(users.find(&alice).await.unwrap().unwrap().token_version, 0);
    assert_eq!(
        users.bump_token_version(&alice, now).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        users
            .bump_token_version(&name("nobody"), now)
            .await
            .unwrap(),
        None
    );

    assert!(
        !users
            .change_password(&alice, "$argon2id$stale", "$argon2id$new", now)
            .await
            .unwrap(),
        "a stale current hash changes nothing"
    );
    assert!(
        users
            .change_password(&alice, "$argon2id$old", "$argon2id$new", now)
            .await
            .unwrap()
    );
    let user = users.find(&alice).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "$argon2id$new");
    assert_eq!(user.token_version, 2, "a password change bumps the version");

    // Documents written by the FastAPI app have no token_version: version 0.
    database
        .collection::<Document>("users")
        .insert_one(doc! {
            "username": "legacy", "username_canonical": "legacy", "password": "$5$x",
            "disabled": false, "created_date": mongodb::bson::DateTime::now(),
            "modified_date": mongodb::bson::DateTime::now(),
        })
        .await
        .unwrap();
    assert_eq!(
        users
            .find(&name("legacy"))
            .await
            .unwrap()
            .unwrap()
            .token_version,
        0
    );
}
