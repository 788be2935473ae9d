//! What only the MongoDB stores have: indexes, document field names shared with the FastAPI
//! app, the product seed, and an unreachable server.

use crate::identity::users::{Insertion, MongoUserStore, UserCollectionSettings, UserStore};
use crate::platform::database::connect;
use crate::products::{MongoProductStore, ProductStore, sample_products};
use crate::testing::contract::{fresh_database, name};
use crate::testing::index_on;
use mongodb::bson::{Document, doc};
use std::time::SystemTime;

async fn fresh_store() -> (mongodb::Database, MongoUserStore) {
    let database = fresh_database().await;
    let store = MongoUserStore::new(&database);
    store.ensure_indexes().await.expect("index creation");
    (database, store)
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
    let settings = crate::platform::database::DatabaseSettings {
        uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300".to_owned(),
        name: "unreachable".to_owned(),
    };
    let store = MongoUserStore::new(&connect(&settings).await.unwrap());
    let error = store.find(&name("alice")).await.unwrap_err();
    assert!(error.is_unavailable(), "an outage, answered 503: {error}");
}

#[tokio::test]
async fn fastapi_documents_without_a_token_version_have_version_0() {
    let (database, users) = fresh_store().await;
    database
        .collection::<Document>("users")
        .insert_one(doc! {
            "username": "legacy", "username_canonical": "legacy", "password": "$5$x",
            "disabled": false, "created_date": mongodb::bson::DateTime::now(),
            "modified_date": mongodb::bson::DateTime::now(),
        })
        .await
        .unwrap();
    let user = users.find(&name("legacy")).await.unwrap().unwrap();
    assert_eq!(user.token_version, 0);
}

#[tokio::test]
async fn case_variants_and_concurrent_inserts_leave_one_document() {
    let (database, stores) = crate::testing::contract::mongo_stores().await;
    super::contract::twenty_concurrent_inserts_of_one_username_store_exactly_one(stores).await;
    let count = database
        .collection::<Document>("users")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(
        count, 1,
        "one document, whatever the spelling and the order"
    );
}

#[tokio::test]
async fn an_existing_index_of_that_name_is_kept_only_when_it_is_unique() {
    use mongodb::IndexModel;
    use mongodb::options::IndexOptions;
    let named = |unique: bool| {
        let options = IndexOptions::builder()
            .name(crate::identity::users::UNIQUE_INDEX.to_owned())
            .unique(unique)
            .build();
        IndexModel::builder()
            .keys(doc! { "username_canonical": 1 })
            .options(options)
            .build()
    };
    for (unique, accepted) in [(true, true), (false, false)] {
        let database = fresh_database().await;
        let users = database.collection::<Document>("users");
        users.create_index(named(unique)).await.unwrap();
        let store = MongoUserStore::new(&database);
        let ensured = store.ensure_indexes().await;
        assert_eq!(ensured.is_ok(), accepted, "unique: {unique}: {ensured:?}");
    }
}

