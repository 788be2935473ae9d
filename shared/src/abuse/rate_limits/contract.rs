//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::abuse::rate_limits::{Decision, Limit};
use crate::identity::account_id::AccountId;
use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(sixteen_concurrent_hits_of_a_limit_allow_exactly_its_maximum,);

async fn sixteen_concurrent_hits_of_a_limit_allow_exactly_its_maximum(stores: impl Shared) {
    let limit = Limit {
        name: "contract",
        max: 5,
        window: Duration::from_secs(3600),
    };
    let subject = AccountId::generate().as_str().to_owned();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_001_200);
    let hits = (0..16).map(|_| {
        let (stores, subject) = (stores.clone(), subject.clone());
        tokio::spawn(async move {
            crate::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, at)
                .await
                .unwrap()
        })
    });
    let decisions: Vec<Decision> = futures_util::future::join_all(hits)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let allowed = decisions
        .iter()
        .filter(|d| **d == Decision::Allowed)
        .count();
    assert_eq!(allowed, 5, "{decisions:?}");
    assert!(decisions.contains(&Decision::Refused {
        retry_after_seconds: 2400
    }));
    let next_window = at + Duration::from_secs(2400);
    let fresh = crate::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, next_window)
        .await
        .unwrap();
    assert_eq!(fresh, Decision::Allowed);

    // Refunds take hits back, never below zero: refunding four of five leaves room for four.
    let refunds = (0..6).map(|_| {
        let (stores, subject) = (stores.clone(), subject.clone());
        tokio::spawn(async move {
            crate::abuse::rate_limits::refund(stores.rate_limits(), &limit, &subject, next_window)
                .await
                .unwrap();
        })
    });
    futures_util::future::join_all(refunds).await;
    let mut allowed_after = 0;
    for _ in 0..8 {
        let hit =
            crate::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, next_window);
        if hit.await.unwrap() == Decision::Allowed {
            allowed_after += 1;
        }
    }
    assert_eq!(
        allowed_after, 5,
        "the refunds emptied the counter, not below zero"
    );
}
