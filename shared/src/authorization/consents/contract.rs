//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(
    consents_add_up_per_account_and_application_and_revoke_alone,
    of_parallel_grants_of_different_scopes_every_scope_is_remembered,
);

fn client(n: u8) -> crate::access::client_id::RelyingPartyId {
    let letter = char::from(b'a' + n);
    crate::access::client_id::RelyingPartyId::parse(&format!(
        "rp_{}",
        letter.to_string().repeat(24)
    ))
    .unwrap()
}

async fn consents_add_up_per_account_and_application_and_revoke_alone(stores: impl Shared) {
    use crate::access::scopes::Scopes;
    use crate::authorization::consents::ConsentStore;
    let consents = stores.consents();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let later = at + Duration::from_secs(60);
    consents
        .grant(
            &account(1),
            &client(0),
            &Scopes::parse("openid profile"),
            at,
        )
        .await
        .unwrap();
    consents
        .grant(
            &account(1),
            &client(0),
            &Scopes::parse("openid email"),
            later,
        )
        .await
        .unwrap();
    consents
        .grant(&account(1), &client(1), &Scopes::parse("openid"), at)
        .await
        .unwrap();
    consents
        .grant(&account(2), &client(0), &Scopes::parse("openid"), at)
        .await
        .unwrap();
    let held = consents
        .find(&account(1), &client(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.scopes, Scopes::parse("email openid profile"));
    assert_eq!(held.granted_at, later);
    assert!(held.covers(&Scopes::parse("openid email")));
    assert!(!held.covers(&Scopes::parse("openid offline_access")));
    let listed: Vec<_> = consents
        .list(&account(1))
        .await
        .unwrap()
        .into_iter()
        .map(|consent| consent.client)
        .collect();
    assert_eq!(listed, vec![client(0), client(1)]);

    assert!(consents.revoke(&account(1), &client(0)).await.unwrap());
    assert!(!consents.revoke(&account(1), &client(0)).await.unwrap());
    assert_eq!(consents.find(&account(1), &client(0)).await.unwrap(), None);
    assert!(
        consents
            .find(&account(2), &client(0))
            .await
            .unwrap()
            .is_some(),
        "another account's stays"
    );
    consents.delete_account(&account(1)).await.unwrap();
    assert!(consents.list(&account(1)).await.unwrap().is_empty());
    assert_eq!(consents.list(&account(2)).await.unwrap().len(), 1);
}

/// Six consent pages of one account and application, each allowing another scope, are
/// answered at once: every scope is remembered.
async fn of_parallel_grants_of_different_scopes_every_scope_is_remembered(stores: impl Shared) {
    use crate::access::scopes::Scopes;
    use crate::authorization::consents::ConsentStore;
    let consents = stores.consents();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let scopes = [
        "openid",
        "profile",
        "email",
        "offline_access",
        "account",
        "products:write",
    ];
    let grants = scopes.iter().map(|scope| async move {
        consents
            .grant(&account(3), &client(2), &Scopes::parse(scope), at)
            .await
    });
    for granted in futures_util::future::join_all(grants).await {
        granted.unwrap();
    }
    let held = consents
        .find(&account(3), &client(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.scopes, Scopes::parse(&scopes.join(" ")));
}
