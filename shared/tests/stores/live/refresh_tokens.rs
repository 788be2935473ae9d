//! The MongoDB refresh-token store keeps only hashes and expires them through a TTL index.

use crate::support::{fresh_database, name};
use mongodb::bson::{Document, doc};
use secrecy::ExposeSecret;
use shared::refresh::{MongoRefreshTokenStore, RefreshRecord, RefreshTokenStore};
use shared::testing::index_on;
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn only_the_hash_is_stored_and_expiry_is_a_ttl_index() {
    let database = fresh_database().await;
    let store = MongoRefreshTokenStore::new(&database);
    store.ensure_indexes().await.expect("indexes");
    store.ensure_indexes().await.expect("idempotent");
    let token = shared::refresh::generate().unwrap();
    let (secret, hash) = (token.secret.expose_secret(), token.hash.clone());
    let now = SystemTime::now();
    let record = RefreshRecord::new(
        token.hash,
        &name("alice"),
        "f1".into(),
        0,
        now,
        Duration::from_secs(60),
    );
    store.insert(&record, now).await.unwrap();
    let collection = database.collection::<Document>("refresh_tokens");
    let document = collection.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(document.get_str("_id").unwrap(), hash);
    assert_eq!(document.get_str("state").unwrap(), "active");
    assert!(!document.to_string().contains(secret), "{document}");
    let ttl = index_on(&database, "refresh_tokens", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );
}
