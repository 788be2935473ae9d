//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::identity::account_id::AccountId;
use crate::sessions::{Rotation, Session, SessionStore};
use crate::stores::Stores;
use crate::testing::contract::now;
use crate::testing::contract::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

crate::testing::contract::contract!(
    a_rotation_replaces_the_current_token_once_and_a_replay_revokes_its_session,
    an_idle_token_an_ended_session_or_a_revoked_one_is_invalid,
    ten_concurrent_rotations_of_one_token_rotate_exactly_once,
    a_revocation_racing_a_rotation_always_leaves_the_session_dead,
    revoking_an_account_ends_every_session_of_that_account_only,
    active_sessions_are_listed_by_last_use_and_only_their_owner_ends_them,
    a_login_session_is_found_by_its_cookie_never_rotates_and_ends_with_the_account,
);

/// Starts a session for `account` (a day idle, a week in all) and returns it with the hash
/// of its first token.
async fn started(stores: &impl Stores, account: &AccountId, now: SystemTime) -> (Session, String) {
    let mut session = Session::new(account, 0, now, 7 * DAY);
    session.client = crate::platform::http::RequestSource {
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("contract-agent".to_owned()),
    };
    let token = crate::sessions::generate().unwrap();
    stores
        .sessions()
        .start(&session, &token.hash, now, DAY)
        .await
        .unwrap();
    (session, token.hash)
}

fn fresh_hash() -> String {
    crate::sessions::generate().unwrap().hash
}

async fn a_rotation_replaces_the_current_token_once_and_a_replay_revokes_its_session(
    stores: impl Shared,
) {
    let tokens = stores.sessions();
    let now = now();
    let (session, first) = started(&stores, &account(1), now).await;
    let second = fresh_hash();
    let rotated = tokens.rotate(&first, &second, now, DAY).await.unwrap();
    assert_eq!(rotated, Rotation::Rotated(session.clone()));
    let (third, later) = (fresh_hash(), now + DAY / 2);
    let next = tokens.rotate(&second, &third, later, DAY).await.unwrap();
    assert_eq!(
        next,
        Rotation::Rotated(session.clone()),
        "the successor works"
    );
    assert_eq!(
        tokens.family_of(&third).await.unwrap(),
        Some((session.family.clone(), session.account.clone()))
    );

    let replay = tokens
        .rotate(&first, &fresh_hash(), later, DAY)
        .await
        .unwrap();
    let family = session.family.clone();
    let account = session.account.clone();
    assert_eq!(replay, Rotation::Reused { family, account });
    let current = tokens
        .rotate(&third, &fresh_hash(), later, DAY)
        .await
        .unwrap();
    assert_eq!(current, Rotation::Invalid, "the replay revoked the session");
    let again = tokens
        .rotate(&first, &fresh_hash(), later, DAY)
        .await
        .unwrap();
    assert_eq!(
        again,
        Rotation::Invalid,
        "a revoked session reports no reuse"
    );
    assert!(
        !tokens.revoke_family(&session.family).await.unwrap(),
        "already revoked"
    );

    let unknown = tokens
        .rotate(&"0".repeat(64), &fresh_hash(), now, DAY)
        .await
        .unwrap();
    assert_eq!(unknown, Rotation::Invalid);
}

async fn an_idle_token_an_ended_session_or_a_revoked_one_is_invalid(stores: impl Shared) {
    let tokens = stores.sessions();
    let now = now();
    let (_, idle) = started(&stores, &account(1), now).await;
    let at_idle_expiry = tokens
        .rotate(&idle, &fresh_hash(), now + DAY, DAY)
        .await
        .unwrap();
    assert_eq!(at_idle_expiry, Rotation::Invalid);

    // Rotated every half day, the session still ends a week after it started.
    let (_, mut current) = started(&stores, &account(2), now).await;
    let mut at = now;
    while at + DAY / 2 < now + 7 * DAY {
        at += DAY / 2;
        let next = fresh_hash();
        let rotation = tokens.rotate(&current, &next, at, DAY).await.unwrap();
        assert!(matches!(rotation, Rotation::Rotated(_)), "{rotation:?}");
        current = next;
    }
    let ended = tokens
        .rotate(&current, &fresh_hash(), now + 7 * DAY, DAY)
        .await
        .unwrap();
    assert_eq!(ended, Rotation::Invalid);

    let (session, revoked) = started(&stores, &account(3), now).await;
    assert!(tokens.revoke_family(&session.family).await.unwrap());
    assert!(
        !tokens.revoke_family(&session.family).await.unwrap(),
        "idempotent"
    );
    let after = tokens
        .rotate(&revoked, &fresh_hash(), now, DAY)
        .await
        .unwrap();
    assert_eq!(after, Rotation::Invalid);
}

