//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(
    sixteen_concurrent_takers_of_one_lease_get_it_once_until_it_is_released_or_runs_out,
);

async fn sixteen_concurrent_takers_of_one_lease_get_it_once_until_it_is_released_or_runs_out(
    stores: impl Shared,
) {
    use crate::abuse::leases::LeaseStore;
    let at = now();
    let ttl = Duration::from_secs(10);
    let takers: Vec<_> = (0..16)
        .map(|n| {
            let stores = stores.clone();
            tokio::spawn(async move {
                let holder = format!("holder-{n}");
                let got = stores
                    .leases()
                    .acquire("admins", &holder, at, ttl)
                    .await
                    .unwrap();
                got.then_some(holder)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for taker in takers {
        winners.extend(taker.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let leases = stores.leases();
    leases.release("admins", "someone-else").await.unwrap();
    assert!(
        !leases.acquire("admins", "late", at, ttl).await.unwrap(),
        "only its holder releases it"
    );
    leases.release("admins", &winners[0]).await.unwrap();
    assert!(leases.acquire("admins", "next", at, ttl).await.unwrap());
    assert!(
        leases
            .acquire("admins", "after", at + ttl, ttl)
            .await
            .unwrap(),
        "a lease that ran out is taken over"
    );
    assert!(
        !leases
            .acquire("admins", "next", at + ttl, ttl)
            .await
            .unwrap()
    );
}
