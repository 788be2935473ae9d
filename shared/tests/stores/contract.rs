//! The store contract: every case runs against the in-memory stores the handler tests use
//! (`contract::in_memory::…`) and against MongoDB (`contract::live::…`), so the fakes are
//! held to the behaviour of the real stores, races included.

use crate::support::{name, now};
use shared::login_failures::{Attempt, LoginFailureStore, LoginFailures, MAX_LOCK};
use shared::products::{ProductStore, sample_products};
use shared::refresh::{Exchange, RefreshRecord, RefreshTokenStore};
use shared::stores::Stores;
use shared::users::{Insertion, UserStore};
use std::time::{Duration, SystemTime};

/// A bundle of stores the cases can share between spawned tasks.
pub trait Shared: Stores + Clone + 'static {}
impl<S: Stores + Clone + 'static> Shared for S {}

const DAY: Duration = Duration::from_secs(86_400);

/// Generates one test per case and backend.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(shared::testing::MemoryStores::default()).await;
                }
            )*
        }
        mod live {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::mongo_stores().await.1).await;
                }
            )*
        }
    };
}

contract!(
    a_user_is_found_by_any_letter_case_with_the_chosen_spelling,
    a_username_differing_only_in_case_is_taken_and_nothing_changes,
    twenty_concurrent_inserts_of_one_username_store_exactly_one,
    token_versions_and_hash_replacements_are_conditional,
    the_fifth_claim_locks_for_one_second_and_a_reset_forgets_everything,
    sixteen_concurrent_claims_grant_five_then_one_per_expired_lock,
    locks_grow_to_the_longest_and_stay_there,
    an_exchange_uses_the_token_once_and_a_replay_names_its_family,
    an_expired_or_revoked_token_is_invalid,
    ten_concurrent_exchanges_rotate_exactly_once,
    revoking_a_user_ends_every_family_of_that_user_only,
    the_catalogue_is_the_sample_products,
);

async fn a_user_is_found_by_any_letter_case_with_the_chosen_spelling(stores: impl Shared) {
    let users = stores.users();
    let created = users
        .insert(&name("Alice"), "$argon2id$hash", SystemTime::now())
        .await
        .unwrap();
    assert_eq!(created, Insertion::Created);
    for lookup in ["Alice", "alice", "ALICE"] {
        let user = users.find(&name(lookup)).await.unwrap().expect(lookup);
        assert_eq!(user.username.as_str(), "Alice", "the chosen spelling");
        assert_eq!(user.username.canonical(), "alice");
        assert_eq!(user.password_hash, "$argon2id$hash");
        assert_eq!(user.token_version, 0);
        assert!(!user.disabled);
    }
    assert!(users.find(&name("bob")).await.unwrap().is_none());
}

async fn a_username_differing_only_in_case_is_taken_and_nothing_changes(stores: impl Shared) {
    let users = stores.users();
    let now = SystemTime::now();
    users
        .insert(&name("alice"), "$argon2id$first", now)
        .await
        .unwrap();
    let second = users
        .insert(&name("ALICE"), "$argon2id$second", now)
        .await
        .unwrap();
    assert_eq!(second, Insertion::UsernameTaken);
    let kept = users.find(&name("alice")).await.unwrap().unwrap();
    assert_eq!(kept.password_hash, "$argon2id$first");
    assert_eq!(kept.username.as_str(), "alice");
}