async fn ten_concurrent_rotations_of_one_token_rotate_exactly_once(stores: impl Shared) {
    let now = now();
    let (session, hash) = started(&stores, &account(1), now).await;
    let tasks = (0..10).map(|_| {
        let (stores, hash) = (stores.clone(), hash.clone());
        tokio::spawn(async move {
            let successor = fresh_hash();
            let rotation = stores.sessions().rotate(&hash, &successor, now, DAY).await;
            (rotation.unwrap(), successor)
        })
    });
    let (mut rotated, mut reused, mut successors) = (0, 0, Vec::new());
    for joined in futures_util::future::join_all(tasks).await {
        let (rotation, successor) = joined.unwrap();
        match rotation {
            Rotation::Rotated(_) => {
                rotated += 1;
                successors.push(successor);
            }
            Rotation::Reused { family, account } => {
                assert_eq!(
                    (family, account),
                    (session.family.clone(), session.account.clone())
                );
                reused += 1;
            }
            // The session was revoked by a replay that came first.
            Rotation::Invalid => {}
        }
    }
    assert_eq!(
        (rotated, reused),
        (1, 1),
        "one winner, and the first replay revokes"
    );
    let after = stores
        .sessions()
        .rotate(&successors[0], &fresh_hash(), now, DAY)
        .await;
    assert_eq!(
        after.unwrap(),
        Rotation::Invalid,
        "the winner's successor died with the session"
    );
}

async fn a_revocation_racing_a_rotation_always_leaves_the_session_dead(stores: impl Shared) {
    let now = now();
    for round in 0..25 {
        let (session, hash) = started(&stores, &account(1), now).await;
        let successor = fresh_hash();
        let rotation = {
            let (stores, hash, successor) = (stores.clone(), hash.clone(), successor.clone());
            tokio::spawn(async move {
                stores
                    .sessions()
                    .rotate(&hash, &successor, now, DAY)
                    .await
                    .unwrap()
            })
        };
        let revocation = {
            let (stores, family) = (stores.clone(), session.family.clone());
            tokio::spawn(async move { stores.sessions().revoke_family(&family).await.unwrap() })
        };
        let (rotation, revoked) = (rotation.await.unwrap(), revocation.await.unwrap());
        assert!(
            revoked,
            "round {round}: the session was active when revoked"
        );
        let tokens = stores.sessions();
        for (name, token) in [("presented", &hash), ("successor", &successor)] {
            let after = tokens.rotate(token, &fresh_hash(), now, DAY).await.unwrap();
            assert_eq!(
                after,
                Rotation::Invalid,
                "round {round}: the {name} token ({rotation:?})"
            );
        }
    }
}

async fn revoking_an_account_ends_every_session_of_that_account_only(stores: impl Shared) {
    let tokens = stores.sessions();
    let now = now();
    let (_, first) = started(&stores, &account(1), now).await;
    let (_, second) = started(&stores, &account(1), now).await;
    let (_, others) = started(&stores, &account(2), now).await;
    assert_eq!(tokens.revoke_account(&account(1)).await.unwrap(), 2);
    for hash in [&first, &second] {
        let rotation = tokens.rotate(hash, &fresh_hash(), now, DAY).await.unwrap();
        assert_eq!(rotation, Rotation::Invalid);
    }
    let other = tokens
        .rotate(&others, &fresh_hash(), now, DAY)
        .await
        .unwrap();
    assert!(matches!(other, Rotation::Rotated(_)), "{other:?}");
}

