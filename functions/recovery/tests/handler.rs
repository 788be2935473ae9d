//! The recovery handler (address verification, password reset) on its sample events, with
//! in-memory stores, a recording mailer and a manual clock.

use recovery::State;
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::account_events::EventKind;
use shared::identity::account_id::AccountId;
use shared::identity::credentials::{Password, Username};
use shared::identity::email_address::EmailAddress;
use shared::identity::users::UserStore as _;
use shared::mail::email_codes::{EmailCode, EmailCodeStore as _, Purpose};
use shared::mail::flows::{Outgoing, Recipient};
use shared::mail::sender::{MailSettings, Mailer};
use shared::sessions::{Session, SessionStore as _};
use shared::testing::{
    ManualClock, MemoryStores, MemoryUserStore, RecordingMailer, request_from, response_text,
    seeded_account_id,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const CURRENT: &str = "correct horse battery staple";
const NEW: &str = "a new and better passphrase";

struct Setup {
    state: State<MemoryStores>,
    time: ManualClock,
    outbox: RecordingMailer,
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let hash = hasher
        .hash(&Password::parse(CURRENT).unwrap())
        .await
        .unwrap();
    let users = MemoryUserStore::with_user("alice", &hash, SystemTime::now());
    let time = ManualClock::at(UNIX_EPOCH + Duration::from_secs(1_795_926_660));
    let outbox = RecordingMailer::default();
    let state = State {
        stores: MemoryStores::with_users(&users),
        hasher,
        mailer: Mailer::Recording(outbox.clone()),
        mail: MailSettings::from_source(&[("FRONTEND_URL", "https://app.example")]).unwrap(),
        clock: time.clock(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        reset_answer_time: Duration::from_millis(40),
        roles: shared::access::roles::Roles::default(),
        breached: shared::factors::breached_passwords::BreachedPasswords::off(),
        hooks: shared::hooks::Hooks::none(),
    };
    Setup {
        state,
        time,
        outbox,
    }
}

fn alice() -> AccountId {
    seeded_account_id("alice")
}

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

fn now(setup: &Setup) -> SystemTime {
    setup.state.clock.now()
}

fn outgoing(setup: &Setup) -> Outgoing<'_, shared::testing::MemoryEmailCodeStore> {
    Outgoing {
        codes: &setup.state.stores.email_codes,
        mailer: &setup.state.mailer,
        settings: &setup.state.mail,
        metrics: &setup.state.metrics,
        hooks: None,
        at_sign_up: false,
    }
}

/// Sets `text` as alice's waiting address and sends its code, as `PUT /users/me/email` does.
async fn request_verification(setup: &Setup, text: &str) -> String {
    let users = &setup.state.stores.users;
    let address = address(text);
    users
        .set_pending_email(&alice(), Some(&address), 0, now(setup))
        .await
        .unwrap();
    let username = Username::parse("alice").unwrap();
    let to = Recipient {
        account: &alice(),
        username: &username,
        address: &address,
    };
    outgoing(setup)
        .send_verification(&to, 0, now(setup))
        .await
        .unwrap();
    code_in_last_mail(setup)
}

/// Gives alice a verified address.
async fn verified(setup: &Setup, text: &str) {
    let code = request_verification(setup, text).await;
    let (status, body) = call(setup, &verify_event(&code)).await;
    assert_eq!(status, 200, "{body}");
}

fn code_in_last_mail(setup: &Setup) -> String {
    let sent = setup.outbox.sent();
    let text = &sent.last().expect("a message").text;
    let line = text
        .lines()
        .find(|line| line.contains("code is "))
        .expect("a code line");
    line.rsplit(' ').next().unwrap().to_owned()
}

fn event(file: &str, body: Value) -> Value {
    shared::testing::event_with_json(file, &body)
}

fn verify_event(code: &str) -> Value {
    event("email-verify.json", json!({ "code": code }))
}

fn reset_event(body: Value) -> Value {
    event("recovery.json", body)
}

fn confirm_event(code: &str, password: &str) -> Value {
    event(
        "password-reset-confirm.json",
        json!({ "code": code, "new_password": password }),
    )
}

fn from_ip(event: Value, ip: &str) -> Value {
    shared::testing::from_source_ip(event, ip)
}

async fn call(setup: &Setup, event: &Value) -> (u16, Value) {
    let (status, text) = call_text(setup, event).await;
    (status, serde_json::from_str(&text).unwrap())
}

async fn call_text(setup: &Setup, event: &Value) -> (u16, String) {
    let response = recovery::handle(&setup.state, request_from(event)).await;
    (response.status().as_u16(), response_text(&response))
}

#[tokio::test]
async fn a_verification_code_makes_its_address_the_accounts_once() {
    let setup = setup().await;
    let code = request_verification(&setup, "Alice@Example.com").await;
    let sent = setup.outbox.sent();
    assert!(
        sent[0]
            .text
            .contains(&format!("https://app.example/verify-email#code={code}")),
        "{}",
        sent[0].text
    );
    let (status, body) = call(&setup, &verify_event(&code.to_lowercase())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "Alice@example.com");
    let user = setup.state.stores.users.user("alice").unwrap();
    let stored = user.email.as_ref().map(EmailAddress::as_str);
    assert_eq!(
        stored,
        Some("Alice@example.com"),
        "as typed, domain lower-cased"
    );
    assert_eq!(user.pending_email, None);
    assert_eq!(
        setup.state.stores.events.kinds_of(&alice()),
        vec![EventKind::EmailVerified]
    );
    let (status, body) = call(&setup, &verify_event(&code)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code"))
    );
}

#[tokio::test]
async fn a_change_counts_when_verified_and_the_old_address_is_told() {
    let setup = setup().await;
    verified(&setup, "alice@old.example").await;
    let code = request_verification(&setup, "alice@new.example").await;
    let user = setup.state.stores.users.user("alice").unwrap();
    assert_eq!(user.email, Some(address("alice@old.example")), "not yet");
    let (status, _) = call(&setup, &verify_event(&code)).await;
    assert_eq!(status, 200);
    let user = setup.state.stores.users.user("alice").unwrap();
    assert_eq!(user.email, Some(address("alice@new.example")));
    let notice = setup.outbox.sent().pop().unwrap();
    assert_eq!(notice.to, address("alice@old.example"));
    assert!(
        notice.text.contains("changed to alice@new.example"),
        "{}",
        notice.text
    );
}

#[tokio::test]
async fn a_code_for_an_address_no_longer_waiting_verifies_nothing() {
    let setup = setup().await;
    let first = request_verification(&setup, "alice@first.example").await;
    let _second = request_verification(&setup, "alice@second.example").await;
    let (status, body) = call(&setup, &verify_event(&first)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code"))
    );
    let user = setup.state.stores.users.user("alice").unwrap();
    assert_eq!(user.email, None);
}

#[tokio::test]
async fn an_address_verified_on_another_account_is_a_conflict() {
    let setup = setup().await;
    let users = &setup.state.stores.users;
    let bob = match users
        .insert(&Username::parse("bob").unwrap(), "$argon2id$x", now(&setup))
        .await
        .unwrap()
    {
        shared::identity::users::Insertion::Created(id) => id,
        other => panic!("{other:?}"),
    };
    let taken = address("shared@example.com");
    users
        .set_pending_email(&bob, Some(&taken), 0, now(&setup))
        .await
        .unwrap();
    users
        .verify_email(&bob, &taken, 0, now(&setup))
        .await
        .unwrap();
    let code = request_verification(&setup, "SHARED@example.com").await;
    let (status, body) = call(&setup, &verify_event(&code)).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("email_taken")));
}

