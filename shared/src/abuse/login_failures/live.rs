//! The MongoDB failure counters: one document per canonical username, expired by a TTL index.

use crate::abuse::login_failures::{COUNTER_LIFETIME, LoginFailureStore, MongoLoginFailureStore};
use crate::testing::contract::{fresh_database, name, now};
use crate::testing::index_on;
use mongodb::bson::{Document, doc};
use std::time::Duration;

#[tokio::test]
async fn counters_expire_through_a_ttl_index() {
    let database = fresh_database().await;
    let attempts = MongoLoginFailureStore::new(&database);
    attempts.ensure_indexes().await.expect("TTL index");
    attempts.ensure_indexes().await.expect("idempotent");
    let ttl = index_on(&database, "login_failures", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );

    let now = now();
    attempts.claim_attempt(&name("alice"), now).await.unwrap();
    let stored = database
        .collection::<Document>("login_failures")
        .find_one(doc! { "_id": "alice" })
        .await
        .unwrap()
        .expect("a counter keyed by the canonical username");
    assert_eq!(
        stored.get_datetime("expires_at").unwrap().to_system_time(),
        now + COUNTER_LIFETIME
    );
}
