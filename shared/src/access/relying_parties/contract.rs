//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(a_relying_party_reads_back_as_registered_and_lists_in_id_order,);

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
