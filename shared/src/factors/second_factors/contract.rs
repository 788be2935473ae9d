//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::factors::second_factors::SecondFactorStore;
use crate::factors::secret_box::Sealed;
use crate::testing::contract::now;
use crate::testing::contract::*;

crate::testing::contract::contract!(
    a_second_factor_guards_nothing_until_confirmed_and_accepts_each_step_once,
    ten_concurrent_uses_of_one_code_or_one_recovery_code_succeed_once,
    regenerated_recovery_codes_replace_the_old_ones_only_when_confirmed,
    a_reseal_replaces_the_sealed_secret_only_if_it_is_still_the_one_read,
);

fn sealed(byte: u8) -> Sealed {
    Sealed {
        key_id: "k1".to_owned(),
        nonce: vec![byte; 12],
        ciphertext: vec![byte; 36],
    }
}

async fn a_second_factor_guards_nothing_until_confirmed_and_accepts_each_step_once(
    stores: impl Shared,
) {
    let factors = stores.second_factors();
    let (alice, now) = (account(1), now());
    assert_eq!(factors.find(&alice).await.unwrap(), None);
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(1), now)
            .await
            .unwrap()
    );
    assert!(
        !factors.accept_step(&alice, 5).await.unwrap(),
        "unconfirmed"
    );
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(2), now)
            .await
            .unwrap(),
        "restarted"
    );
    let codes = vec!["hash-a".to_owned(), "hash-b".to_owned()];
    assert!(
        !factors
            .confirm(&alice, &sealed(1), 10, &codes)
            .await
            .unwrap(),
        "a code checked against the replaced secret confirms nothing"
    );
    assert!(
        factors
            .confirm(&alice, &sealed(2), 10, &codes)
            .await
            .unwrap()
    );
    assert!(
        !factors
            .confirm(&alice, &sealed(2), 11, &codes)
            .await
            .unwrap(),
        "once"
    );
    let stored = factors.find(&alice).await.unwrap().unwrap();
    assert_eq!(stored.secret, sealed(2));
    assert!(stored.confirmed);
    assert_eq!(stored.last_step, Some(10));
    assert_eq!(stored.recovery_codes, codes);
    assert!(
        !factors
            .begin_enrolment(&alice, &sealed(3), now)
            .await
            .unwrap(),
        "a confirmed factor is not replaced by a new enrolment"
    );
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().secret,
        sealed(2)
    );

    assert!(
        !factors.accept_step(&alice, 10).await.unwrap(),
        "the confirming code's step"
    );
    assert!(factors.accept_step(&alice, 11).await.unwrap());
    assert!(!factors.accept_step(&alice, 11).await.unwrap(), "a replay");
    assert!(
        !factors.accept_step(&alice, 9).await.unwrap(),
        "an older step"
    );
    assert!(factors.spend_recovery_code(&alice, "hash-a").await.unwrap());
    assert!(
        !factors.spend_recovery_code(&alice, "hash-a").await.unwrap(),
        "spent"
    );
    assert!(
        !factors
            .spend_recovery_code(&account(2), "hash-b")
            .await
            .unwrap(),
        "not bob's"
    );
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().recovery_codes,
        ["hash-b"]
    );
    assert!(factors.remove(&alice).await.unwrap());
    assert!(!factors.remove(&alice).await.unwrap());
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(4), now)
            .await
            .unwrap()
    );
}

async fn ten_concurrent_uses_of_one_code_or_one_recovery_code_succeed_once(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    factors
        .confirm(&alice, &sealed(1), 1, &["hash-a".to_owned()])
        .await
        .unwrap();
    let steps = (0..10).map(|_| {
        let (stores, alice) = (stores.clone(), alice.clone());
        tokio::spawn(async move {
            stores
                .second_factors()
                .accept_step(&alice, 2)
                .await
                .unwrap()
        })
    });
    let accepted = futures_util::future::join_all(steps).await;
    assert_eq!(
        accepted
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
    let spends = (0..10).map(|_| {
        let (stores, alice) = (stores.clone(), alice.clone());
        tokio::spawn(async move {
            stores
                .second_factors()
                .spend_recovery_code(&alice, "hash-a")
                .await
                .unwrap()
        })
    });
    let spent = futures_util::future::join_all(spends).await;
    assert_eq!(
        spent
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
}

async fn regenerated_recovery_codes_replace_the_old_ones_only_when_confirmed(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    let fresh = ["new-a".to_owned(), "new-b".to_owned()];
    assert!(
        !factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    assert!(
        !factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    factors
        .confirm(&alice, &sealed(1), 1, &["old-a".to_owned()])
        .await
        .unwrap();
    assert!(
        factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    assert!(!factors.spend_recovery_code(&alice, "old-a").await.unwrap());
    assert!(factors.spend_recovery_code(&alice, "new-b").await.unwrap());
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().recovery_codes,
        ["new-a"]
    );
}

async fn a_reseal_replaces_the_sealed_secret_only_if_it_is_still_the_one_read(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    factors.confirm(&alice, &sealed(1), 1, &[]).await.unwrap();
    assert!(
        !factors
            .reseal(&alice, &sealed(9), &sealed(2))
            .await
            .unwrap()
    );
    assert!(
        factors
            .reseal(&alice, &sealed(1), &sealed(2))
            .await
            .unwrap()
    );
    assert!(
        !factors
            .reseal(&alice, &sealed(1), &sealed(3))
            .await
            .unwrap()
    );
    let stored = factors.find(&alice).await.unwrap().unwrap();
    assert_eq!(stored.secret, sealed(2));
    assert!(stored.confirmed, "nothing else changes");
}
