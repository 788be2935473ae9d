//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::identity::account_id::AccountId;
use crate::mail::email_codes::{EmailCode, EmailCodeStore, Purpose};
use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::Duration;

crate::testing::contract::contract!(an_emailed_code_is_redeemed_once_of_ten_and_never_after_expiry,);

async fn an_emailed_code_is_redeemed_once_of_ten_and_never_after_expiry(stores: impl Shared) {
    let account = AccountId::generate();
    let at = now();
    let code = |purpose, hours: u64| EmailCode {
        account: account.clone(),
        purpose,
        address: Some(address("alice@example.com")),
        expires_at: at + Duration::from_secs(3600 * hours),
        token_version: 0,
        issued_by: None,
    };
    let codes = stores.email_codes();
    codes
        .create("live", &code(Purpose::Reset, 1))
        .await
        .unwrap();
    codes
        .create("other", &code(Purpose::Verify, 1))
        .await
        .unwrap();
    assert!(
        codes
            .redeem("live", Purpose::Verify, at)
            .await
            .unwrap()
            .is_none(),
        "purpose"
    );
    assert!(
        codes
            .find("live", Purpose::Reset, at)
            .await
            .unwrap()
            .is_some()
    );
    let attempts = (0..10).map(|_| {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .email_codes()
                .redeem("live", Purpose::Reset, at)
                .await
                .unwrap()
        })
    });
    let redeemed: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .filter_map(Result::unwrap)
        .collect();
    assert_eq!(redeemed, vec![code(Purpose::Reset, 1)]);

    let issued = EmailCode {
        address: None,
        ..code(Purpose::AdminReset, 24)
    };
    codes.create("issued", &issued).await.unwrap();
    assert!(
        codes
            .find("issued", Purpose::Reset, at)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        codes.find("issued", Purpose::AdminReset, at).await.unwrap(),
        Some(issued.clone()),
        "a code without an address reads back as one"
    );
    assert_eq!(
        codes
            .redeem("issued", Purpose::AdminReset, at)
            .await
            .unwrap(),
        Some(issued)
    );
    assert!(
        codes
            .find("live", Purpose::Reset, at)
            .await
            .unwrap()
            .is_none()
    );

    codes
        .create("expiring", &code(Purpose::Reset, 1))
        .await
        .unwrap();
    let later = at + Duration::from_secs(3601);
    assert!(
        codes
            .redeem("expiring", Purpose::Reset, later)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        codes
            .delete_account(&account, Some(Purpose::Reset))
            .await
            .unwrap(),
        1
    );
    assert_eq!(codes.delete_account(&account, None).await.unwrap(), 1);
}
