//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::factors::passkey_ceremonies::{Ceremony, CeremonyKind, PasskeyCeremonyStore};
use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(
    a_passkey_ceremony_is_consumed_once_of_ten_for_its_kind_until_it_expires,
);

async fn a_passkey_ceremony_is_consumed_once_of_ten_for_its_kind_until_it_expires(
    stores: impl Shared,
) {
    let start = now();
    let ceremony = Ceremony {
        kind: CeremonyKind::Registration,
        account: Some(account(1)),
        mfa_token_hash: None,
        token_version: Some(0),
        state: vec![1, 2, 3],
        expires_at: start + Duration::from_secs(300),
    };
    let ceremonies = stores.passkey_ceremonies();
    for challenge in ["c-1", "c-2", "c-3"] {
        ceremonies.create(challenge, &ceremony).await.unwrap();
    }
    let sign_in = CeremonyKind::SignIn;
    assert_eq!(
        ceremonies.consume("c-1", sign_in, start).await.unwrap(),
        None,
        "another kind"
    );
    let expiry = start + Duration::from_secs(300);
    assert_eq!(
        ceremonies
            .consume("c-2", CeremonyKind::Registration, expiry)
            .await
            .unwrap(),
        None,
        "expired"
    );

    let consumers = (0..10).map(|_| {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .passkey_ceremonies()
                .consume("c-1", CeremonyKind::Registration, start)
                .await
                .unwrap()
        })
    });
    let consumed: Vec<Ceremony> = futures_util::future::join_all(consumers)
        .await
        .into_iter()
        .filter_map(|taken| taken.unwrap())
        .collect();
    assert_eq!(
        consumed,
        vec![ceremony.clone()],
        "exactly one of ten, as stored"
    );

    assert_eq!(ceremonies.delete_account(&account(1)).await.unwrap(), 2);
    assert_eq!(
        ceremonies
            .consume("c-3", CeremonyKind::Registration, start)
            .await
            .unwrap(),
        None
    );
}
