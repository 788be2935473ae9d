//! The MongoDB session store keeps only refresh-token hashes, in the session document, and
//! expires sessions through a TTL index.

use crate::identity::account_id::AccountId;
use crate::sessions::{MongoSessionStore, RETIRED_KEPT, Rotation, Session, SessionStore};
use crate::testing::contract::{fresh_database, now};
use crate::testing::index_on;
use mongodb::bson::{Document, doc};
use secrecy::ExposeSecret;
use std::time::Duration;

#[tokio::test]
async fn only_hashes_are_stored_and_sessions_expire_through_a_ttl_index() {
    let database = fresh_database().await;
    let store = MongoSessionStore::new(&database);
    store.ensure_indexes().await.expect("indexes");
    store.ensure_indexes().await.expect("idempotent");
    let first = crate::sessions::generate().unwrap();
    let second = crate::sessions::generate().unwrap();
    let now = now();
    let (hour, minute) = (Duration::from_secs(3600), Duration::from_secs(60));
    let account = AccountId::parse("65f0c0ffee0123456789abcd").unwrap();
    let session = Session::new(&account, 0, now, hour);
    store
        .start(&session, &first.hash, now, minute)
        .await
        .unwrap();
    let rotation = store
        .rotate(&first.hash, &second.hash, now, minute)
        .await
        .unwrap();
    assert_eq!(rotation, Rotation::Rotated(session.clone()));

    let sessions = database.collection::<Document>("sessions");
    let stored = sessions.find_one(doc! {}).await.unwrap().unwrap();
    assert_eq!(stored.get_str("_id").unwrap(), session.family);
    assert_eq!(stored.get_str("current").unwrap(), second.hash);
    let retired = stored.get_array("retired").unwrap();
    assert_eq!(retired.len(), 1);
    assert_eq!(retired[0].as_str(), Some(first.hash.as_str()));
    assert_eq!(stored.get_str("account").unwrap(), account.as_str());
    assert!(!stored.get_bool("revoked").unwrap());
    for secret in [first.secret.expose_secret(), second.secret.expose_secret()] {
        assert!(!stored.to_string().contains(secret), "{stored}");
    }
    let ttl = index_on(&database, "sessions", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );
    let current = index_on(&database, "sessions", doc! { "current": 1 }).await;
    assert_eq!(
        current.options.as_ref().and_then(|options| options.unique),
        Some(true)
    );
    index_on(&database, "sessions", doc! { "retired": 1 }).await;
    index_on(&database, "sessions", doc! { "account": 1 }).await;
}

#[tokio::test]
async fn a_session_keeps_the_last_sixteen_retired_hashes() {
    let database = fresh_database().await;
    let store = MongoSessionStore::new(&database);
    let now = now();
    let (hour, minute) = (Duration::from_secs(3600), Duration::from_secs(60));
    let account = AccountId::parse("65f0c0ffee0123456789abcd").unwrap();
    let session = Session::new(&account, 0, now, hour);
    let hashes: Vec<String> = (0..20)
        .map(|_| crate::sessions::generate().unwrap().hash)
        .collect();
    store
        .start(&session, &hashes[0], now, minute)
        .await
        .unwrap();
    for pair in hashes.windows(2) {
        let rotation = store.rotate(&pair[0], &pair[1], now, minute).await.unwrap();
        assert!(matches!(rotation, Rotation::Rotated(_)));
    }
    let stored = database
        .collection::<Document>("sessions")
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    let retired: Vec<&str> = stored
        .get_array("retired")
        .unwrap()
        .iter()
        .filter_map(|h| h.as_str())
        .collect();
    let kept = usize::try_from(RETIRED_KEPT).unwrap();
    assert_eq!(
        retired,
        hashes[19 - kept..19]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let forgotten = store
        .rotate(&hashes[0], &hashes[0], now, minute)
        .await
        .unwrap();
    assert_eq!(
        forgotten,
        Rotation::Invalid,
        "too old to be recognised: refused, session kept"
    );
    let replay = store
        .rotate(&hashes[18], &hashes[0], now, minute)
        .await
        .unwrap();
    assert_eq!(
        replay,
        Rotation::Reused {
            family: session.family,
            account: session.account
        }
    );
}