async fn active_sessions_are_listed_by_last_use_and_only_their_owner_ends_them(
    stores: impl Shared,
) {
    let tokens = stores.sessions();
    let start = now();
    let (older, older_hash) = started(&stores, &account(1), start).await;
    let (newer, _) = started(&stores, &account(1), start + Duration::from_secs(10)).await;
    let (bobs, _) = started(&stores, &account(2), start).await;
    let later = start + Duration::from_secs(20);
    let rotated = tokens
        .rotate(&older_hash, &fresh_hash(), later, DAY)
        .await
        .unwrap();
    assert!(matches!(rotated, Rotation::Rotated(_)));

    let listed = tokens.active_sessions(&account(1), later).await.unwrap();
    let ids: Vec<&str> = listed.iter().map(|a| a.session.family.as_str()).collect();
    assert_eq!(
        ids,
        [older.family.as_str(), newer.family.as_str()],
        "last used first"
    );
    assert_eq!(
        listed[0]
            .last_used_at
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
        later.duration_since(UNIX_EPOCH).unwrap().as_millis()
    );
    assert_eq!(
        listed[0].session.client.user_agent.as_deref(),
        Some("contract-agent")
    );

    assert!(
        !tokens
            .end_session(&account(2), &older.family)
            .await
            .unwrap(),
        "not bob's"
    );
    assert!(
        tokens
            .end_session(&account(1), &older.family)
            .await
            .unwrap()
    );
    assert!(
        !tokens
            .end_session(&account(1), &older.family)
            .await
            .unwrap(),
        "once"
    );
    let listed = tokens.active_sessions(&account(1), later).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session.family, newer.family);
    assert_eq!(
        tokens.active_sessions(&account(2), later).await.unwrap()[0]
            .session
            .family,
        bobs.family
    );
    let after_idle = start + DAY + Duration::from_secs(11);
    assert!(
        tokens
            .active_sessions(&account(1), after_idle)
            .await
            .unwrap()
            .is_empty(),
        "an idle session is not listed"
    );
}

async fn a_login_session_is_found_by_its_cookie_never_rotates_and_ends_with_the_account(
    stores: impl Shared,
) {
    use secrecy::ExposeSecret as _;
    let sessions = stores.sessions();
    let now = now();
    let owner = account(61);
    let cookie = crate::sessions::generate().unwrap();
    let cookie = cookie.secret.expose_secret();
    let key = crate::sessions::login_key(cookie);
    let mut session = Session::new(&owner, 0, now, 7 * DAY);
    session.amr = vec!["pwd".to_owned(), "otp".to_owned(), "mfa".to_owned()];
    sessions.start(&session, &key, now, DAY).await.unwrap();
    let found = sessions.find_login(&key, now, DAY).await.unwrap();
    assert_eq!(found.as_ref(), Some(&session));
    assert_eq!(
        sessions
            .rotate(&crate::sessions::hash(cookie), &fresh_hash(), now, DAY)
            .await
            .unwrap(),
        Rotation::Invalid,
        "the cookie is no refresh token"
    );
    assert_eq!(
        sessions
            .rotate(&key, &fresh_hash(), now, DAY)
            .await
            .unwrap(),
        Rotation::Invalid,
        "nor is its stored key"
    );
    let later = now + DAY - Duration::from_secs(1);
    assert!(
        sessions
            .find_login(&key, later, DAY)
            .await
            .unwrap()
            .is_some()
    );
    let idle_again = later + DAY - Duration::from_secs(1);
    assert!(
        sessions
            .find_login(&key, idle_again, DAY)
            .await
            .unwrap()
            .is_some(),
        "each use moves the idle expiry"
    );
    assert!(
        sessions
            .find_login(&key, idle_again + DAY + Duration::from_secs(1), DAY)
            .await
            .unwrap()
            .is_none(),
        "idle for a day"
    );
    let (live, _) = (
        sessions
            .start(
                &session_for(&owner, now),
                &crate::sessions::login_key("second"),
                now,
                DAY,
            )
            .await,
        (),
    );
    live.unwrap();
    assert!(
        sessions
            .find_login(&crate::sessions::login_key("second"), now, DAY)
            .await
            .unwrap()
            .is_some()
    );
    sessions.revoke_account(&owner).await.unwrap();
    assert!(
        sessions
            .find_login(&crate::sessions::login_key("second"), now, DAY)
            .await
            .unwrap()
            .is_none(),
        "ended with every session of the account"
    );
}

fn session_for(account: &AccountId, now: SystemTime) -> Session {
    Session::new(account, 0, now, 7 * DAY)
}