#[tokio::test]
async fn wrong_expired_and_spent_codes_get_the_same_bytes() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    let spent = {
        call(&setup, &reset_event(json!({"username": "alice"}))).await;
        let code = code_in_last_mail(&setup);
        let (status, _) = call(&setup, &confirm_event(&code, NEW)).await;
        assert_eq!(status, 200);
        code
    };
    call(&setup, &reset_event(json!({"email": "alice@example.com"}))).await;
    let expiring = code_in_last_mail(&setup);
    setup
        .time
        .advance(setup.state.mail.reset_ttl + Duration::from_secs(1));
    let wrong = "7QK2-MXD9-TA4R-W8NP";
    let answers: Vec<(u16, String)> = one_by_one(
        &setup,
        [
            confirm_event(wrong, "yet another good passphrase"),
            confirm_event(&expiring, "yet another good passphrase"),
            confirm_event(&spent, "yet another good passphrase"),
            confirm_event("junk", "yet another good passphrase"),
        ],
    )
    .await;
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, 400);
    assert!(answers[0].1.contains("invalid_code"));

    let code = request_verification(&setup, "alice@other.example").await;
    setup
        .time
        .advance(setup.state.mail.verification_ttl + Duration::from_secs(1));
    let late = call_text(&setup, &verify_event(&code)).await;
    assert_eq!(late, call_text(&setup, &verify_event(wrong)).await);
}

