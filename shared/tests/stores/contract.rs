//! The store contract: every case runs against the in-memory stores the handler tests use
//! (`contract::in_memory::…`) and against MongoDB (`contract::live::…`), so the fakes are
//! held to the behaviour of the real stores, races included.

use crate::support::{name, now};
use shared::abuse::login_failures::{
    Attempt, LoginFailureStore, LoginFailures, MAX_LOCK, SecondFactorFailures,
};
use shared::abuse::rate_limits::{Decision, Limit};
use shared::factors::mfa_challenges::{MfaChallenge, MfaChallengeStore};
use shared::factors::passkey_ceremonies::{Ceremony, CeremonyKind, PasskeyCeremonyStore};
use shared::factors::passkeys::{Passkey, PasskeyStore, PasskeyUse};
use shared::factors::second_factors::SecondFactorStore;
use shared::factors::secret_box::Sealed;
use shared::identity::account_id::AccountId;
use shared::identity::email_address::EmailAddress;
use shared::identity::users::{EmailVerification, Insertion, Revocation, UserStore};
use shared::mail::email_codes::{EmailCode, EmailCodeStore, Purpose};
use shared::products::{ProductStore, sample_products};
use shared::sessions::{Rotation, Session, SessionStore};
use shared::stores::Stores;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A bundle of stores the cases can share between spawned tasks.
pub trait Shared: Stores + Clone + 'static {}
impl<S: Stores + Clone + 'static> Shared for S {}

const DAY: Duration = Duration::from_secs(86_400);

/// Generates one test per case and backend.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(shared::testing::MemoryStores::default()).await;
                }
            )*
        }
        mod live {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case(crate::support::mongo_stores().await.1).await;
                }
            )*
        }
    };
}

contract!(
    a_user_is_found_by_any_letter_case_with_the_chosen_spelling,
    a_username_differing_only_in_case_is_taken_and_nothing_changes,
    twenty_concurrent_inserts_of_one_username_store_exactly_one,
    token_versions_and_hash_replacements_are_conditional,
    the_fifth_claim_locks_for_one_second_and_a_reset_forgets_everything,
    sixteen_concurrent_claims_grant_five_then_one_per_expired_lock,
    locks_grow_to_the_longest_and_stay_there,
    a_rotation_replaces_the_current_token_once_and_a_replay_revokes_its_session,
    an_idle_token_an_ended_session_or_a_revoked_one_is_invalid,
    ten_concurrent_rotations_of_one_token_rotate_exactly_once,
    a_revocation_racing_a_rotation_always_leaves_the_session_dead,
    revoking_an_account_ends_every_session_of_that_account_only,
    an_account_is_found_by_its_id_and_a_name_registered_again_gets_a_new_one,
    the_catalogue_is_the_sample_products,
    sixteen_concurrent_takers_of_one_lease_get_it_once_until_it_is_released_or_runs_out,
    a_client_keeps_its_two_newest_secrets_and_never_loses_its_last,
    accounts_are_listed_by_name_filtered_and_paged_and_admins_counted,
    ten_concurrent_creations_of_one_product_store_one_and_writes_need_the_product,
    a_second_factor_guards_nothing_until_confirmed_and_accepts_each_step_once,
    ten_concurrent_uses_of_one_code_or_one_recovery_code_succeed_once,
    regenerated_recovery_codes_replace_the_old_ones_only_when_confirmed,
    an_mfa_challenge_is_found_until_it_expires_and_consumed_once_of_ten,
    second_factor_failures_have_their_own_counter_per_account,
    a_reseal_replaces_the_sealed_secret_only_if_it_is_still_the_one_read,
    active_sessions_are_listed_by_last_use_and_only_their_owner_ends_them,
    events_are_paged_newest_first_per_account_and_amended_in_place,
    an_address_counts_only_once_verified_and_is_unique_among_verified_ones,
    an_emailed_code_is_redeemed_once_of_ten_and_never_after_expiry,
    sixteen_concurrent_hits_of_a_limit_allow_exactly_its_maximum,
    a_passkey_ceremony_is_consumed_once_of_ten_for_its_kind_until_it_expires,
    passkeys_are_unique_listed_per_account_and_a_use_is_recorded_once_of_ten,
    every_version_bump_clears_the_waiting_address_and_ends_what_the_old_version_began,
    a_name_that_looks_like_an_existing_one_is_taken_and_twenty_parallel_look_alikes_store_one,
);

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

