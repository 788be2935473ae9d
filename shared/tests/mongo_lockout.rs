//! The MongoDB failure counters behind the login lockout, against a real MongoDB-compatible
//! server (`MONGODB_TEST_URI`; `make test` starts one). Each test uses its own database.

use mongodb::bson::{Document, doc};
use shared::credentials::Username;
use shared::db::connect;
use shared::lockout::{
    COUNTER_LIFETIME, FailureRecord, LoginAttempts, MAX_LOCK, MongoLoginAttempts,
};
use shared::testing::{index_on, test_database_settings};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

async fn fresh_attempts() -> (mongodb::Database, MongoLoginAttempts) {
    let database = connect(&test_database_settings()).await.expect("client");
    let attempts = MongoLoginAttempts::new(&database);
    attempts.ensure_indexes().await.expect("TTL index");
    (database, attempts)
}

fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

/// A time with whole milliseconds, as BSON dates store them.
fn now() -> SystemTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}

#[tokio::test]
async fn counters_expire_through_a_ttl_index() {
    let (database, attempts) = fresh_attempts().await;
    attempts.ensure_indexes().await.expect("idempotent");
    let ttl = index_on(&database, "login_failures", doc! { "expires_at": 1 }).await;
    assert_eq!(
        ttl.options
            .as_ref()
            .and_then(|options| options.expire_after),
        Some(Duration::ZERO)
    );

    let now = now();
    attempts.record_failure(&name("alice"), now).await.unwrap();
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

#[tokio::test]
async fn the_fifth_failure_locks_for_one_second_and_a_reset_forgets_everything() {
    let (_database, attempts) = fresh_attempts().await;
    let alice = name("Alice");
    let now = now();
    for expected in 1..=4 {
        let record = attempts.record_failure(&alice, now).await.unwrap();
        assert_eq!(
            record,
            FailureRecord {
                failures: expected,
                locked_until: None
            }
        );
    }
    let fifth = attempts.record_failure(&alice, now).await.unwrap();
    assert_eq!(fifth.locked_until, Some(now + Duration::from_secs(1)));
    let stored = attempts.record(&name("ALICE")).await.unwrap();
    assert_eq!(stored, fifth, "read back by any letter case");
    assert_eq!(stored.remaining_lock(now), Some(Duration::from_secs(1)));

    attempts.reset(&alice).await.unwrap();
    assert_eq!(
        attempts.record(&alice).await.unwrap(),
        FailureRecord::default()
    );
}

#[tokio::test]
async fn sixteen_concurrent_failures_count_sixteen() {
    let (_database, attempts) = fresh_attempts().await;
    let attempts = Arc::new(attempts);
    let now = now();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let attempts = Arc::clone(&attempts);
            tokio::spawn(async move { attempts.record_failure(&name("bob"), now).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let record = attempts.record(&name("bob")).await.unwrap();
    assert_eq!(record.failures, 16, "no lost updates");
    assert_eq!(
        record.locked_until,
        Some(now + MAX_LOCK),
        "the longest lock earned wins whatever order the updates landed in"
    );
}

#[tokio::test]
async fn a_longer_lock_is_never_shortened() {
    let (_database, attempts) = fresh_attempts().await;
    let carol = name("carol");
    let later = now();
    for _ in 1..=6 {
        attempts.record_failure(&carol, later).await.unwrap();
    }
    let earlier = later - Duration::from_secs(60);
    let record = attempts.record_failure(&carol, earlier).await.unwrap();
    assert_eq!(record.failures, 7);
    let stored = attempts.record(&carol).await.unwrap();
    assert_eq!(stored.locked_until, Some(later + Duration::from_secs(2)));
}
