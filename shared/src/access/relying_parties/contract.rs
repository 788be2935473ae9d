//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(
    a_relying_party_reads_back_as_registered_and_lists_in_id_order,
    a_confidential_relying_partys_secrets_rotate_two_at_most_and_never_to_none,
    of_parallel_rotations_of_one_relying_party_exactly_one_adds_a_secret,
);

async fn a_relying_party_reads_back_as_registered_and_lists_in_id_order(stores: impl Shared) {
    use crate::access::clients::StoredSecret;
    use crate::access::redirect_uris::RedirectUri;
    use crate::access::relying_parties::{
        ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore,
    };
    let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let party = |kind: ClientKind| RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Notes".to_owned(),
        kind,
        redirect_uris: vec![
            RedirectUri::register("https://notes.example/callback").unwrap(),
            RedirectUri::register("http://127.0.0.1/callback").unwrap(),
        ],
        post_logout_redirect_uris: vec![RedirectUri::register("https://notes.example/").unwrap()],
        scopes: crate::access::scopes::Scopes::parse("openid email products:write"),
        first_party: false,
        id_token_algorithm: IdTokenAlgorithm::EdDsa,
        created_at: at,
        created_by: account(1),
    };
    let parties = stores.relying_parties();
    let public = party(ClientKind::Public);
    let confidential = party(ClientKind::Confidential {
        secrets: vec![StoredSecret {
            id: "0000000a".to_owned(),
            hash: "$argon2id$hash".to_owned(),
            created_at: at,
        }],
    });
    parties.create(&public).await.unwrap();
    parties.create(&confidential).await.unwrap();
    assert_eq!(
        parties.find(&public.id).await.unwrap().as_ref(),
        Some(&public)
    );
    assert_eq!(
        parties.find(&confidential.id).await.unwrap().as_ref(),
        Some(&confidential)
    );
    let mut ids = [public.id.clone(), confidential.id.clone()];
    ids.sort();
    let listed: Vec<_> = parties
        .list(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|party| party.id)
        .collect();
    assert_eq!(listed, ids);
    let after: Vec<_> = parties
        .list(Some(&ids[0]), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|party| party.id)
        .collect();
    assert_eq!(after, ids[1..]);
    assert!(parties.delete(&public.id).await.unwrap());
    assert!(!parties.delete(&public.id).await.unwrap());
    assert_eq!(parties.find(&public.id).await.unwrap(), None);
}

fn a_party(
    kind: crate::access::relying_parties::ClientKind,
) -> crate::access::relying_parties::RelyingParty {
    use crate::access::redirect_uris::RedirectUri;
    use crate::access::relying_parties::{IdTokenAlgorithm, RelyingParty, RelyingPartyId};
    RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Server app".to_owned(),
        kind,
        redirect_uris: vec![RedirectUri::register("https://server.example/callback").unwrap()],
        post_logout_redirect_uris: Vec::new(),
        scopes: crate::access::scopes::Scopes::parse("openid"),
        first_party: false,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        created_by: account(1),
    }
}

fn a_secret(id: &str) -> crate::access::clients::StoredSecret {
    crate::access::clients::StoredSecret {
        id: id.to_owned(),
        hash: format!("$argon2id${id}"),
        created_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    }
}

async fn a_confidential_relying_partys_secrets_rotate_two_at_most_and_never_to_none(
    stores: impl Shared,
) {
    use crate::access::relying_parties::{
        ClientKind, RelyingPartyId, RelyingPartyStore, SecretAddition, SecretRemoval,
    };
    let parties = stores.relying_parties();
    let server = a_party(ClientKind::Confidential {
        secrets: vec![a_secret("0000000a")],
    });
    let browser = a_party(ClientKind::Public);
    parties.create(&server).await.unwrap();
    parties.create(&browser).await.unwrap();

    let added = parties.add_secret(&server.id, &a_secret("0000000b")).await;
    assert_eq!(added.unwrap(), SecretAddition::Added);
    let full = parties.add_secret(&server.id, &a_secret("0000000c")).await;
    assert_eq!(full.unwrap(), SecretAddition::Full, "two at most");
    let public = parties.add_secret(&browser.id, &a_secret("0000000d")).await;
    assert_eq!(
        public.unwrap(),
        SecretAddition::NotFound,
        "a public client has none"
    );
    let unknown = RelyingPartyId::generate().unwrap();
    let nobody = parties.add_secret(&unknown, &a_secret("0000000e")).await;
    assert_eq!(nobody.unwrap(), SecretAddition::NotFound);
    let held: Vec<_> = parties
        .find(&server.id)
        .await
        .unwrap()
        .unwrap()
        .secrets()
        .to_vec();
    assert_eq!(held, vec![a_secret("0000000a"), a_secret("0000000b")]);

    let removed = parties.remove_secret(&server.id, "0000000a").await;
    assert_eq!(removed.unwrap(), SecretRemoval::Removed);
    let last = parties.remove_secret(&server.id, "0000000b").await;
    assert_eq!(last.unwrap(), SecretRemoval::LastSecret);
    let gone = parties.remove_secret(&server.id, "0000000a").await;
    assert_eq!(gone.unwrap(), SecretRemoval::NotFound);
    let held: Vec<_> = parties
        .find(&server.id)
        .await
        .unwrap()
        .unwrap()
        .secrets()
        .to_vec();
    assert_eq!(held, vec![a_secret("0000000b")]);
}

/// Six rotations of a party holding one secret race: one secret is added, five are
/// refused, and the party ends with two.
async fn of_parallel_rotations_of_one_relying_party_exactly_one_adds_a_secret(stores: impl Shared) {
    use crate::access::relying_parties::{ClientKind, RelyingPartyStore, SecretAddition};
    let parties = stores.relying_parties();
    let server = a_party(ClientKind::Confidential {
        secrets: vec![a_secret("0000000a")],
    });
    parties.create(&server).await.unwrap();
    let secrets: Vec<_> = (0..6).map(|n| a_secret(&format!("1000000{n}"))).collect();
    let rotations = secrets
        .iter()
        .map(|secret| parties.add_secret(&server.id, secret));
    let outcomes = futures_util::future::join_all(rotations).await;
    let added = outcomes
        .into_iter()
        .filter(|outcome| *outcome.as_ref().unwrap() == SecretAddition::Added)
        .count();
    assert_eq!(added, 1);
    let held = parties.find(&server.id).await.unwrap().unwrap();
    assert_eq!(held.secrets().len(), 2);
}