async fn one_by_one<const N: usize>(setup: &Setup, events: [Value; N]) -> Vec<(u16, String)> {
    let mut answers = Vec::with_capacity(N);
    for event in &events {
        answers.push(call_text(setup, event).await);
    }
    answers
}

#[tokio::test(start_paused = true)]
async fn a_reset_request_answers_the_same_bytes_at_the_same_time_whoever_is_named() {
    let setup = setup().await;
    let users = &setup.state.stores.users;
    users
        .insert(&Username::parse("bob").unwrap(), "$argon2id$x", now(&setup))
        .await
        .unwrap();
    verified(&setup, "alice@example.com").await;
    let before = setup.outbox.sent().len();
    let mut answers = Vec::new();
    for body in [
        json!({"username": "nobody"}),
        json!({"username": "bob"}),
        json!({"username": "alice"}),
        json!({"email": "nobody@example.com"}),
        json!({"email": "ALICE@example.com"}),
        json!({"username": "not a valid name!"}),
    ] {
        let began = tokio::time::Instant::now();
        let answer = call_text(&setup, &reset_event(body.clone())).await;
        assert_eq!(began.elapsed(), setup.state.reset_answer_time, "{body}");
        answers.push(answer);
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, 202);
    let sent = &setup.outbox.sent()[before..];
    assert_eq!(sent.len(), 2, "alice by name and by address");
    assert!(
        sent.iter()
            .all(|mail| mail.to == address("alice@example.com"))
    );
    assert!(
        sent[0]
            .text
            .contains("https://app.example/reset-password#code=")
    );
}

