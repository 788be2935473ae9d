//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(
    an_identity_links_to_one_account_lists_and_unlinks_only_from_it,
    of_parallel_links_of_one_identity_to_different_accounts_exactly_one_wins,
);

fn identity(
    issuer: &str,
    subject: &str,
    owner: u8,
    seconds: u64,
) -> crate::identity::identities::Identity {
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000 + seconds);
    crate::identity::identities::Identity {
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        account: account(owner),
        email: Some(address("someone@example.com")),
        email_verified: true,
        linked_at: at,
        last_used_at: at,
    }
}

async fn an_identity_links_to_one_account_lists_and_unlinks_only_from_it(stores: impl Shared) {
    use crate::identity::identities::{IdentityStore, Link};
    let identities = stores.identities();
    let google = identity("https://accounts.google.com", "1078", 1, 0);
    let github = identity("https://github.com", "1078", 1, 10);
    assert_eq!(identities.link(&google).await.unwrap(), Link::Linked);
    assert_eq!(
        identities.link(&github).await.unwrap(),
        Link::Linked,
        "the subject alone is no key"
    );
    let stolen = identity("https://accounts.google.com", "1078", 2, 20);
    assert_eq!(
        identities.link(&stolen).await.unwrap(),
        Link::AlreadyLinked(account(1)),
        "an identity belongs to one account"
    );
    assert_eq!(
        identities
            .find(&google.issuer, &google.subject)
            .await
            .unwrap(),
        Some(google.clone())
    );
    assert_eq!(
        identities.list(&account(1)).await.unwrap(),
        vec![google.clone(), github.clone()]
    );
    assert!(identities.list(&account(2)).await.unwrap().is_empty());
    let later = UNIX_EPOCH + Duration::from_secs(1_800_000_100);
    identities
        .touch(&google.issuer, &google.subject, later)
        .await
        .unwrap();
    let touched = identities
        .find(&google.issuer, &google.subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.last_used_at, later);

    assert!(
        !identities
            .unlink(&account(2), &google.issuer, &google.subject)
            .await
            .unwrap(),
        "another account cannot unlink it"
    );
    assert!(
        identities
            .unlink(&account(1), &google.issuer, &google.subject)
            .await
            .unwrap()
    );
    assert_eq!(
        identities
            .find(&google.issuer, &google.subject)
            .await
            .unwrap(),
        None
    );
    identities.delete_account(&account(1)).await.unwrap();
    assert!(identities.list(&account(1)).await.unwrap().is_empty());
}

/// Eight first logins with one new identity race to link it to eight different accounts:
/// one link wins, and every other attempt learns which account holds it.
async fn of_parallel_links_of_one_identity_to_different_accounts_exactly_one_wins(
    stores: impl Shared,
) {
    use crate::identity::identities::{IdentityStore, Link};
    let identities = stores.identities();
    let attempts: Vec<_> = (1..=8)
        .map(|owner| identity("https://idp.example", "race", owner, 0))
        .collect();
    let outcomes =
        futures_util::future::join_all(attempts.iter().map(|attempt| identities.link(attempt)))
            .await;
    let winners = outcomes
        .iter()
        .filter(|outcome| *outcome.as_ref().unwrap() == Link::Linked)
        .count();
    assert_eq!(winners, 1);
    let holder = identities
        .find("https://idp.example", "race")
        .await
        .unwrap()
        .unwrap()
        .account;
    for outcome in outcomes {
        match outcome.unwrap() {
            Link::Linked => {}
            Link::AlreadyLinked(account) => assert_eq!(account, holder),
        }
    }
}