/// A store with the legacy lookup on, over a collection holding the FastAPI app's unmigrated
/// documents named `stored`.
async fn legacy_store_holding(stored: &[&str]) -> MongoUserStore {
    let database = fresh_database().await;
    let settings = UserCollectionSettings {
        collection: "user_model".to_owned(),
        legacy_lookup: true,
    };
    let store = MongoUserStore::with_settings(&database, &settings);
    store.ensure_indexes().await.unwrap();
    for username in stored {
        database
            .collection::<Document>("user_model")
            .insert_one(doc! {
                "username": *username, "password": "$1$salt$hash", "disabled": false,
                "created_date": mongodb::bson::DateTime::now(),
                "modified_date": mongodb::bson::DateTime::now(),
            })
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn no_name_signs_up_beside_an_unmigrated_account_it_folds_to() {
    let long_eszett = "ß".repeat(3);
    let long_s = "s".repeat(6);
    let cases = [
        ("jess", "jeß", "ß folds to ss"),
        ("jeß", "jess", "ss is what ß folds to"),
        ("Straße", "STRASSE", "full case folding"),
        ("ｊｏｅ", "joe", "full-width forms"),
        ("𝐦𝐚𝐱", "max", "mathematical letters"),
        (
            long_eszett.as_str(),
            long_s.as_str(),
            "a pattern longer than the test server takes",
        ),
        ("İvan", "İVAN", "a dotted capital I"),
        (
            "i\u{307}van",
            "İvan",
            "a dotted capital I against its decomposed lowercase",
        ),
        ("rene\u{301}e", "renée", "a decomposed accent"),
        ("RENE\u{301}E", "renée", "a decomposed accent in capitals"),
    ];
    for (stored, new, why) in cases {
        let users = legacy_store_holding(&[stored]).await;
        let found = users.find(&name(new)).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("{why}: {new} finds {stored}"));
        assert_eq!(found.username.as_str(), stored, "{why}");
        let insertion = users
            .insert(&name(new), "$argon2id$x", SystemTime::now())
            .await
            .unwrap();
        assert_eq!(
            insertion,
            Insertion::UsernameTaken,
            "{why}: {new} beside {stored}"
        );
    }
    let users = legacy_store_holding(&["jess"]).await;
    for unrelated in ["jes", "jesse", "jest"] {
        assert_eq!(
            users.find(&name(unrelated)).await.unwrap(),
            None,
            "{unrelated}"
        );
    }
}

#[tokio::test]
async fn a_name_that_folds_too_many_ways_cannot_sign_up_during_the_switch_over() {
    let users = legacy_store_holding(&[]).await;
    let ambiguous = name(&"s".repeat(64));
    let insertion = users
        .insert(&ambiguous, "$argon2id$x", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(insertion, Insertion::UsernameTaken);
    assert_eq!(users.find(&ambiguous).await.unwrap(), None);
}

#[tokio::test]
async fn sign_up_requires_the_unique_index_that_the_deploy_step_creates() {
    let database = fresh_database().await;
    let stores = crate::stores::MongoStores::new(&database, &UserCollectionSettings::default());
    let missing = stores.users.require_unique_index().await.unwrap_err();
    assert!(missing.to_string().contains("setup-database"), "{missing}");
    stores.ensure_indexes().await.unwrap();
    stores.ensure_indexes().await.expect("idempotent");
    stores.users.require_unique_index().await.unwrap();
    for (collection, keys) in [
        ("login_failures", doc! { "expires_at": 1 }),
        ("sessions", doc! { "expires_at": 1 }),
        ("sessions", doc! { "current": 1 }),
        ("sessions", doc! { "retired": 1 }),
        ("sessions", doc! { "account": 1 }),
        ("mfa_challenges", doc! { "expires_at": 1 }),
        ("mfa_challenges", doc! { "account": 1 }),
        ("security_events", doc! { "expires_at": 1 }),
        ("users", doc! { "email.key": 1 }),
        ("users", doc! { "created_date": 1 }),
        ("email_codes", doc! { "expires_at": 1 }),
        ("email_codes", doc! { "account": 1 }),
        ("rate_limits", doc! { "expires_at": 1 }),
        (
            "security_events",
            doc! { "account": 1, "at": -1, "_id": -1 },
        ),
    ] {
        index_on(&database, collection, keys).await;
    }
}

#[tokio::test]
async fn lookups_work_without_their_indexes_and_use_them_once_there() {
    let database = fresh_database().await;
    let users = MongoUserStore::new(&database);
    users
        .insert(&name("Alice"), "$argon2id$hash", SystemTime::now())
        .await
        .unwrap();
    let found = users.find(&name("alice")).await.unwrap();
    assert!(
        found.is_some(),
        "no index yet: the lookup falls back to an unhinted query"
    );
    let address = crate::identity::email_address::EmailAddress::parse("a@example.com").unwrap();
    assert!(users.find_by_email(&address).await.unwrap().is_none());
    users.ensure_indexes().await.unwrap();
    assert!(users.find(&name("ALICE")).await.unwrap().is_some());
}

#[tokio::test]
async fn existing_accounts_get_look_alike_keys_and_look_alike_pairs_are_reported_and_sign_in() {
    let database = fresh_database().await;
    let store = MongoUserStore::new(&database);
    store.ensure_indexes().await.unwrap();
    let cyrillic = "\u{441}\u{43e}\u{435}";
    for (username, day) in [("coe", 1), (cyrillic, 2), ("alice", 3)] {
        let created = mongodb::bson::DateTime::from_millis(1_700_000_000_000 + day * 86_400_000);
        database
            .collection::<Document>("users")
            .insert_one(doc! {
                "username": username,
                "username_canonical": crate::identity::credentials::caseless_key(username),
                "password": "$argon2id$x", "disabled": false,
                "created_date": created, "modified_date": created,
            })
            .await
            .unwrap();
    }
    let report = store.fill_look_alike_keys().await.unwrap();
    assert_eq!(report.filled, 2, "coe (the older of its pair) and alice");
    let pairs: Vec<Vec<&str>> = report
        .groups
        .values()
        .map(|accounts| accounts.iter().map(|a| a.username.as_str()).collect())
        .collect();
    assert_eq!(pairs, [vec!["coe", cyrillic]]);
    assert_eq!(
        store.fill_look_alike_keys().await.unwrap().filled,
        0,
        "idempotent"
    );

    for existing in ["coe", cyrillic, "alice"] {
        assert!(
            store.find(&name(existing)).await.unwrap().is_some(),
            "{existing} still signs in"
        );
    }
    for look_alike in ["c0e", "aIice", "COE"] {
        let insertion = store
            .insert(&name(look_alike), "$argon2id$x", SystemTime::now())
            .await
            .unwrap();
        assert_eq!(insertion, Insertion::UsernameTaken, "{look_alike}");
    }
}