async fn created(stores: &impl Shared, username: &str) -> AccountId {
    match stores
        .users()
        .insert(&name(username), "$argon2id$hash", now())
        .await
        .unwrap()
    {
        Insertion::Created(id) => id,
        other => panic!("{other:?}"),
    }
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

async fn sixteen_concurrent_hits_of_a_limit_allow_exactly_its_maximum(stores: impl Shared) {
    let limit = Limit {
        name: "contract",
        max: 5,
        window: Duration::from_secs(3600),
    };
    let subject = AccountId::generate().as_str().to_owned();
    let at = UNIX_EPOCH + Duration::from_secs(1_800_001_200);
    let hits = (0..16).map(|_| {
        let (stores, subject) = (stores.clone(), subject.clone());
        tokio::spawn(async move {
            shared::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, at)
                .await
                .unwrap()
        })
    });
    let decisions: Vec<Decision> = futures_util::future::join_all(hits)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let allowed = decisions
        .iter()
        .filter(|d| **d == Decision::Allowed)
        .count();
    assert_eq!(allowed, 5, "{decisions:?}");
    assert!(decisions.contains(&Decision::Refused {
        retry_after_seconds: 2400
    }));
    let next_window = at + Duration::from_secs(2400);
    let fresh =
        shared::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, next_window)
            .await
            .unwrap();
    assert_eq!(fresh, Decision::Allowed);

    // Refunds take hits back, never below zero: refunding four of five leaves room for four.
    let refunds = (0..6).map(|_| {
        let (stores, subject) = (stores.clone(), subject.clone());
        tokio::spawn(async move {
            shared::abuse::rate_limits::refund(stores.rate_limits(), &limit, &subject, next_window)
                .await
                .unwrap();
        })
    });
    futures_util::future::join_all(refunds).await;
    let mut allowed_after = 0;
    for _ in 0..8 {
        let hit =
            shared::abuse::rate_limits::hit(stores.rate_limits(), &limit, &subject, next_window);
        if hit.await.unwrap() == Decision::Allowed {
            allowed_after += 1;
        }
    }
    assert_eq!(
        allowed_after, 5,
        "the refunds emptied the counter, not below zero"
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

async fn the_fifth_claim_locks_for_one_second_and_a_reset_forgets_everything(stores: impl Shared) {
    let failures = stores.login_failures();
    let alice = name("Alice");
    let now = now();
    for expected in 1..=4 {
        let attempt = failures.claim_attempt(&alice, now).await.unwrap();
        assert_eq!(attempt, Attempt::Granted { failures: expected });
        let unlocked = LoginFailures {
            failures: expected,
            locked_until: None,
        };
        assert_eq!(failures.record(&alice).await.unwrap(), unlocked);
    }
    let fifth = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(
        fifth,
        Attempt::Granted { failures: 5 },
        "the fifth check runs"
    );
    let stored = failures.record(&name("ALICE")).await.unwrap();
    assert_eq!(stored.failures, 5, "read back by any letter case");
    assert_eq!(stored.remaining_lock(now), Some(Duration::from_secs(1)));
    let sixth = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(
        sixth,
        Attempt::Locked {
            failures: 5,
            retry_after: Duration::from_secs(1)
        }
    );
    assert_eq!(
        failures.record(&alice).await.unwrap(),
        stored,
        "a refusal counts nothing"
    );

    failures.reset(&alice).await.unwrap();
    assert_eq!(
        failures.record(&alice).await.unwrap(),
        LoginFailures::default()
    );
    let after_reset = failures.claim_attempt(&alice, now).await.unwrap();
    assert_eq!(after_reset, Attempt::Granted { failures: 1 });
}

/// Claims `count` attempts for `username` at once and returns how many were granted.
async fn concurrent_claims(
    stores: &impl Shared,
    username: &str,
    count: usize,
    now: SystemTime,
) -> usize {
    let tasks = (0..count).map(|_| {
        let stores = stores.clone();
        let username = name(username);
        tokio::spawn(async move {
            stores
                .login_failures()
                .claim_attempt(&username, now)
                .await
                .unwrap()
        })
    });
    let attempts = futures_util::future::join_all(tasks).await;
    attempts
        .into_iter()
        .filter(|attempt| matches!(attempt.as_ref().unwrap(), Attempt::Granted { .. }))
        .count()
}

async fn sixteen_concurrent_claims_grant_five_then_one_per_expired_lock(stores: impl Shared) {
    let now = now();
    for round in 0..5 {
        let name = format!("bob{round}");
        assert_eq!(
            concurrent_claims(&stores, &name, 16, now).await,
            5,
            "five checks before the first lock, whatever the concurrency"
        );
        let record = stores
            .login_failures()
            .record(&self::name(&name))
            .await
            .unwrap();
        assert_eq!(record.failures, 5);
        assert_eq!(record.locked_until, Some(now + Duration::from_secs(1)));
    }
    let after_lock = now + Duration::from_secs(1);
    assert_eq!(
        concurrent_claims(&stores, "bob0", 16, after_lock).await,
        1,
        "a burst after the lock expires gets one check"
    );
    let record = stores.login_failures().record(&name("bob0")).await.unwrap();
    assert_eq!(record.failures, 6);
    assert_eq!(
        record.locked_until,
        Some(after_lock + Duration::from_secs(2))
    );
}

async fn locks_grow_to_the_longest_and_stay_there(stores: impl Shared) {
    let failures = stores.login_failures();
    let carol = name("carol");
    let mut now = now();
    let mut lock = Duration::ZERO;
    for _ in 1..=20 {
        assert!(matches!(
            failures.claim_attempt(&carol, now).await.unwrap(),
            Attempt::Granted { .. }
        ));
        let record = failures.record(&carol).await.unwrap();
        lock = record.remaining_lock(now).unwrap_or_default();
        now += lock;
    }
    assert_eq!(lock, MAX_LOCK);
}

fn account(n: u8) -> AccountId {
    AccountId::parse(&format!("{n:024x}")).unwrap()
}

/// Starts a session for `account` (a day idle, a week in all) and returns it with the hash
/// of its first token.
async fn started(stores: &impl Stores, account: &AccountId, now: SystemTime) -> (Session, String) {
    let mut session = Session::new(account, 0, now, 7 * DAY);
    session.client = shared::platform::http::RequestSource {
        ip: Some("192.0.2.7".to_owned()),
        user_agent: Some("contract-agent".to_owned()),
    };
    let token = shared::sessions::generate().unwrap();
    stores
        .sessions()
        .start(&session, &token.hash, now, DAY)
        .await
        .unwrap();
    (session, token.hash)
}

fn fresh_hash() -> String {
    shared::sessions::generate().unwrap().hash
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

async fn the_catalogue_is_the_sample_products(stores: impl Shared) {
    let products = stores.products().list().await.unwrap();
    assert_eq!(products, sample_products());
}

async fn accounts_are_listed_by_name_filtered_and_paged_and_admins_counted(stores: impl Shared) {
    use shared::identity::users::AccountQuery;
    let users = stores.users();
    let mut ids = Vec::new();
    for name in ["Carol", "alice", "bob", "alfred"] {
        ids.push(created(&stores, name).await);
    }
    let names = |listed: Vec<shared::identity::users::User>| -> Vec<String> {
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

async fn a_client_keeps_its_two_newest_secrets_and_never_loses_its_last(stores: impl Shared) {
    use shared::access::clients::{
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
        scopes: shared::access::scopes::Scopes::parse("products:write"),
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

async fn sixteen_concurrent_takers_of_one_lease_get_it_once_until_it_is_released_or_runs_out(
    stores: impl Shared,
) {
    use shared::abuse::leases::LeaseStore;
    let at = now();
    let ttl = Duration::from_secs(10);
    let takers: Vec<_> = (0..16)
        .map(|n| {
            let stores = stores.clone();
            tokio::spawn(async move {
                let holder = format!("holder-{n}");
                let got = stores
                    .leases()
                    .acquire("admins", &holder, at, ttl)
                    .await
                    .unwrap();
                got.then_some(holder)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for taker in takers {
        winners.extend(taker.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let leases = stores.leases();
    leases.release("admins", "someone-else").await.unwrap();
    assert!(
        !leases.acquire("admins", "late", at, ttl).await.unwrap(),
        "only its holder releases it"
    );
    leases.release("admins", &winners[0]).await.unwrap();
    assert!(leases.acquire("admins", "next", at, ttl).await.unwrap());
    assert!(
        leases
            .acquire("admins", "after", at + ttl, ttl)
            .await
            .unwrap(),
        "a lease that ran out is taken over"
    );
    assert!(
        !leases
            .acquire("admins", "next", at + ttl, ttl)
            .await
            .unwrap()
    );
}

async fn ten_concurrent_creations_of_one_product_store_one_and_writes_need_the_product(
    stores: impl Shared,
) {
    let product = |price_cents| shared::products::Product {
        id: "prod-contract".to_owned(),
        name: "Contract".to_owned(),
        description: String::new(),
        price_cents,
        currency: "EUR".to_owned(),
    };
    let attempts: Vec<_> = (0..10)
        .map(|price| {
            let stores = stores.clone();
            tokio::spawn(async move { stores.products().insert(&product(price)).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        created += usize::from(attempt.await.unwrap());
    }
    assert_eq!(created, 1, "one of ten concurrent creations");
    let products = stores.products();
    assert!(products.replace(&product(4200)).await.unwrap());
    let listed = products.list().await.unwrap();
    let stored = listed.iter().find(|p| p.id == "prod-contract").unwrap();
    assert_eq!(stored, &product(4200));
    assert!(products.delete("prod-contract").await.unwrap());
    assert!(!products.delete("prod-contract").await.unwrap());
    assert!(
        !products.replace(&product(1)).await.unwrap(),
        "replace never creates"
    );
    assert_eq!(products.list().await.unwrap(), sample_products());
}

fn sealed(byte: u8) -> Sealed {
    Sealed {
        key_id: "k1".to_owned(),
        nonce: vec![byte; 12],
        ciphertext: vec![byte; 36],
    }
}

async fn a_second_factor_guards_nothing_until_confirmed_and_accepts_each_step_once(
    stores: impl Shared,
) {
    let factors = stores.second_factors();
    let (alice, now) = (account(1), now());
    assert_eq!(factors.find(&alice).await.unwrap(), None);
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(1), now)
            .await
            .unwrap()
    );
    assert!(
        !factors.accept_step(&alice, 5).await.unwrap(),
        "unconfirmed"
    );
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(2), now)
            .await
            .unwrap(),
        "restarted"
    );
    let codes = vec!["hash-a".to_owned(), "hash-b".to_owned()];
    assert!(
        !factors
            .confirm(&alice, &sealed(1), 10, &codes)
            .await
            .unwrap(),
        "a code checked against the replaced secret confirms nothing"
    );
    assert!(
        factors
            .confirm(&alice, &sealed(2), 10, &codes)
            .await
            .unwrap()
    );
    assert!(
        !factors
            .confirm(&alice, &sealed(2), 11, &codes)
            .await
            .unwrap(),
        "once"
    );
    let stored = factors.find(&alice).await.unwrap().unwrap();
    assert_eq!(stored.secret, sealed(2));
    assert!(stored.confirmed);
    assert_eq!(stored.last_step, Some(10));
    assert_eq!(stored.recovery_codes, codes);
    assert!(
        !factors
            .begin_enrolment(&alice, &sealed(3), now)
            .await
            .unwrap(),
        "a confirmed factor is not replaced by a new enrolment"
    );
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().secret,
        sealed(2)
    );

    assert!(
        !factors.accept_step(&alice, 10).await.unwrap(),
        "the confirming code's step"
    );
    assert!(factors.accept_step(&alice, 11).await.unwrap());
    assert!(!factors.accept_step(&alice, 11).await.unwrap(), "a replay");
    assert!(
        !factors.accept_step(&alice, 9).await.unwrap(),
        "an older step"
    );
    assert!(factors.spend_recovery_code(&alice, "hash-a").await.unwrap());
    assert!(
        !factors.spend_recovery_code(&alice, "hash-a").await.unwrap(),
        "spent"
    );
    assert!(
        !factors
            .spend_recovery_code(&account(2), "hash-b")
            .await
            .unwrap(),
        "not bob's"
    );
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().recovery_codes,
        ["hash-b"]
    );
    assert!(factors.remove(&alice).await.unwrap());
    assert!(!factors.remove(&alice).await.unwrap());
    assert!(
        factors
            .begin_enrolment(&alice, &sealed(4), now)
            .await
            .unwrap()
    );
}

async fn ten_concurrent_uses_of_one_code_or_one_recovery_code_succeed_once(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    factors
        .confirm(&alice, &sealed(1), 1, &["hash-a".to_owned()])
        .await
        .unwrap();
    let steps = (0..10).map(|_| {
        let (stores, alice) = (stores.clone(), alice.clone());
        tokio::spawn(async move {
            stores
                .second_factors()
                .accept_step(&alice, 2)
                .await
                .unwrap()
        })
    });
    let accepted = futures_util::future::join_all(steps).await;
    assert_eq!(
        accepted
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
    let spends = (0..10).map(|_| {
        let (stores, alice) = (stores.clone(), alice.clone());
        tokio::spawn(async move {
            stores
                .second_factors()
                .spend_recovery_code(&alice, "hash-a")
                .await
                .unwrap()
        })
    });
    let spent = futures_util::future::join_all(spends).await;
    assert_eq!(
        spent
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
}

async fn regenerated_recovery_codes_replace_the_old_ones_only_when_confirmed(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    let fresh = ["new-a".to_owned(), "new-b".to_owned()];
    assert!(
        !factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    assert!(
        !factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    factors
        .confirm(&alice, &sealed(1), 1, &["old-a".to_owned()])
        .await
        .unwrap();
    assert!(
        factors
            .replace_recovery_codes(&alice, &fresh)
            .await
            .unwrap()
    );
    assert!(!factors.spend_recovery_code(&alice, "old-a").await.unwrap());
    assert!(factors.spend_recovery_code(&alice, "new-b").await.unwrap());
    assert_eq!(
        factors.find(&alice).await.unwrap().unwrap().recovery_codes,
        ["new-a"]
    );
}

async fn an_mfa_challenge_is_found_until_it_expires_and_consumed_once_of_ten(stores: impl Shared) {
    let start = now();
    let challenge = MfaChallenge {
        account: account(1),
        token_version: 3,
        password_at: start,
        expires_at: start + Duration::from_secs(300),
    };
    let challenges = stores.mfa_challenges();
    challenges.create("hash-1", &challenge).await.unwrap();
    challenges.create("hash-2", &challenge).await.unwrap();
    let found = challenges.find("hash-1", start).await.unwrap().unwrap();
    assert_eq!(found.account, account(1));
    assert_eq!(found.token_version, 3);
    assert_eq!(
        found.expires_at.duration_since(found.password_at).unwrap(),
        Duration::from_secs(300)
    );
    assert_eq!(challenges.find("unknown", start).await.unwrap(), None);

    let expiry = start + Duration::from_secs(300);
    assert_eq!(challenges.find("hash-2", expiry).await.unwrap(), None);
    assert!(!challenges.consume("hash-2", expiry).await.unwrap());

    let consumers = (0..10).map(|_| {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .mfa_challenges()
                .consume("hash-1", start)
                .await
                .unwrap()
        })
    });
    let consumed = futures_util::future::join_all(consumers).await;
    assert_eq!(
        consumed
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1
    );
    assert_eq!(challenges.find("hash-1", start).await.unwrap(), None);
}

async fn second_factor_failures_have_their_own_counter_per_account(stores: impl Shared) {
    let failures = stores.login_failures();
    let (alice, bob) = (account(1), account(2));
    for _ in 0..5 {
        failures
            .claim_attempt(&SecondFactorFailures(&alice), now())
            .await
            .unwrap();
    }
    assert!(matches!(
        failures
            .claim_attempt(&SecondFactorFailures(&alice), now())
            .await
            .unwrap(),
        Attempt::Locked { .. }
    ));
    let untouched = [
        failures.record(&SecondFactorFailures(&bob)).await.unwrap(),
        failures.record(&name("alice")).await.unwrap(),
    ];
    assert_eq!(untouched, [LoginFailures::default(); 2]);
    failures.reset(&SecondFactorFailures(&alice)).await.unwrap();
    assert_eq!(
        failures
            .record(&SecondFactorFailures(&alice))
            .await
            .unwrap(),
        LoginFailures::default()
    );
}

async fn a_reseal_replaces_the_sealed_secret_only_if_it_is_still_the_one_read(stores: impl Shared) {
    let alice = account(1);
    let factors = stores.second_factors();
    factors
        .begin_enrolment(&alice, &sealed(1), now())
        .await
        .unwrap();
    factors.confirm(&alice, &sealed(1), 1, &[]).await.unwrap();
    assert!(
        !factors
            .reseal(&alice, &sealed(9), &sealed(2))
            .await
            .unwrap()
    );
    assert!(
        factors
            .reseal(&alice, &sealed(1), &sealed(2))
            .await
            .unwrap()
    );
    assert!(
        !factors
            .reseal(&alice, &sealed(1), &sealed(3))
            .await
            .unwrap()
    );
    let stored = factors.find(&alice).await.unwrap().unwrap();
    assert_eq!(stored.secret, sealed(2));
    assert!(stored.confirmed, "nothing else changes");
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

async fn events_are_paged_newest_first_per_account_and_amended_in_place(stores: impl Shared) {
    use shared::identity::account_events::{AccountEvent, AccountEventStore, Cursor, EventKind};
    let events = stores.events();
    let client = shared::platform::http::RequestSource {
        ip: Some("203.0.113.9".to_owned()),
        user_agent: Some("agent".to_owned()),
    };
    let start = now();
    let at = |seconds: u64| start + Duration::from_secs(seconds);
    let first = AccountEvent::new(&account(1), EventKind::LoginFailed, at(0), &client);
    let second = AccountEvent::new(&account(1), EventKind::LoginSucceeded, at(5), &client);
    let same_time = AccountEvent::new(&account(1), EventKind::PasswordChanged, at(5), &client);
    let bobs = AccountEvent::new(&account(2), EventKind::LoginSucceeded, at(9), &client);
    for event in [&first, &second, &same_time, &bobs] {
        events.append(event).await.unwrap();
    }
    let page = events.page(&account(1), None, 2).await.unwrap();
    let ids: Vec<_> = page.iter().map(|event| event.id).collect();
    let mut newest = [second.id, same_time.id];
    newest.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest, "newest first, ties by id");
    let rest = events
        .page(&account(1), Some(&Cursor::after(&page[1])), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].id, first.id);
    assert_eq!(rest[0].client, client);

    events
        .amend(&account(2), first.id, EventKind::LoginSucceeded)
        .await
        .unwrap();
    let unchanged = events.page(&account(1), None, 10).await.unwrap();
    assert_eq!(
        unchanged.last().unwrap().kind,
        EventKind::LoginFailed,
        "not bob's to amend"
    );
    events
        .amend(&account(1), first.id, EventKind::LoginSucceeded)
        .await
        .unwrap();
    let amended = events.page(&account(1), None, 10).await.unwrap();
    assert_eq!(amended.last().unwrap().kind, EventKind::LoginSucceeded);
    assert_eq!(events.page(&account(2), None, 10).await.unwrap().len(), 1);
}

async fn a_passkey_ceremony_is_consumed_once_of_ten_for_its_kind_until_it_expires(
    stores: impl Shared,
) {
    let start = now();
    let ceremony = Ceremony {
        kind: CeremonyKind::Registration,
        account: Some(account(1)),
        mfa_token_hash: None,
        token_version: Some(0),
        state: vec![1, 2, 3],
        expires_at: start + Duration::from_secs(300),
    };
    let ceremonies = stores.passkey_ceremonies();
    for challenge in ["c-1", "c-2", "c-3"] {
        ceremonies.create(challenge, &ceremony).await.unwrap();
    }
    let sign_in = CeremonyKind::SignIn;
    assert_eq!(
        ceremonies.consume("c-1", sign_in, start).await.unwrap(),
        None,
        "another kind"
    );
    let expiry = start + Duration::from_secs(300);
    assert_eq!(
        ceremonies
            .consume("c-2", CeremonyKind::Registration, expiry)
            .await
            .unwrap(),
        None,
        "expired"
    );

    let consumers = (0..10).map(|_| {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .passkey_ceremonies()
                .consume("c-1", CeremonyKind::Registration, start)
                .await
                .unwrap()
        })
    });
    let consumed: Vec<Ceremony> = futures_util::future::join_all(consumers)
        .await
        .into_iter()
        .filter_map(|taken| taken.unwrap())
        .collect();
    assert_eq!(
        consumed,
        vec![ceremony.clone()],
        "exactly one of ten, as stored"
    );

    assert_eq!(ceremonies.delete_account(&account(1)).await.unwrap(), 2);
    assert_eq!(
        ceremonies
            .consume("c-3", CeremonyKind::Registration, start)
            .await
            .unwrap(),
        None
    );
}

fn passkey(id: &str, owner: u8, created_at: SystemTime) -> Passkey {
    Passkey {
        id: id.to_owned(),
        account: account(owner),
        name: format!("key {id}"),
        transports: vec!["usb".to_owned()],
        public_key: vec![9; 40],
        state: vec![0, 0, 0, 0, 0, 0, 1],
        sign_count: 1,
        backup_eligible: false,
        created_at,
        last_used_at: None,
        generation: 0,
    }
}

async fn passkeys_are_unique_listed_per_account_and_a_use_is_recorded_once_of_ten(
    stores: impl Shared,
) {
    let start = now();
    let passkeys = stores.passkeys();
    let first = passkey("cred-a", 1, start);
    assert!(passkeys.add(&first).await.unwrap());
    assert!(
        passkeys
            .add(&passkey("cred-b", 1, start + Duration::from_secs(1)))
            .await
            .unwrap()
    );
    assert!(passkeys.add(&passkey("cred-c", 2, start)).await.unwrap());
    assert!(
        !passkeys.add(&passkey("cred-a", 2, start)).await.unwrap(),
        "a credential id is registered once, to one account"
    );
    let listed: Vec<String> = passkeys
        .list(&account(1))
        .await
        .unwrap()
        .into_iter()
        .map(|passkey| passkey.id)
        .collect();
    assert_eq!(listed, ["cred-a", "cred-b"]);
    assert_eq!(passkeys.find("cred-a").await.unwrap(), Some(first.clone()));

    let later = start + Duration::from_secs(60);
    let users = (0..10u8).map(|n| {
        let stores = stores.clone();
        tokio::spawn(async move {
            let used = PasskeyUse {
                previous_state: &[0, 0, 0, 0, 0, 0, 1],
                state: &[0, 0, 0, 0, 0, 0, 10 + n],
                sign_count: 10 + u32::from(n),
                at: later,
            };
            stores.passkeys().record_use("cred-a", &used).await.unwrap()
        })
    });
    let recorded = futures_util::future::join_all(users).await;
    assert_eq!(
        recorded
            .into_iter()
            .filter(|won| *won.as_ref().unwrap())
            .count(),
        1,
        "ten uses verified against one stored state record one"
    );
    let used = passkeys.find("cred-a").await.unwrap().unwrap();
    assert!(used.sign_count >= 10);
    assert_eq!(
        used.last_used_at
            .map(|at| at.duration_since(UNIX_EPOCH).unwrap().as_millis()),
        Some(later.duration_since(UNIX_EPOCH).unwrap().as_millis())
    );

    assert!(
        !passkeys.remove(&account(2), "cred-a").await.unwrap(),
        "only its owner removes it"
    );
    assert!(passkeys.remove(&account(1), "cred-a").await.unwrap());
    assert_eq!(passkeys.find("cred-a").await.unwrap(), None);
    assert_eq!(passkeys.delete_account(&account(1)).await.unwrap(), 1);
    assert_eq!(passkeys.list(&account(2)).await.unwrap().len(), 1);
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
