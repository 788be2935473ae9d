//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(
    a_record_is_taken_once_and_never_after_it_expires,
    of_parallel_takes_of_one_record_exactly_one_gets_it,
    of_parallel_uses_of_one_key_exactly_one_is_first,
);

async fn a_record_is_taken_once_and_never_after_it_expires(stores: impl Shared) {
    use crate::authorization::federation_pending::PendingStore;
    let pending = stores.federation();
    let at = now();
    pending.put("state:a", "{\"a\":1}", at + DAY).await.unwrap();
    assert_eq!(pending.take("state:b", at).await.unwrap(), None);
    assert_eq!(
        pending.take("state:a", at).await.unwrap().as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(
        pending.take("state:a", at).await.unwrap(),
        None,
        "single use"
    );
    pending
        .put("state:old", "{}", at + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        pending
            .take("state:old", at + Duration::from_secs(61))
            .await
            .unwrap(),
        None,
        "expired"
    );
    assert!(pending.use_once("used:x", at, at + DAY).await.unwrap());
    assert_eq!(
        pending.take("used:x", at).await.unwrap(),
        None,
        "a use mark is no record"
    );
    assert!(!pending.use_once("used:x", at, at + DAY).await.unwrap());
    assert!(
        pending
            .use_once("used:x", at + DAY + Duration::from_secs(1), at + DAY * 2)
            .await
            .unwrap(),
        "a mark ends when it expires"
    );
}

/// A callback replayed eight times at once: one replay gets the sign-in's state.
async fn of_parallel_takes_of_one_record_exactly_one_gets_it(stores: impl Shared) {
    use crate::authorization::federation_pending::PendingStore;
    let at = now();
    stores
        .federation()
        .put("state:race", "{}", at + DAY)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let stores = stores.clone();
            tokio::spawn(async move { stores.federation().take("state:race", at).await.unwrap() })
        })
        .collect();
    let mut got = 0;
    for task in tasks {
        got += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(got, 1);
}

/// One id_token presented eight times at once: one presentation is the first.
async fn of_parallel_uses_of_one_key_exactly_one_is_first(stores: impl Shared) {
    use crate::authorization::federation_pending::PendingStore;
    let at = now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let stores = stores.clone();
            tokio::spawn(async move {
                stores
                    .federation()
                    .use_once("used:race", at, at + DAY)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut first = 0;
    for task in tasks {
        first += usize::from(task.await.unwrap());
    }
    assert_eq!(first, 1);
}
