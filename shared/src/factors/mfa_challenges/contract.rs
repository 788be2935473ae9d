//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::factors::mfa_challenges::{MfaChallenge, MfaChallengeStore};
use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(
    an_mfa_challenge_is_found_until_it_expires_and_consumed_once_of_ten,
);

async fn an_mfa_challenge_is_found_until_it_expires_and_consumed_once_of_ten(stores: impl Shared) {
    let start = now();
    let challenge = MfaChallenge {
        account: account(1),
        token_version: 3,
        password_at: start,
        federated: false,
        expires_at: start + Duration::from_secs(300),
    };
    let challenges = stores.mfa_challenges();
    challenges.create("hash-1", &challenge).await.unwrap();
    challenges.create("hash-2", &challenge).await.unwrap();
    let found = challenges.find("hash-1", start).await.unwrap().unwrap();
    assert_eq!(found.account, account(1));
    assert_eq!(found.token_version, 3);
    assert_eq!(
        found.expires_at.duration_since(found.password_at).unwrap(),
        Duration::from_secs(300)
    );
    assert_eq!(challenges.find("unknown", start).await.unwrap(), None);

    let expiry = start + Duration::from_secs(300);
    assert_eq!(challenges.find("hash-2", expiry).await.unwrap(), None);
    assert!(!challenges.consume("hash-2", expiry).await.unwrap());

    let consumers = (0..10).map(|_| {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .mfa_challenges()
                .consume("hash-1", start)
                .await
                .unwrap()
        })
    });
    let consumed = futures_util::future::join_all(consumers).await;
    assert_eq!(
        consumed
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
    assert_eq!(challenges.find("hash-1", start).await.unwrap(), None);
}
