//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::identity::account_id::AccountId;
use crate::identity::users::{EmailVerification, Revocation, UserStore};
use crate::mail::email_codes::{EmailCode, EmailCodeStore, Purpose};
use crate::testing::contract::now;
use crate::testing::contract::*;

crate::testing::contract::contract!(
    every_version_bump_clears_the_waiting_address_and_ends_what_the_old_version_began,
    ending_what_began_before_deletes_the_accounts_codes_and_ends_its_login_sessions,
);

async fn ending_what_began_before_deletes_the_accounts_codes_and_ends_its_login_sessions(
    stores: impl Shared,
) {
    use crate::authorization::codes::{
        AuthorizationCodeStore, AuthorizationGrant, CODE_LIFETIME, Redemption,
    };
    use crate::sessions::{Session, SessionStore, login_key};
    let alice = created(&stores, "alice").await;
    let bob = created(&stores, "bob").await;
    let grant = |account: &AccountId| AuthorizationGrant {
        client: crate::access::client_id::RelyingPartyId::generate().unwrap(),
        redirect_uri: "https://notes.example/callback".to_owned(),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        nonce: None,
        scopes: crate::access::scopes::Scopes::parse("openid"),
        account: account.clone(),
        token_version: 0,
        login_session: "login".to_owned(),
        authenticated_at: now(),
        amr: vec!["pwd".to_owned()],
        expires_at: now() + CODE_LIFETIME,
    };
    let codes = stores.authorization_codes();
    codes.issue("alice-code", &grant(&alice)).await.unwrap();
    codes.issue("bob-code", &grant(&bob)).await.unwrap();
    let sessions = stores.sessions();
    for (account, cookie) in [(&alice, "alice-cookie"), (&bob, "bob-cookie")] {
        let session = Session::new(account, 0, now(), DAY);
        sessions
            .start(&session, &login_key(cookie), now(), DAY)
            .await
            .unwrap();
    }

    crate::lifecycle::revocation::end_started_before(&stores, &alice)
        .await
        .unwrap();

    assert_eq!(
        codes.redeem("alice-code", "s", now()).await.unwrap(),
        Redemption::Invalid,
        "a code issued before is gone"
    );
    let alice_key = login_key("alice-cookie");
    let login = sessions.find_login(&alice_key, now(), DAY);
    assert_eq!(login.await.unwrap(), None, "the login session ended");
    assert!(matches!(
        codes.redeem("bob-code", "s", now()).await.unwrap(),
        Redemption::Redeemed(_)
    ));
    let bob_key = login_key("bob-cookie");
    let other = sessions.find_login(&bob_key, now(), DAY);
    assert!(other.await.unwrap().is_some(), "another account's stays");
}

async fn every_version_bump_clears_the_waiting_address_and_ends_what_the_old_version_began(
    stores: impl Shared,
) {
    let users = stores.users();
    let alice = created(&stores, "alice").await;
    let waiting = address("alice@intruder.example");
    let read = |id: AccountId| {
        let stores = stores.clone();
        async move { stores.users().find_by_id(&id).await.unwrap().unwrap() }
    };

    // Every kind of bump takes the waiting address with it, in the same write.
    let bumps: [(&str, u64); 5] = [
        ("sign-out everywhere", 1),
        ("password change", 2),
        ("role change", 3),
        ("disable", 4),
        ("reset", 5),
    ];
    for (kind, version) in bumps {
        assert!(
            users
                .set_pending_email(&alice, Some(&waiting), version - 1, now())
                .await
                .unwrap(),
            "{kind}"
        );
        let hash = read(alice.clone()).await.password_hash;
        match kind {
            "sign-out everywhere" => {
                let bumped = users.bump_token_version(&alice, Revocation::Sessions, now());
                assert_eq!(bumped.await.unwrap(), Some(version));
            }
            "password change" => {
                let changed = users.change_password(&alice, &hash, "$argon2id$changed", now());
                assert!(changed.await.unwrap());
            }
            "role change" => {
                let roles = ["support".to_owned()];
                assert!(
                    users
                        .set_roles(&alice, version - 1, &roles, now())
                        .await
                        .unwrap()
                );
            }
            "disable" => {
                assert!(users.set_disabled(&alice, true, now()).await.unwrap());
                assert!(users.set_disabled(&alice, false, now()).await.unwrap());
            }
            _ => {
                let reset = users.reset_password(
                    &alice,
                    &hash,
                    "$argon2id$reset",
                    None,
                    version - 1,
                    now(),
                );
                assert!(reset.await.unwrap());
            }
        }
        let after = read(alice.clone()).await;
        assert_eq!(
            (after.token_version, after.pending_email),
            (version, None),
            "{kind}"
        );
    }
    let user = read(alice.clone()).await;
    assert_eq!(
        user.passkey_generation, 1,
        "only the reset moved the passkey generation"
    );
    let moved = users.bump_token_version(&alice, Revocation::SessionsAndPasskeys, now());
    assert_eq!(moved.await.unwrap(), Some(6));
    assert_eq!(read(alice.clone()).await.passkey_generation, 2);

    // What the old version began is refused: setting an address, verifying one, a reset.
    assert!(
        !users
            .set_pending_email(&alice, Some(&waiting), 5, now())
            .await
            .unwrap(),
        "a change read at an old version stores nothing"
    );
    assert!(
        users
            .set_pending_email(&alice, Some(&waiting), 6, now())
            .await
            .unwrap()
    );
    assert_eq!(
        users
            .verify_email(&alice, &waiting, 5, now())
            .await
            .unwrap(),
        EmailVerification::NotPending,
        "a code issued under an old version"
    );
    let hash = read(alice.clone()).await.password_hash;
    assert!(
        !users
            .reset_password(&alice, &hash, "$argon2id$late", None, 5, now())
            .await
            .unwrap(),
        "a reset code issued under an old version"
    );
    assert_eq!(
        users
            .verify_email(&alice, &waiting, 6, now())
            .await
            .unwrap(),
        EmailVerification::Verified { previous: None }
    );

    // A code remembers the version it was issued under.
    let code = EmailCode {
        account: alice.clone(),
        purpose: Purpose::Verify,
        address: Some(waiting.clone()),
        expires_at: now() + DAY,
        token_version: 6,
        issued_by: None,
    };
    stores
        .email_codes()
        .create("versioned", &code)
        .await
        .unwrap();
    let found = stores
        .email_codes()
        .redeem("versioned", Purpose::Verify, now());
    assert_eq!(found.await.unwrap(), Some(code));
}
