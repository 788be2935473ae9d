//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::factors::passkeys::{PasskeyStore, PasskeyUse};
use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(
    passkeys_are_unique_listed_per_account_and_a_use_is_recorded_once_of_ten,
);

async fn passkeys_are_unique_listed_per_account_and_a_use_is_recorded_once_of_ten(
    stores: impl Shared,
) {
    let start = now();
    let passkeys = stores.passkeys();
    let first = passkey("cred-a", 1, start);
    assert!(passkeys.add(&first).await.unwrap());
    assert!(
        passkeys
            .add(&passkey("cred-b", 1, start + Duration::from_secs(1)))
            .await
            .unwrap()
    );
    assert!(passkeys.add(&passkey("cred-c", 2, start)).await.unwrap());
    assert!(
        !passkeys.add(&passkey("cred-a", 2, start)).await.unwrap(),
        "a credential id is registered once, to one account"
    );
    let listed: Vec<String> = passkeys
        .list(&account(1))
        .await
        .unwrap()
        .into_iter()
        .map(|passkey| passkey.id)
        .collect();
    assert_eq!(listed, ["cred-a", "cred-b"]);
    assert_eq!(passkeys.find("cred-a").await.unwrap(), Some(first.clone()));

    let later = start + Duration::from_secs(60);
    let users = (0..10u8).map(|n| {
        let stores = stores.clone();
        tokio::spawn(async move {
            let used = PasskeyUse {
                previous_state: &[0, 0, 0, 0, 0, 0, 1],
                state: &[0, 0, 0, 0, 0, 0, 10 + n],
                sign_count: 10 + u32::from(n),
                at: later,
            };
            stores.passkeys().record_use("cred-a", &used).await.unwrap()
        })
    });
    let recorded = futures_util::future::join_all(users).await;
    assert_eq!(
        recorded
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1,
        "ten uses verified against one stored state record one"
    );
    let used = passkeys.find("cred-a").await.unwrap().unwrap();
    assert!(used.sign_count >= 10);
    assert_eq!(
        used.last_used_at
            .map(|at| at.duration_since(UNIX_EPOCH).unwrap().as_millis()),
        Some(later.duration_since(UNIX_EPOCH).unwrap().as_millis())
    );

    assert!(
        !passkeys.remove(&account(2), "cred-a").await.unwrap(),
        "only its owner removes it"
    );
    assert!(passkeys.remove(&account(1), "cred-a").await.unwrap());
    assert_eq!(passkeys.find("cred-a").await.unwrap(), None);
    assert_eq!(passkeys.delete_account(&account(1)).await.unwrap(), 1);
    assert_eq!(passkeys.list(&account(2)).await.unwrap().len(), 1);
}
