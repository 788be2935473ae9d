//! The MongoDB security events: kept for the retention period through a TTL index, read by
//! an index on account and time.

use crate::identity::account_events::{
    AccountEvent, AccountEventStore, EventKind, MongoAccountEventStore,
};
use crate::identity::account_id::AccountId;
use crate::platform::http::RequestSource;
use crate::testing::contract::{fresh_database, now};
use crate::testing::index_on;
use mongodb::bson::{Document, doc};
use std::time::Duration;

#[tokio::test]
async fn events_expire_after_the_retention_through_a_ttl_index() {
    let database = fresh_database().await;
    let week = Duration::from_secs(7 * 86_400);
    let events = MongoAccountEventStore::new(&database).with_retention(week);
    events.ensure_indexes().await.unwrap();
    events.ensure_indexes().await.expect("idempotent");
    let ttl = index_on(&database, "security_events", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );
    index_on(
        &database,
        "security_events",
        doc! { "account": 1, "at": -1, "_id": -1 },
    )
    .await;

    let at = now();
    let account = AccountId::parse("2bd806c97f0e00af1a1fc332").unwrap();
    let event = AccountEvent::new(
        &account,
        EventKind::LoginSucceeded,
        at,
        &RequestSource::default(),
    );
    events.append(&event).await.unwrap();
    let stored = database
        .collection::<Document>("security_events")
        .find_one(doc! { "_id": event.id })
        .await
        .unwrap()
        .unwrap();
    let expires = stored.get_datetime("expires_at").unwrap().to_system_time();
    let kept = expires.duration_since(at).unwrap();
    assert!(kept.abs_diff(week) < Duration::from_secs(1), "{kept:?}");
    assert_eq!(stored.get_str("kind").unwrap(), "login_succeeded");
}
