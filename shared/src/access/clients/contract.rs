//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::testing::contract::*;
use std::time::{Duration, UNIX_EPOCH};

crate::testing::contract::contract!(a_client_keeps_its_two_newest_secrets_and_never_loses_its_last,);

async fn a_client_keeps_its_two_newest_secrets_and_never_loses_its_last(stores: impl Shared) {
    use crate::access::clients::{
        ClientId, ClientStore, MachineClient, SecretAddition, SecretRemoval, StoredSecret,
    };
    let secret = |id: &str| StoredSecret {
        id: id.to_owned(),
        hash: format!("$argon2id${id}"),
        created_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    };
    let ids = |client: &MachineClient| -> Vec<String> {
        client
            .secrets
            .iter()
            .map(|secret| secret.id.clone())
            .collect()
    };
    let clients = stores.clients();
    let id = ClientId::generate().unwrap();
    let client = MachineClient {
        id: id.clone(),
        name: "billing".to_owned(),
        scopes: crate::access::scopes::Scopes::parse("products:write"),
        secrets: vec![secret("0000000a")],
        created_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        created_by: account(1),
    };
    clients.create(&client).await.unwrap();
    assert_eq!(clients.find(&id).await.unwrap().as_ref(), Some(&client));
    assert_eq!(
        clients.remove_secret(&id, "0000000a").await.unwrap(),
        SecretRemoval::LastSecret
    );
    assert_eq!(
        clients.add_secret(&id, &secret("0000000b")).await.unwrap(),
        SecretAddition::Added
    );
    assert_eq!(
        clients.add_secret(&id, &secret("0000000c")).await.unwrap(),
        SecretAddition::Full,
        "a second rotation never evicts a secret in use"
    );
    let found = clients.find(&id).await.unwrap().unwrap();
    assert_eq!(ids(&found), ["0000000a", "0000000b"]);
    assert_eq!(
        clients.remove_secret(&id, "0000000a").await.unwrap(),
        SecretRemoval::Removed
    );
    assert_eq!(
        clients.remove_secret(&id, "0000000a").await.unwrap(),
        SecretRemoval::NotFound
    );
    assert_eq!(
        clients.add_secret(&id, &secret("0000000c")).await.unwrap(),
        SecretAddition::Added
    );
    assert_eq!(
        ids(&clients.find(&id).await.unwrap().unwrap()),
        ["0000000b", "0000000c"]
    );
    assert_eq!(clients.list(None, 10).await.unwrap().len(), 1);
    assert!(
        clients.list(Some(&id), 10).await.unwrap().is_empty(),
        "nothing after it"
    );
    let unknown = ClientId::generate().unwrap();
    assert_eq!(
        clients
            .add_secret(&unknown, &secret("0000000d"))
            .await
            .unwrap(),
        SecretAddition::NotFound
    );
    assert!(clients.delete(&id).await.unwrap());
    assert!(!clients.delete(&id).await.unwrap());
    assert!(clients.find(&id).await.unwrap().is_none());
}
