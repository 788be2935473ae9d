//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::abuse::login_failures::{
    Attempt, LoginFailureStore, LoginFailures, MAX_LOCK, SecondFactorFailures,
};
use crate::testing::contract::*;
use crate::testing::contract::{name, now};
use std::time::{Duration, SystemTime};

crate::testing::contract::contract!(
    the_fifth_claim_locks_for_one_second_and_a_reset_forgets_everything,
    sixteen_concurrent_claims_grant_five_then_one_per_expired_lock,
    locks_grow_to_the_longest_and_stay_there,
    second_factor_failures_have_their_own_counter_per_account,
);

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

async fn second_factor_failures_have_their_own_counter_per_account(stores: impl Shared) {
    let failures = stores.login_failures();
    let (alice, bob) = (account(1), account(2));
    for _ in 0..5 {
        failures
            .claim_attempt(&SecondFactorFailures(&alice), now())
            .await
            .unwrap();
    }
    assert!(matches!(
        failures
            .claim_attempt(&SecondFactorFailures(&alice), now())
            .await
            .unwrap(),
        Attempt::Locked { .. }
    ));
    let untouched = [
        failures.record(&SecondFactorFailures(&bob)).await.unwrap(),
        failures.record(&name("alice")).await.unwrap(),
    ];
    assert_eq!(untouched, [LoginFailures::default(); 2]);
    failures.reset(&SecondFactorFailures(&alice)).await.unwrap();
    assert_eq!(
        failures
            .record(&SecondFactorFailures(&alice))
            .await
            .unwrap(),
        LoginFailures::default()
    );
}
