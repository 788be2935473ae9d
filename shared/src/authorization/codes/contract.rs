//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;

crate::testing::contract::contract!(
    a_code_is_redeemed_once_and_a_replay_names_the_first_session,
    of_parallel_redemptions_of_one_code_exactly_one_wins,
    an_expired_or_deleted_code_is_invalid,
);

fn grant(
    account: crate::identity::account_id::AccountId,
) -> crate::authorization::codes::AuthorizationGrant {
    crate::authorization::codes::AuthorizationGrant {
        client: crate::access::client_id::RelyingPartyId::generate().unwrap(),
        redirect_uri: "https://notes.example/callback".to_owned(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        scopes: crate::access::scopes::Scopes::parse("openid email"),
        account,
        token_version: 3,
        login_session: "login-session".to_owned(),
        authenticated_at: now(),
        amr: vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()],
        expires_at: now() + crate::authorization::codes::CODE_LIFETIME,
    }
}

async fn a_code_is_redeemed_once_and_a_replay_names_the_first_session(stores: impl Shared) {
    use crate::authorization::codes::{AuthorizationCodeStore, Redemption};
    let codes = stores.authorization_codes();
    let issued = grant(account(1));
    codes.issue("hash-1", &issued).await.unwrap();
    assert!(!codes.was_replayed("hash-1").await.unwrap());
    assert_eq!(
        codes.redeem("hash-1", "first", now()).await.unwrap(),
        Redemption::Redeemed(issued.clone())
    );
    assert!(!codes.was_replayed("hash-1").await.unwrap());
    assert_eq!(
        codes.redeem("hash-1", "second", now()).await.unwrap(),
        Redemption::Replayed {
            session: "first".to_owned(),
            account: account(1)
        }
    );
    assert!(codes.was_replayed("hash-1").await.unwrap());
    assert_eq!(
        codes.redeem("unknown", "third", now()).await.unwrap(),
        Redemption::Invalid
    );
}

async fn of_parallel_redemptions_of_one_code_exactly_one_wins(stores: impl Shared) {
    use crate::authorization::codes::{AuthorizationCodeStore, Redemption};
    for round in 0..5 {
        let hash = format!("race-{round}");
        stores
            .authorization_codes()
            .issue(&hash, &grant(account(2)))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..12)
            .map(|attempt| {
                let stores = stores.clone();
                let hash = hash.clone();
                tokio::spawn(async move {
                    stores
                        .authorization_codes()
                        .redeem(&hash, &format!("session-{attempt}"), now())
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut winners = Vec::new();
        let mut named = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Redemption::Redeemed(_) => winners.push(()),
                Redemption::Replayed { session, .. } => named.push(session),
                Redemption::Invalid => panic!("a live code was invalid"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        assert_eq!(named.len(), 11, "round {round}");
        named.dedup();
        assert_eq!(named.len(), 1, "every replay names the one winning session");
    }
}

async fn an_expired_or_deleted_code_is_invalid(stores: impl Shared) {
    use crate::authorization::codes::{AuthorizationCodeStore, Redemption};
    let codes = stores.authorization_codes();
    let mut expired = grant(account(3));
    expired.expires_at = now() - std::time::Duration::from_secs(1);
    codes.issue("expired", &expired).await.unwrap();
    assert_eq!(
        codes.redeem("expired", "s", now()).await.unwrap(),
        Redemption::Invalid
    );
    codes.issue("live", &grant(account(3))).await.unwrap();
    codes.issue("other", &grant(account(4))).await.unwrap();
    assert_eq!(codes.delete_account(&account(3)).await.unwrap(), 2);
    assert_eq!(
        codes.redeem("live", "s", now()).await.unwrap(),
        Redemption::Invalid
    );
    assert!(matches!(
        codes.redeem("other", "s", now()).await.unwrap(),
        Redemption::Redeemed(_)
    ));
}
