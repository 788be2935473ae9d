//! The MongoDB session store keeps only token hashes and expires tokens and sessions through
//! TTL indexes.

use crate::support::fresh_database;
use mongodb::bson::{Document, doc};
use secrecy::ExposeSecret;
use shared::account_id::AccountId;
use shared::refresh::{MongoRefreshTokenStore, RefreshTokenStore, Session};
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
    let account = AccountId::parse("65f0c0ffee0123456789abcd").unwrap();
    let session = Session::new(&account, 0, now, Duration::from_secs(3600));
    store
        .start(&session, &token.hash, now, Duration::from_secs(60))
        .await
        .unwrap();
    let tokens = database.collection::<Document>("refresh_tokens");
    let document = tokens.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(document.get_str("_id").unwrap(), hash);
    assert_eq!(document.get_str("family").unwrap(), session.family);
    assert!(!document.to_string().contains(secret), "{document}");
    let sessions = database.collection::<Document>("sessions");
    let stored = sessions.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(stored.get_str("current").unwrap(), hash);
    assert_eq!(stored.get_str("account").unwrap(), account.as_str());
    assert!(!stored.get_bool("revoked").unwrap());
    assert!(!stored.to_string().contains(secret), "{stored}");
    for collection in ["refresh_tokens", "sessions"] {
        let ttl = index_on(&database, collection, doc! { "expires_at": 1 }).await;
        assert_eq!(
            ttl.options
                .as_ref()
                .and_then(|options| options.expire_after),
            Some(Duration::ZERO),
            "{collection}"
        );
    }
    index_on(&database, "sessions", doc! { "account": 1 }).await;
}