#[tokio::test]
async fn a_reset_request_names_one_account_by_username_or_email() {
    let setup = setup().await;
    for body in [
        json!({}),
        json!({"username": "alice", "email": "alice@example.com"}),
        json!({"username": 7}),
    ] {
        let (status, answer) = call(&setup, &reset_event(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
    }
}

#[tokio::test]
async fn a_mail_failure_or_a_disabled_account_answers_a_reset_request_as_always() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    let normal = call_text(&setup, &reset_event(json!({"username": "alice"}))).await;
    setup.outbox.fail(true);
    let failing = call_text(&setup, &reset_event(json!({"username": "alice"}))).await;
    assert_eq!(failing, normal);
    assert_eq!(
        setup.state.stores.email_codes.len(),
        1,
        "the unsent code is gone"
    );
    setup.outbox.fail(false);
    setup.state.stores.users.disable("alice");
    let before = setup.outbox.sent().len();
    let disabled = call_text(&setup, &reset_event(json!({"username": "alice"}))).await;
    assert_eq!(disabled, normal);
    assert_eq!(
        setup.outbox.sent().len(),
        before,
        "nothing to a disabled account"
    );
}

#[tokio::test]
async fn reset_mails_are_limited_per_account_silently_and_requests_per_ip_with_429() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    let before = setup.outbox.sent().len();
    let per_account = shared::abuse::rate_limits::RESET_MAILS_PER_ACCOUNT.max;
    let mut answers = Vec::new();
    for n in 0..per_account + 2 {
        let event = from_ip(
            reset_event(json!({"username": "alice"})),
            &format!("198.51.100.{n}"),
        );
        answers.push(call_text(&setup, &event).await);
    }
    assert!(answers.iter().all(|answer| answer == &answers[0]));
    assert_eq!(
        setup.outbox.sent().len() - before,
        usize::try_from(per_account).unwrap()
    );

    let per_ip = shared::abuse::rate_limits::RESET_REQUESTS_PER_IP.max;
    let one_ip = |body| from_ip(reset_event(body), "203.0.113.99");
    for _ in 0..per_ip {
        let (status, _) = call(&setup, &one_ip(json!({"username": "nobody"}))).await;
        assert_eq!(status, 202);
    }
    let (status, body) = call(&setup, &one_ip(json!({"username": "nobody"}))).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
}

#[tokio::test]
async fn a_reset_sets_the_password_ends_every_session_and_deletes_the_passkeys() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    let intruders = shared::factors::passkeys::Passkey {
        id: "added-by-an-intruder".to_owned(),
        account: alice(),
        name: "mine now".to_owned(),
        transports: vec![],
        public_key: vec![1; 40],
        state: vec![0; 7],
        sign_count: 0,
        backup_eligible: true,
        created_at: now(&setup),
        last_used_at: None,
        generation: 0,
    };
    let passkeys = &setup.state.stores.passkeys;
    shared::factors::passkeys::PasskeyStore::add(passkeys, &intruders)
        .await
        .unwrap();
    let refresh = &setup.state.stores.sessions;
    let hour = Duration::from_secs(3600);
    let session = Session::new(&alice(), 0, now(&setup), hour);
    refresh
        .start(&session, "first-hash", now(&setup), hour)
        .await
        .unwrap();
    call(&setup, &reset_event(json!({"username": "alice"}))).await;
    let first = code_in_last_mail(&setup);
    call(&setup, &reset_event(json!({"username": "alice"}))).await;
    let second = code_in_last_mail(&setup);

    let (status, body) = call(&setup, &confirm_event(&first, "alice")).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("new_password")),
        "{body}"
    );
    let (status, body) = call(&setup, &confirm_event(&first, NEW)).await;
    assert_eq!(
        status, 200,
        "the refused password did not spend the code: {body}"
    );

    let user = setup.state.stores.users.user("alice").unwrap();
    let hasher = &setup.state.hasher;
    assert!(
        hasher
            .verify(&Password::presented(NEW), &user.password_hash)
            .await
            .unwrap()
    );
    assert_eq!(user.token_version, 1, "every access token is refused");
    let left = shared::factors::passkeys::PasskeyStore::list(passkeys, &alice())
        .await
        .unwrap();
    assert!(left.is_empty(), "a passkey signs in without the password");
    let sessions = refresh.sessions_of(&alice()).await.unwrap();
    assert!(sessions.iter().all(|stored| stored.revoked));
    let (status, _) = call(&setup, &confirm_event(&second, "another fine passphrase")).await;
    assert_eq!(status, 400, "the other reset codes died with the reset");
    let notice = setup.outbox.sent().pop().unwrap();
    assert!(
        notice.text.contains("password was reset"),
        "{}",
        notice.text
    );
    assert_eq!(
        setup.state.stores.events.kinds_of(&alice()),
        vec![
            EventKind::EmailVerified,
            EventKind::PasswordResetRequested,
            EventKind::PasswordResetRequested,
            EventKind::PasswordReset,
        ]
    );
}

