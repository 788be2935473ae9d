//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::identity::users::{EmailVerification, Insertion, Revocation, UserStore};
use crate::testing::contract::*;
use crate::testing::contract::{name, now};
use std::time::SystemTime;

crate::testing::contract::contract!(
    a_user_is_found_by_any_letter_case_with_the_chosen_spelling,
    a_username_differing_only_in_case_is_taken_and_nothing_changes,
    twenty_concurrent_inserts_of_one_username_store_exactly_one,
    token_versions_and_hash_replacements_are_conditional,
    an_account_is_found_by_its_id_and_a_name_registered_again_gets_a_new_one,
    accounts_are_listed_by_name_filtered_and_paged_and_admins_counted,
    an_address_counts_only_once_verified_and_is_unique_among_verified_ones,
    a_name_that_looks_like_an_existing_one_is_taken_and_twenty_parallel_look_alikes_store_one,
    a_proposed_name_changes_once_never_to_a_taken_or_look_alike_name,
    an_address_a_hook_vouched_for_is_marked_until_a_code_verifies_one,
);

/// An address verified on a hook's word is marked so; verifying an address by code (the same
/// or another) clears the mark, and the vouched one is as unique as any verified address.
async fn an_address_a_hook_vouched_for_is_marked_until_a_code_verifies_one(stores: impl Shared) {
    let users = stores.users();
    let carol = created(&stores, "carol").await;
    let dave = created(&stores, "dave").await;
    let vouched = address("carol@example.org");
    assert!(
        users
            .set_pending_email(&carol, Some(&vouched), 0, now())
            .await
            .unwrap()
    );
    assert!(matches!(
        users.vouch_email(&carol, &vouched, 0, now()).await.unwrap(),
        EmailVerification::Verified { previous: None }
    ));
    let user = users.find_by_id(&carol).await.unwrap().unwrap();
    assert_eq!(user.email.as_ref(), Some(&vouched));
    assert!(user.email_vouched);
    // Another account cannot take it, vouched or not.
    assert!(
        users
            .set_pending_email(&dave, Some(&vouched), 0, now())
            .await
            .unwrap()
    );
    assert_eq!(
        users.vouch_email(&dave, &vouched, 0, now()).await.unwrap(),
        EmailVerification::AddressTaken
    );
    // A code verifies a new address: the mark goes.
    let proven = address("carol@example.com");
    assert!(
        users
            .set_pending_email(&carol, Some(&proven), 0, now())
            .await
            .unwrap()
    );
    users.verify_email(&carol, &proven, 0, now()).await.unwrap();
    let user = users.find_by_id(&carol).await.unwrap().unwrap();
    assert_eq!(user.email.as_ref(), Some(&proven));
    assert!(!user.email_vouched);
}

