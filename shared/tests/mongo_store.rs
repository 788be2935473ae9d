//! The MongoDB user and product stores against a real MongoDB-compatible server
//! (`MONGODB_TEST_URI`; `make test` starts one). Each test uses its own database.

use mongodb::bson::{Document, doc};
use shared::credentials::Username;
use shared::db::connect;
use shared::products::{MongoProductStore, ProductStore, sample_products};
use shared::testing::{index_on, test_database_settings};
use shared::users::{Insertion, MongoUserStore, UserStore};
use std::sync::Arc;
use std::time::SystemTime;

async fn fresh_database() -> mongodb::Database {
    connect(&test_database_settings()).await.expect("client")
}

async fn fresh_store() -> (mongodb::Database, MongoUserStore) {
    let database = fresh_database().await;
    let store = MongoUserStore::new(&database);
    store.ensure_indexes().await.expect("index creation");
    (database, store)
}

fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

#[tokio::test]
async fn the_unique_index_exists_before_the_first_user() {
    let (database, _store) = fresh_store().await;
    let unique = index_on(&database, "users", doc! { "username_canonical": 1 }).await;
    assert_eq!(
        unique.options.as_ref().and_then(|options| options.unique),
        Some(true)
    );
}

#[tokio::test]
async fn ensuring_indexes_twice_is_harmless() {
    let (_database, store) = fresh_store().await;
    store.ensure_indexes().await.expect("second run");
}

#[tokio::test]
async fn a_stored_user_is_found_by_any_letter_case() {
    let (_database, store) = fresh_store().await;
    let created = store
        .insert(&name("Alice"), "$argon2id$hash", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(created, Insertion::Created);
    for lookup in ["Alice", "alice", "ALICE"] {
        let user = store.find(&name(lookup)).await.unwrap().expect(lookup);
        assert_eq!(user.username, "Alice", "the chosen spelling is kept");
        assert_eq!(user.password_hash, "$argon2id$hash");
        assert!(!user.disabled);
    }
    assert!(store.find(&name("bob")).await.unwrap().is_none());
}

#[tokio::test]
async fn a_duplicate_differing_only_in_case_is_refused() {
    let (database, store) = fresh_store().await;
    store
        .insert(&name("alice"), "$argon2id$first", SystemTime::now())
        .await
        .unwrap();
    let second = store
        .insert(&name("ALICE"), "$argon2id$second", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(second, Insertion::UsernameTaken);
    let count = database
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(count, 1);
    assert_eq!(
        store
            .find(&name("alice"))
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$first"
    );
}

#[tokio::test]
async fn twenty_concurrent_inserts_of_one_username_store_exactly_one() {
    let (database, store) = fresh_store().await;
    let store = Arc::new(store);
    let attempts = (0..20).map(|i| {
        let store = Arc::clone(&store);
        let spelling = if i % 2 == 0 { "racer" } else { "RACER" };
        tokio::spawn(async move {
            store
                .insert(
                    &name(spelling),
                    &format!("$argon2id${i}"),
                    SystemTime::now(),
                )
                .await
        })
    });
    let outcomes: Vec<Insertion> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap())
        .collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Insertion::Created)
            .count(),
        1
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Insertion::UsernameTaken)
            .count(),
        19
    );
    let count = database
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn documents_keep_the_fastapi_field_names() {
    let (database, store) = fresh_store().await;
    store
        .insert(&name("Alice"), "$argon2id$hash", SystemTime::now())
        .await
        .unwrap();
    let document = database
        .collection::<Document>("users")
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(document.get_str("username").unwrap(), "Alice");
    assert_eq!(document.get_str("username_canonical").unwrap(), "alice");
    assert_eq!(document.get_str("password").unwrap(), "$argon2id$hash");
    assert!(!document.get_bool("disabled").unwrap());
    assert!(document.get_datetime("created_date").is_ok());
    assert!(document.get_datetime("modified_date").is_ok());
}

#[tokio::test]
async fn the_product_seed_is_idempotent() {
    let database = fresh_database().await;
    let store = MongoProductStore::new(&database);
    assert!(store.list().await.unwrap().is_empty());
    store.seed().await.unwrap();
    store.seed().await.unwrap();
    assert_eq!(store.list().await.unwrap(), sample_products());
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_hang() {
    let settings = shared::config::DatabaseSettings {
        uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300".to_owned(),
        name: "unreachable".to_owned(),
    };
    let store = MongoUserStore::new(&connect(&settings).await.unwrap());
    let error = store.find(&name("alice")).await.unwrap_err();
    assert!(error.is_unavailable(), "an outage, answered 503: {error}");
}