pub async fn twenty_concurrent_inserts_of_one_username_store_exactly_one(stores: impl Shared) {
    let attempts = (0..20).map(|i| {
        let stores = stores.clone();
        let spelling = if i % 2 == 0 { "racer" } else { "RACER" };
        tokio::spawn(async move {
            let hash = format!("$argon2id${i}");
            stores
                .users()
                .insert(&name(spelling), &hash, SystemTime::now())
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<Insertion> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = outcomes
        .iter()
        .filter(|o| **o == Insertion::Created)
        .count();
    assert_eq!((created, outcomes.len() - created), (1, 19));
    assert!(stores.users().find(&name("Racer")).await.unwrap().is_some());
}

async fn token_versions_and_hash_replacements_are_conditional(stores: impl Shared) {
    let users = stores.users();
    let alice = name("alice");
    let now = SystemTime::now();
    users.insert(&alice, "$argon2id$old", now).await.unwrap();
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
    let stale = users
        .change_password(&alice, "$argon2id$stale", "$argon2id$new", now)
        .await
        .unwrap();
    assert!(!stale, "a stale current hash changes nothing");
    let changed = users
        .change_password(&alice, "$argon2id$old", "$argon2id$new", now)
        .await
        .unwrap();
    assert!(changed);
    let user = users.find(&alice).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "$argon2id$new");
    assert_eq!(user.token_version, 2, "a password change bumps the version");

    let stale = users
        .upgrade_hash(&alice, "$5$legacy", "$argon2id$upgraded", now)
        .await
        .unwrap();
    assert!(!stale, "only the hash that was read is replaced");
    let upgraded = users
        .upgrade_hash(&alice, "$argon2id$new", "$argon2id$upgraded", now)
        .await
        .unwrap();
    assert!(upgraded);
    let user = users.find(&alice).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "$argon2id$upgraded");
    assert_eq!(user.token_version, 2, "an upgrade keeps the version");
}

async fn the_fifth_claim_locks_for_one_second_and_a_reset_forgets_everything(stores: impl Shared) {
    let failures = stores.login_failures();
    let alice = name("Alice");
    let now = now();
    for expected in 1..=4 {
        let attempt = failures.claim_attempt(&alice, now).await.unwrap();
        assert_eq!(attempt, Attempt::Granted { failures: expected });
        let unlocked = LoginFailures {
            failures: expected,
            locked_until: None,
        };
        assert_eq!(failures.record(&alice).await.unwrap(), unlocked);
    }
    let fifth = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(
        fifth,
        Attempt::Granted { failures: 5 },
        "the fifth check runs"
    );
    let stored = failures.record(&name("ALICE")).await.unwrap();
    assert_eq!(stored.failures, 5, "read back by any letter case");
    assert_eq!(stored.remaining_lock(now), Some(Duration::from_secs(1)));
    let sixth = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(
        sixth,
        Attempt::Locked {
            failures: 5,
            retry_after: Duration::from_secs(1)
        }
    );
    assert_eq!(
        failures.record(&alice).await.unwrap(),
        stored,
        "a refusal counts nothing"
    );

    failures.reset(&alice).await.unwrap();
    assert_eq!(
        failures.record(&alice).await.unwrap(),
        LoginFailures::default()
    );
    let after_reset = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(after_reset, Attempt::Granted { failures: 1 });
}

/// Claims `count` attempts for `username` at once and returns how many were granted.
async fn concurrent_claims(
    stores: &impl Shared,
    username: &str,
    count: usize,
    now: SystemTime,
) -> usize {
    let tasks = (0..count).map(|_| {
        let stores = stores.clone();
        let username = name(username);
        tokio::spawn(async move {
            stores
                .login_failures()
                .claim_attempt(&username, now)
                .await
                .unwrap()
        })
    });
    let attempts = futures_util::future::join_all(tasks).await;
    attempts
        .into_iter()
        .filter(|attempt| matches!(attempt.as_ref().unwrap(), Attempt::Granted { .. }))
        .count()
}

async fn sixteen_concurrent_claims_grant_five_then_one_per_expired_lock(stores: impl Shared) {
    let now = now();
    for round in 0..5 {
        let name = format!("bob{round}");
        assert_eq!(
            concurrent_claims(&stores, &name, 16, now).await,
            5,
            "five checks before the first lock, whatever the concurrency"
        );
        let record = stores
            .login_failures()
            .record(&self::name(&name))
            .await
            .unwrap();
        assert_eq!(record.failures, 5);
        assert_eq!(record.locked_until, Some(now + Duration::from_secs(1)));
    }
    let after_lock = now + Duration::from_secs(1);
    assert_eq!(
        concurrent_claims(&stores, "bob0", 16, after_lock).await,
        1,
        "a burst after the lock expires gets one check"
    );
    let record = stores.login_failures().record(&name("bob0")).await.unwrap();
    assert_eq!(record.failures, 6);
    assert_eq!(
        record.locked_until,
        Some(after_lock + Duration::from_secs(2))
    );
}

async fn locks_grow_to_the_longest_and_stay_there(stores: impl Shared) {
    let failures = stores.login_failures();
    let carol = name("carol");
    let mut now = now();
    let mut lock = Duration::ZERO;
    for _ in 1..=20 {
        assert!(matches!(
            failures.claim_attempt(&carol, now).await.unwrap(),
            Attempt::Granted { .. }
        ));
        let record = failures.record(&carol).await.unwrap();
        lock = record.remaining_lock(now).unwrap_or_default();
        now += lock;
    }
    assert_eq!(lock, MAX_LOCK);
}

/// Stores a new token for `user` in `family` and returns its hash.
async fn stored_token(stores: &impl Stores, user: &str, family: &str, now: SystemTime) -> String {
    let token = shared::refresh::generate().unwrap();
    let record = RefreshRecord::new(
        token.hash.clone(),
        &name(user),
        family.to_owned(),
        0,
        now,
        DAY,
    );
    stores.refresh_tokens().insert(&record, now).await.unwrap();
    token.hash
}

async fn an_exchange_uses_the_token_once_and_a_replay_names_its_family(stores: impl Shared) {
    let tokens = stores.refresh_tokens();
    let now = now();
    let hash = stored_token(&stores, "Alice", "family-1", now).await;
    let Exchange::Rotated(record) = tokens.exchange(&hash, now).await.unwrap() else {
        panic!("the first exchange rotates");
    };
    assert_eq!(record.username.as_str(), "Alice");
    assert_eq!(record.username.canonical(), "alice");
    assert_eq!(record.family, "family-1");
    assert_eq!(record.expires_at, now + DAY);
    let replay = tokens.exchange(&hash, now).await.unwrap();
    let family = "family-1".to_owned();
    assert_eq!(replay, Exchange::Reused { family });
    let unknown = tokens.exchange(&"0".repeat(64), now).await.unwrap();
    assert_eq!(unknown, Exchange::Invalid);
}

async fn an_expired_or_revoked_token_is_invalid(stores: impl Shared) {
    let tokens = stores.refresh_tokens();
    let now = now();
    let expiring = stored_token(&stores, "alice", "f1", now).await;
    let at_expiry = tokens.exchange(&expiring, now + DAY).await.unwrap();
    assert_eq!(at_expiry, Exchange::Invalid);
    let revoked = stored_token(&stores, "alice", "f2", now).await;
    let family = tokens.family_of(&revoked).await.unwrap();
    assert_eq!(family.as_deref(), Some("f2"));
    assert_eq!(tokens.revoke_family("f2").await.unwrap(), 1);
    assert_eq!(tokens.revoke_family("f2").await.unwrap(), 0, "idempotent");
    let after = tokens.exchange(&revoked, now).await.unwrap();
    assert_eq!(after, Exchange::Invalid);
}

async fn ten_concurrent_exchanges_rotate_exactly_once(stores: impl Shared) {
    let now = now();
    let hash = stored_token(&stores, "alice", "race", now).await;
    let tasks = (0..10).map(|_| {
        let (stores, hash) = (stores.clone(), hash.clone());
        tokio::spawn(async move { stores.refresh_tokens().exchange(&hash, now).await.unwrap() })
    });
    let mut rotated = 0;
    for joined in futures_util::future::join_all(tasks).await {
        match joined.unwrap() {
            Exchange::Rotated(_) => rotated += 1,
            Exchange::Reused { family } => assert_eq!(family, "race"),
            Exchange::Invalid => panic!("the token exists"),
        }
    }
    assert_eq!(rotated, 1);
}

async fn revoking_a_user_ends_every_family_of_that_user_only(stores: impl Shared) {
    let tokens = stores.refresh_tokens();
    let now = now();
    let first = stored_token(&stores, "Alice", "a1", now).await;
    let second = stored_token(&stores, "alice", "a2", now).await;
    let bobs = stored_token(&stores, "bob", "b1", now).await;
    assert_eq!(tokens.revoke_user(&name("ALICE")).await.unwrap(), 2);
    for hash in [&first, &second] {
        assert_eq!(tokens.exchange(hash, now).await.unwrap(), Exchange::Invalid);
    }
    let bob = tokens.exchange(&bobs, now).await.unwrap();
    assert!(matches!(bob, Exchange::Rotated(_)), "{bob:?}");
}

async fn the_catalogue_is_the_sample_products(stores: impl Shared) {
    let products = stores.products().list().await.unwrap();
    assert_eq!(products, sample_products());
}