/// An account created through another provider renames itself once; eight parallel renames
/// of it leave one name, and a chosen name never changes this way.
async fn a_proposed_name_changes_once_never_to_a_taken_or_look_alike_name(stores: impl Shared) {
    use crate::identity::users::Renaming;
    let users = stores.users();
    let Insertion::Created(id) = users
        .insert_provisional(&name("octocat"), now())
        .await
        .unwrap()
    else {
        panic!("not created");
    };
    let stored = users.find_by_id(&id).await.unwrap().unwrap();
    assert!(stored.username_provisional);
    assert!(!stored.has_password());
    created(&stores, "taken").await;
    assert_eq!(
        users
            .rename_provisional(&id, &name("TAKEN"), now())
            .await
            .unwrap(),
        Renaming::UsernameTaken
    );
    assert_eq!(
        users
            .rename_provisional(&id, &name("taken"), now())
            .await
            .unwrap(),
        Renaming::UsernameTaken
    );
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let stores = stores.clone();
            let id = id.clone();
            tokio::spawn(async move {
                stores
                    .users()
                    .rename_provisional(&id, &name(&format!("mona{n}")), now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut renamed = 0;
    for task in tasks {
        match task.await.unwrap() {
            Renaming::Renamed => renamed += 1,
            Renaming::NotProvisional => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(renamed, 1, "once");
    let stored = users.find_by_id(&id).await.unwrap().unwrap();
    assert!(stored.username.as_str().starts_with("mona"));
    assert!(!stored.username_provisional);
    assert_eq!(
        users
            .find(&stored.username)
            .await
            .unwrap()
            .map(|user| user.id),
        Some(id.clone()),
        "found by its new name"
    );
    assert!(
        users.find(&name("octocat")).await.unwrap().is_none(),
        "the old name is free"
    );
    let chosen = created(&stores, "chosen").await;
    assert_eq!(
        users
            .rename_provisional(&chosen, &name("another"), now())
            .await
            .unwrap(),
        Renaming::NotProvisional
    );
}

async fn a_user_is_found_by_any_letter_case_with_the_chosen_spelling(stores: impl Shared) {
    let users = stores.users();
    let created = users
        .insert(&name("Alice"), "$argon2id$hash", SystemTime::now())
        .await
        .unwrap();
    assert!(matches!(created, Insertion::Created(_)), "{created:?}");
    for lookup in ["Alice", "alice", "ALICE"] {
        let user = users.find(&name(lookup)).await.unwrap().expect(lookup);
        assert_eq!(user.username.as_str(), "Alice", "the chosen spelling");
        assert_eq!(user.username.canonical(), "alice");
        assert_eq!(user.password_hash, "$argon2id$hash");
        assert_eq!(user.token_version, 0);
        assert!(!user.disabled);
    }
    assert!(users.find(&name("bob")).await.unwrap().is_none());
}

async fn a_username_differing_only_in_case_is_taken_and_nothing_changes(stores: impl Shared) {
    let users = stores.users();
    let now = SystemTime::now();
    users
        .insert(&name("alice"), "$argon2id$first", now)
        .await
        .unwrap();
    let second = users
        .insert(&name("ALICE"), "$argon2id$second", now)
        .await
        .unwrap();
    assert_eq!(second, Insertion::UsernameTaken);
    let kept = users.find(&name("alice")).await.unwrap().unwrap();
    assert_eq!(kept.password_hash, "$argon2id$first");
    assert_eq!(kept.username.as_str(), "alice");
}

pub async fn twenty_concurrent_inserts_of_one_username_store_exactly_one(stores: impl Shared) {
    let attempts = (0..20).map(|i| {
        let stores = stores.clone();
        let spelling = if i % 2 == 0 { "racer" } else { "RACER" };
        tokio::spawn(async move {
            let hash = format!("$argon2id${i}");
            stores
                .users()
                .insert(&name(spelling), &hash, SystemTime::now())
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<Insertion> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = outcomes
        .iter()
        .filter(|o| matches!(o, Insertion::Created(_)))
        .count();
    assert_eq!((created, outcomes.len() - created), (1, 19));
    assert!(stores.users().find(&name("Racer")).await.unwrap().is_some());
}

async fn token_versions_and_hash_replacements_are_conditional(stores: impl Shared) {
    let users = stores.users();
    let alice = name("alice");
    let now = SystemTime::now();
    users.insert(&alice, "$argon2id$old", now).await.unwrap();
    let id = users.find(&alice).await.unwrap().unwrap().id;
    assert_eq!(
        users
            .bump_token_version(&id, Revocation::Sessions, now)
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        users
            .bump_token_version(&account(7), Revocation::Sessions, now)
            .await
            .unwrap(),
        None
    );
    let stale = users
        .change_password(&id, "$argon2id$stale", "$argon2id$new", now)
        .await
        .unwrap();
    assert!(!stale, "a stale current hash changes nothing");
    let changed = users
        .change_password(&id, "$argon2id$old", "$argon2id$new", now)
        .await
        .unwrap();
    assert!(changed);
    let user = users.find(&alice).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "$argon2id$new");
    assert_eq!(user.token_version, 2, "a password change bumps the version");

    let stale = users
        .upgrade_hash(&id, &alice, "$5$legacy", "$argon2id$upgraded", now)
        .await
        .unwrap();
    assert!(!stale, "only the hash that was read is replaced");
    let upgraded = users
        .upgrade_hash(&id, &alice, "$argon2id$new", "$argon2id$upgraded", now)
        .await
        .unwrap();
    assert!(upgraded);
    let user = users.find(&alice).await.unwrap().unwrap();
    assert_eq!(user.password_hash, "$argon2id$upgraded");
    assert_eq!(user.token_version, 2, "an upgrade keeps the version");
}

async fn an_account_is_found_by_its_id_and_a_name_registered_again_gets_a_new_one(
    stores: impl Shared,
) {
    let users = stores.users();
    let alice = name("Alice");
    users
        .insert(&alice, "$argon2id$one", SystemTime::now())
        .await
        .unwrap();
    let first = users.find(&alice).await.unwrap().unwrap();
    let by_id = users.find_by_id(&first.id).await.unwrap();
    assert_eq!(by_id.as_ref(), Some(&first));
    assert_eq!(users.find_by_id(&account(9)).await.unwrap(), None);
    let other = name("bob");
    users
        .insert(&other, "$argon2id$two", SystemTime::now())
        .await
        .unwrap();
    let bob = users.find(&other).await.unwrap().unwrap();
    assert_ne!(bob.id, first.id, "every account has its own id");
}

async fn accounts_are_listed_by_name_filtered_and_paged_and_admins_counted(stores: impl Shared) {
    use crate::identity::users::AccountQuery;
    let users = stores.users();
    let mut ids = Vec::new();
    for name in ["Carol", "alice", "bob", "alfred"] {
        ids.push(created(&stores, name).await);
    }
    let names = |listed: Vec<crate::identity::users::User>| -> Vec<String> {
        listed
            .into_iter()
            .map(|user| user.username.as_str().to_owned())
            .collect()
    };
    let all = AccountQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(users.list(&all).await.unwrap()),
        ["alfred", "alice", "bob", "Carol"]
    );
    let page = AccountQuery {
        limit: 2,
        ..Default::default()
    };
    assert_eq!(names(users.list(&page).await.unwrap()), ["alfred", "alice"]);
    let next = AccountQuery {
        after: Some("alice".to_owned()),
        limit: 2,
        ..Default::default()
    };
    assert_eq!(names(users.list(&next).await.unwrap()), ["bob", "Carol"]);
    let prefixed = AccountQuery {
        prefix: Some("al".to_owned()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(users.list(&prefixed).await.unwrap()),
        ["alfred", "alice"]
    );

    let admin = ["admin".to_owned()];
    assert!(users.set_roles(&ids[1], 0, &admin, now()).await.unwrap());
    assert!(
        !users.set_roles(&ids[1], 0, &[], now()).await.unwrap(),
        "a change from a stale read is refused"
    );
    assert!(users.set_roles(&ids[2], 0, &admin, now()).await.unwrap());
    assert_eq!(users.count_enabled_holding(&admin).await.unwrap(), 2);
    assert!(users.set_disabled(&ids[2], true, now()).await.unwrap());
    let bob = users.find_by_id(&ids[2]).await.unwrap().unwrap();
    assert!(bob.disabled);
    assert_eq!(
        bob.token_version, 2,
        "a role change and a disable each bump the version"
    );
    assert_eq!(users.count_enabled_holding(&admin).await.unwrap(), 1);
    let admins = AccountQuery {
        role: Some("admin".to_owned()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(names(users.list(&admins).await.unwrap()), ["alice", "bob"]);
    let disabled = AccountQuery {
        disabled: Some(true),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(names(users.list(&disabled).await.unwrap()), ["bob"]);
    let enabled = AccountQuery {
        disabled: Some(false),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(
        names(users.list(&enabled).await.unwrap()),
        ["alfred", "alice", "Carol"]
    );
    assert!(users.set_disabled(&ids[2], false, now()).await.unwrap());
    let bob = users.find_by_id(&ids[2]).await.unwrap().unwrap();
    assert_eq!(
        (bob.disabled, bob.token_version),
        (false, 2),
        "enabling keeps old tokens dead"
    );
    assert!(!users.set_disabled(&account(9), true, now()).await.unwrap());
    assert!(
        !users
            .set_roles(&account(9), 0, &admin, now())
            .await
            .unwrap()
    );
}

async fn an_address_counts_only_once_verified_and_is_unique_among_verified_ones(
    stores: impl Shared,
) {
    let users = stores.users();
    let alice = created(&stores, "alice").await;
    let bob = created(&stores, "bob").await;
    let first = address("Alice@Example.com");
    assert!(
        users
            .set_pending_email(&alice, Some(&first), 0, now())
            .await
            .unwrap()
    );
    let user = users.find_by_id(&alice).await.unwrap().unwrap();
    assert_eq!(
        (user.email, user.pending_email),
        (None, Some(first.clone()))
    );
    assert!(
        users.find_by_email(&first).await.unwrap().is_none(),
        "not before verification"
    );

    let other = address("someone.else@example.com");
    assert_eq!(
        users.verify_email(&alice, &other, 0, now()).await.unwrap(),
        EmailVerification::NotPending
    );
    assert_eq!(
        users
            .verify_email(&alice, &address("alice@EXAMPLE.com"), 0, now())
            .await
            .unwrap(),
        EmailVerification::Verified { previous: None }
    );
    let found = users
        .find_by_email(&address("ALICE@example.com"))
        .await
        .unwrap();
    assert_eq!(found.map(|user| user.id), Some(alice.clone()));

    // Bob may wait for the same address, but not verify it while Alice has it.
    users
        .set_pending_email(&bob, Some(&first), 0, now())
        .await
        .unwrap();
    assert_eq!(
        users.verify_email(&bob, &first, 0, now()).await.unwrap(),
        EmailVerification::AddressTaken
    );
    let bob_user = users.find_by_id(&bob).await.unwrap().unwrap();
    assert_eq!(
        (bob_user.email, bob_user.pending_email),
        (None, Some(first.clone()))
    );

    // A change replaces the verified address only when verified, and says what it replaced.
    let second = address("alice@new.example");
    users
        .set_pending_email(&alice, Some(&second), 0, now())
        .await
        .unwrap();
    let waiting = users.find_by_id(&alice).await.unwrap().unwrap();
    assert_eq!(waiting.email, Some(address("alice@example.com")));
    assert_eq!(
        users.verify_email(&alice, &second, 0, now()).await.unwrap(),
        EmailVerification::Verified {
            previous: Some(address("alice@example.com"))
        }
    );
    // Now Bob can verify the address Alice let go.
    assert_eq!(
        users.verify_email(&bob, &first, 0, now()).await.unwrap(),
        EmailVerification::Verified { previous: None }
    );
    assert_eq!(
        users.remove_email(&alice, now()).await.unwrap(),
        Some(second.clone())
    );
    let removed = users.find_by_id(&alice).await.unwrap().unwrap();
    assert_eq!((removed.email, removed.pending_email), (None, None));
    assert!(users.find_by_email(&second).await.unwrap().is_none());
}

async fn a_name_that_looks_like_an_existing_one_is_taken_and_twenty_parallel_look_alikes_store_one(
    stores: impl Shared,
) {
    let users = stores.users();
    created(&stores, "coe").await;
    for look_alike in ["\u{441}\u{43e}\u{435}", "COE"] {
        assert_eq!(
            users
                .insert(&name(look_alike), "$argon2id$x", now())
                .await
                .unwrap(),
            Insertion::UsernameTaken,
            "{look_alike}"
        );
    }
    assert!(matches!(
        users
            .insert(&name("cod"), "$argon2id$x", now())
            .await
            .unwrap(),
        Insertion::Created(_)
    ));
    let spellings = ["alice", "aIice", "a1ice", "Alice", "AIice"];
    let racers = (0..20).map(|i| {
        let stores = stores.clone();
        tokio::spawn(async move {
            let spelling = spellings[i % spellings.len()];
            stores
                .users()
                .insert(&name(spelling), "$argon2id$x", now())
                .await
                .unwrap()
        })
    });
    let outcomes: Vec<Insertion> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let created = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Insertion::Created(_)))
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
}