#[tokio::test]
async fn a_reset_code_dies_when_its_address_stops_being_the_accounts() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    call(&setup, &reset_event(json!({"username": "alice"}))).await;
    let code = code_in_last_mail(&setup);
    verified(&setup, "alice@elsewhere.example").await;
    let (status, body) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_parallel_redemptions_of_one_reset_code_succeed_once() {
    let setup = std::sync::Arc::new(setup().await);
    verified(&setup, "alice@example.com").await;
    call(&setup, &reset_event(json!({"username": "alice"}))).await;
    let code = code_in_last_mail(&setup);
    let attempts = (0..10).map(|n| {
        let (setup, code) = (setup.clone(), code.clone());
        tokio::spawn(async move {
            let event = from_ip(
                confirm_event(&code, &format!("parallel passphrase number {n}")),
                &format!("192.0.2.{n}"),
            );
            call(&setup, &event).await.0
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 429].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        setup
            .state
            .stores
            .users
            .user("alice")
            .unwrap()
            .token_version,
        1
    );
}

#[tokio::test]
async fn redemptions_are_limited_per_ip() {
    let setup = setup().await;
    let max = shared::abuse::rate_limits::REDEMPTIONS_PER_IP.max;
    for _ in 0..max {
        let (status, _) = call(&setup, &verify_event("7QK2-MXD9-TA4R-W8NP")).await;
        assert_eq!(status, 400);
    }
    let (status, body) = call(&setup, &confirm_event("7QK2-MXD9-TA4R-W8NP", NEW)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_mail_service_slower_than_the_answer_time_changes_neither_answer_nor_time() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    let sent_before = setup.outbox.sent().len();
    let unknown = {
        let began = tokio::time::Instant::now();
        let answer = call_text(&setup, &reset_event(json!({"username": "nobody"}))).await;
        (answer, began.elapsed())
    };
    setup.outbox.delay(Duration::from_secs(10));
    let began = tokio::time::Instant::now();
    let answer = call_text(&setup, &reset_event(json!({"username": "alice"}))).await;
    assert_eq!((answer, began.elapsed()), unknown);
    assert_eq!(
        setup.outbox.sent().len(),
        sent_before,
        "the slow send was abandoned"
    );
    assert!(
        setup.state.stores.email_codes.is_empty(),
        "and its code with it"
    );
    assert!(
        setup
            .state
            .metrics
            .lines()
            .iter()
            .any(|line| line.contains("MailFailures")),
        "counted"
    );
}

#[tokio::test]
async fn a_reset_code_dies_with_a_disabled_account_or_a_newer_password() {
    let setup = setup().await;
    verified(&setup, "alice@example.com").await;
    call(&setup, &reset_event(json!({"username": "alice"}))).await;
    let code = code_in_last_mail(&setup);
    setup.state.stores.users.disable("alice");
    let (status, body) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code"))
    );
    let user = setup.state.stores.users.user("alice").unwrap();
    let hasher = &setup.state.hasher;
    assert!(
        hasher
            .verify(&Password::presented(CURRENT), &user.password_hash)
            .await
            .unwrap()
    );
}

/// The administrator `root`, made on first use.
async fn root(setup: &Setup) -> AccountId {
    let users = &setup.state.stores.users;
    if users.user("root").is_none() {
        users
            .insert(&Username::parse("root").unwrap(), "$argon2id$x", now(setup))
            .await
            .unwrap();
        users.grant("root", &["admin"]);
    }
    users.user("root").unwrap().id
}

/// Stores a code `root` issued for alice, valid for `hours`; returns its text.
async fn issued_code(setup: &Setup, hours: u64) -> String {
    let new = shared::mail::email_codes::generate().unwrap();
    let code = EmailCode {
        account: alice(),
        purpose: Purpose::AdminReset,
        address: None,
        expires_at: now(setup) + Duration::from_secs(3600 * hours),
        token_version: 0,
        issued_by: Some(root(setup).await),
    };
    setup
        .state
        .stores
        .email_codes
        .create(&new.hash, &code)
        .await
        .unwrap();
    use secrecy::ExposeSecret as _;
    new.code.expose_secret().to_owned()
}

#[tokio::test]
async fn a_code_an_administrator_issued_resets_an_account_without_an_address() {
    let setup = setup().await;
    let refresh = &setup.state.stores.sessions;
    let hour = Duration::from_secs(3600);
    let session = Session::new(&alice(), 0, now(&setup), hour);
    refresh
        .start(&session, "first-hash", now(&setup), hour)
        .await
        .unwrap();
    let code = issued_code(&setup, 24).await;
    let (status, body) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(status, 200, "{body}");
    let user = setup.state.stores.users.user("alice").unwrap();
    assert!(
        setup
            .state
            .hasher
            .verify(&Password::presented(NEW), &user.password_hash)
            .await
            .unwrap()
    );
    assert_eq!(user.token_version, 1);
    assert!(
        refresh
            .sessions_of(&alice())
            .await
            .unwrap()
            .iter()
            .all(|s| s.revoked)
    );
    assert!(setup.outbox.sent().is_empty(), "no address, no notice");

    // Spent, expired and unknown codes all get the bytes of an unknown one.
    let (_, spent) = call_text(&setup, &confirm_event(&code, "yet another passphrase")).await;
    let expiring = issued_code(&setup, 1).await;
    setup.time.advance(Duration::from_secs(3601));
    let (_, expired) = call_text(&setup, &confirm_event(&expiring, "yet another passphrase")).await;
    let (status, unknown) = call_text(
        &setup,
        &confirm_event("AAAA-BBBB-CCCC-DDDD", "yet another passphrase"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(spent, unknown);
    assert_eq!(expired, unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_parallel_redemptions_of_an_issued_code_reset_once() {
    let setup = std::sync::Arc::new(setup().await);
    let code = issued_code(&setup, 24).await;
    let attempts: Vec<_> = (0..10)
        .map(|n| {
            let (setup, code) = (setup.clone(), code.clone());
            tokio::spawn(async move {
                let event = from_ip(confirm_event(&code, NEW), &format!("198.51.100.{n}"));
                call(&setup, &event).await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 400, 429].contains(s)),
        "the others are refused, or stopped by the per-account limit: {statuses:?}"
    );
    assert_eq!(
        setup
            .state
            .stores
            .users
            .user("alice")
            .unwrap()
            .token_version,
        1
    );
}

#[tokio::test]
async fn an_issued_code_dies_with_its_issuers_right_to_issue_it() {
    let setup = setup().await;
    let code = issued_code(&setup, 24).await;
    setup.state.stores.users.grant("root", &[]);
    let (status, body) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_code")),
        "demoted"
    );
    setup.state.stores.users.grant("root", &["admin"]);
    setup.state.stores.users.disable("root");
    let (status, _) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(status, 400, "disabled");
    setup.state.stores.users.delete("root");
    let (status, _) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(status, 400, "deleted");

    // A code for an account that holds more than its issuer does not work either.
    let mut setup = self::setup().await;
    setup.state.roles = shared::access::roles::Roles::parse(
        "admin=users:admin,clients:admin,products:write;support=users:admin",
    )
    .unwrap();
    let code = issued_code(&setup, 24).await;
    setup.state.stores.users.grant("root", &["support"]);
    setup.state.stores.users.grant("alice", &["admin"]);
    let (status, _) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(status, 400, "alice's admin role grants more than support");
    setup.state.stores.users.grant("alice", &[]);
    let (status, body) = call(&setup, &confirm_event(&code, NEW)).await;
    assert_eq!(status, 200, "within the issuer's scopes: {body}");
}
