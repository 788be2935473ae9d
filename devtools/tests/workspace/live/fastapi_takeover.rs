//! Taking over the FastAPI tutorial app's users on a real MongoDB-compatible server
//! (`MONGODB_TEST_URI`; `make test` starts one): documents in that app's exact shape in its
//! `user_model` collection, with passlib hashes made once for known passwords.

use crate::support;

use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use serde_json::Value;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::credentials::{Password, Username};
use shared::identity::users::{MongoUserStore, UserCollectionSettings, UserStore};
use shared::platform::clock::Clock;
use shared::stores::MongoStores;
use shared::testing::{
    event_json, request_from, response_json, test_database_settings, token_pair,
};
use std::sync::Arc;
use std::time::SystemTime;

/// passlib `sha256_crypt` (535,000 rounds) of "tutorial password 1".
const SHA256_CRYPT: &str =
    "$5$rounds=535000$JuAZ6X4/60L9KkQ4$.kIFE7QvsIhmHDEMKWERG8cebH.8/EBhjPveVZA/FZ0";
/// passlib `md5_crypt` of "tutorial password 2".
const MD5_CRYPT: &str = "$1$PKNMEx3F$2qW0ghmi/3gyYx69ifb0l/";
/// passlib `sha256_crypt` at 5,000 rounds (no `rounds=` field) of "tutorial password 4".
const SHA256_CRYPT_DEFAULT_ROUNDS: &str =
    "$5$AXjj1K5VXM6u1ctg$h48TvNftd4QUretlkGvjr/k5m/WL05WKIL1HM4m3h65";

type Service = token::State<MongoStores>;

struct TakeOver {
    database: mongodb::Database,
    settings: UserCollectionSettings,
    service: Service,
}

fn legacy_settings() -> UserCollectionSettings {
    UserCollectionSettings {
        collection: "user_model".to_owned(),
        legacy_lookup: true,
    }
}

/// A fresh database whose `user_model` holds the given (username, hash) documents exactly as
/// mongoengine's `UserModel` writes them.
async fn take_over(users: &[(&str, &str)]) -> TakeOver {
    let database = shared::platform::database::connect(&test_database_settings())
        .await
        .unwrap();
    let documents: Vec<Document> = users
        .iter()
        .map(|(username, hash)| {
            doc! {
                "_id": ObjectId::new(),
                "username": *username,
                "password": *hash,
                "disabled": false,
                "created_date": DateTime::now(),
                "modified_date": DateTime::now(),
            }
        })
        .collect();
    if !documents.is_empty() {
        database
            .collection::<Document>("user_model")
            .insert_many(documents)
            .await
            .unwrap();
    }
    let settings = legacy_settings();
    let stores = MongoStores::new(&database, &settings);
    stores
        .users
        .ensure_indexes()
        .await
        .expect("the sparse unique index accepts legacy documents");
    let (issuer, _, _) = token_pair();
    let service = token::State {
        stores,
        hasher: PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap(),
        issuer,
        mfa: shared::testing::mfa_settings(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::default(),
        roles: shared::access::roles::Roles::default(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
            .unwrap(),
        id_token_key: None,
        password_grant: true,
        upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
        hook_scopes_beyond_roles: false,
    };
    TakeOver {
        database,
        settings,
        service,
    }
}

impl TakeOver {
    async fn login(&self, username: &str, password: &str) -> (u16, Value) {
        let mut event = event_json("token.json");
        let body =
            serde_urlencoded::to_string([("username", username), ("password", password)]).unwrap();
        event["body"] = body.into();
        let response = token::handle(&self.service, request_from(&event)).await;
        (response.status().as_u16(), response_json(&response))
    }

    async fn document(&self, username: &str) -> Document {
        self.database
            .collection::<Document>("user_model")
            .find_one(doc! { "username": username })
            .await
            .unwrap()
            .expect("the document exists")
    }

    async fn migrate(&self, apply: bool) -> devtools::migrate::Report {
        devtools::migrate::run(&self.database, &self.settings, apply, |_| {})
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn legacy_users_log_in_and_their_hash_becomes_argon2id_in_place() {
    let it = take_over(&[
        ("johndoe", SHA256_CRYPT),
        ("janedoe", MD5_CRYPT),
        ("jim", SHA256_CRYPT_DEFAULT_ROUNDS),
    ])
    .await;
    for (username, password, legacy) in [
        ("johndoe", "tutorial password 1", SHA256_CRYPT),
        ("JaneDoe", "tutorial password 2", MD5_CRYPT),
        ("jim", "tutorial password 4", SHA256_CRYPT_DEFAULT_ROUNDS),
    ] {
        let (status, body) = it.login(username, password).await;
        assert_eq!(status, 200, "{username}: {body}");
        let stored = it.document(&username.to_lowercase()).await;
        let hash = stored.get_str("password").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{username}: {hash}");
        assert_ne!(hash, legacy);
        assert_eq!(
            stored.get_str("username_canonical").unwrap(),
            username.to_lowercase()
        );
        for field in [
            "_id",
            "username",
            "disabled",
            "created_date",
            "modified_date",
        ] {
            assert!(
                stored.contains_key(field),
                "{username}: the FastAPI field {field} stays"
            );
        }
        let (status, _) = it.login(username, password).await;
        assert_eq!(
            status, 200,
            "{username}: the next login uses the argon2id hash"
        );
    }
}

#[tokio::test]
async fn a_wrong_password_leaves_the_legacy_hash_untouched() {
    let it = take_over(&[("johndoe", SHA256_CRYPT)]).await;
    let (status, body) = it.login("johndoe", "tutorial password 2").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    let (_, unknown) = it.login("nobody", "tutorial password 2").await;
    assert_eq!(body, unknown, "same answer as an unknown user");
    let stored = it.document("johndoe").await;
    assert_eq!(stored.get_str("password").unwrap(), SHA256_CRYPT);
    assert!(!stored.contains_key("username_canonical"));
}

#[tokio::test]
async fn concurrent_first_logins_both_succeed_and_rehash_once() {
    let it = Arc::new(take_over(&[("johndoe", SHA256_CRYPT)]).await);
    let logins = (0..2).map(|_| {
        let it = Arc::clone(&it);
        tokio::spawn(async move { it.login("johndoe", "tutorial password 1").await.0 })
    });
    for login in logins {
        assert_eq!(login.await.unwrap(), 200);
    }
    let hash = it
        .document("johndoe")
        .await
        .get_str("password")
        .unwrap()
        .to_owned();
    assert!(hash.starts_with("$argon2id$"));

    // The conditional update behind it: of two upgrades of one legacy hash, one wins.
    let other = take_over(&[("janedoe", MD5_CRYPT)]).await;
    let store = MongoUserStore::with_settings(&other.database, &other.settings);
    let jane = Username::parse("janedoe").unwrap();
    let hasher = &other.service.hasher;
    let password = Password::presented("tutorial password 2");
    let (first, second) = (
        hasher.hash(&password).await.unwrap(),
        hasher.hash(&password).await.unwrap(),
    );
    let now = SystemTime::now();
    let id = store.find(&jane).await.unwrap().unwrap().id;
    let (a, b) = tokio::join!(
        store.upgrade_hash(&id, &jane, MD5_CRYPT, &first, now),
        store.upgrade_hash(&id, &jane, MD5_CRYPT, &second, now),
    );
    assert_eq!(
        [a.unwrap(), b.unwrap()].iter().filter(|won| **won).count(),
        1
    );
}

#[tokio::test]
async fn colliding_usernames_cannot_log_in_or_be_taken_until_resolved() {
    let it = take_over(&[("Bob", SHA256_CRYPT), ("bob", MD5_CRYPT)]).await;
    for (username, password) in [
        ("Bob", "tutorial password 1"),
        ("bob", "tutorial password 2"),
    ] {
        let (status, body) = it.login(username, password).await;
        assert_eq!(
            status, 400,
            "{username}: never resolved by picking one account"
        );
        assert_eq!(body["error"], "invalid_grant");
    }
    let signup_state = signup::State {
        stores: it.service.stores.clone(),
        hasher: it.service.hasher.clone(),
        clock: Clock::system(),
        mailer: shared::mail::sender::Mailer::Off,
        mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        breached: shared::factors::breached_passwords::BreachedPasswords::off(),
        hooks: shared::hooks::Hooks::none(),
    };
    let signup = signup::handle(
        &signup_state,
        request_from(&{
            let mut event = event_json("signup.json");
            event["body"] = r#"{"username":"BOB","password":"a fine new passphrase"}"#.into();
            event
        }),
    )
    .await;
    assert_eq!(
        signup.status(),
        409,
        "a legacy name cannot be registered again"
    );

    let before: Vec<Document> = all(&it).await;
    let dry = it.migrate(false).await;
    assert_eq!(dry.collisions.len(), 1, "the dry run reports the collision");
    assert_eq!(all(&it).await, before, "and changes nothing");
    let report = it.migrate(true).await;
    assert!(!report.is_clean());
    assert_eq!(report.collisions.len(), 1);
    let accounts = &report.collisions["bob"];
    assert_eq!(accounts.len(), 2);
    assert!(
        accounts
            .iter()
            .all(|account| account.id.contains("ObjectId"))
    );
    assert!(report.to_string().contains("collide case-insensitively"));
    assert_eq!(report.updated, 0);
    assert_eq!(
        all(&it).await,
        before,
        "--apply with collisions changes nothing"
    );
}

#[tokio::test]
async fn migrate_dry_run_changes_nothing_and_apply_is_idempotent() {
    let it = take_over(&[
        ("johndoe", SHA256_CRYPT),
        ("Alice", MD5_CRYPT),
        ("not valid!", MD5_CRYPT),
    ])
    .await;
    let before = all(&it).await;
    let dry = it.migrate(false).await;
    assert!(dry.is_clean());
    assert_eq!((dry.scanned, dry.to_update, dry.updated), (3, 2, 0));
    assert_eq!(dry.invalid.len(), 1, "reported, not blocking");
    assert_eq!(all(&it).await, before, "a dry run writes nothing");

    let applied = it.migrate(true).await;
    assert_eq!((applied.updated, applied.indexed), (2, true));
    assert_eq!(
        it.document("Alice")
            .await
            .get_str("username_canonical")
            .unwrap(),
        "alice"
    );
    let again = it.migrate(true).await;
    assert_eq!(
        (again.to_update, again.updated),
        (0, 0),
        "a second run is harmless"
    );

    let names = it
        .database
        .collection::<Document>("user_model")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        names.contains(&shared::identity::users::UNIQUE_INDEX.to_owned()),
        "{names:?}"
    );
    let (status, _) = it.login("ALICE", "tutorial password 2").await;
    assert_eq!(status, 200, "migrated users log in by any letter case");
}

async fn all(it: &TakeOver) -> Vec<Document> {
    use futures_util::TryStreamExt;
    it.database
        .collection::<Document>("user_model")
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

/// The `migrate` binary as a user runs it: dry run by default, exit status 2 on collisions.
#[tokio::test]
async fn the_migrate_command_exits_2_with_a_report_on_collisions() {
    let it = take_over(&[("Bob", SHA256_CRYPT), ("bob", MD5_CRYPT)]).await;
    let binary = support::bin_dir_with(&["migrate"]).join("migrate");
    let settings = test_database_settings();
    let output = std::process::Command::new(binary)
        .env("MONGODB_URI", &settings.uri)
        .env("DB_NAME", it.database.name())
        .env("USERS_COLLECTION", "user_model")
        .arg("--apply")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("collide case-insensitively"), "{stdout}");
    assert!(
        stdout.contains("ObjectId("),
        "names the documents: {stdout}"
    );
    assert!(
        stdout.contains("db.user_model.updateOne"),
        "says how to resolve: {stdout}"
    );
}

/// A FastAPI sign-up as mongoengine writes it, created at `created`.
async fn fastapi_signup(it: &TakeOver, username: &str, hash: &str, created: DateTime) {
    it.database
        .collection::<Document>("user_model")
        .insert_one(doc! {
            "_id": ObjectId::new(),
            "username": username,
            "password": hash,
            "disabled": false,
            "created_date": created,
            "modified_date": created,
        })
        .await
        .unwrap();
}

/// The winning plan of the legacy lookup's query, as the server explains it.
async fn legacy_query_plan(it: &TakeOver, since: DateTime) -> String {
    let explained = it
        .database
        .run_command(doc! {
            "explain": {
                "find": "user_model",
                "filter": {
                    "username_canonical": { "$exists": false },
                    "created_date": { "$gte": since },
                    "username": { "$regex": "^[jJ]oe$", "$options": "i" },
                },
            },
            "verbosity": "queryPlanner",
        })
        .await
        .unwrap();
    format!("{}", explained.get_document("queryPlanner").unwrap())
}

#[tokio::test]
async fn after_migrate_the_legacy_lookup_reads_only_documents_created_since_its_pass() {
    let it = take_over(&[("johndoe", SHA256_CRYPT)]).await;
    let applied = it.migrate(true).await;
    let since = applied.pass_started_at.expect("the pass is recorded");
    assert_eq!(
        shared::identity::users::legacy::migrated_since(&it.database, "user_model")
            .await
            .unwrap(),
        Some(since)
    );

    // The FastAPI app keeps signing users up during the switch-over: found by any case.
    fastapi_signup(&it, "JoeNew", MD5_CRYPT, DateTime::now()).await;
    let (status, body) = it.login("joenew", "tutorial password 2").await;
    assert_eq!(status, 200, "{body}");

    // A document without the field from before the pass cannot exist after a complete pass;
    // one planted there shows the lookup does not read that far back.
    let before = DateTime::from_millis(since.timestamp_millis() - 60_000);
    fastapi_signup(&it, "OldTimer", MD5_CRYPT, before).await;
    let (status, _) = it.login("oldtimer", "tutorial password 2").await;
    assert_eq!(status, 400, "outside the window: not examined");

    let plan = legacy_query_plan(&it, since).await;
    assert!(
        plan.contains("IXSCAN") && plan.contains("created_date"),
        "the window is read through the created_date index: {plan}"
    );
}

#[tokio::test]
async fn an_interrupted_apply_leaves_no_record_and_a_second_run_finishes_it() {
    let users: Vec<(String, &str)> = (0..2_500)
        .map(|n| (format!("user{n}"), MD5_CRYPT))
        .collect();
    let refs: Vec<(&str, &str)> = users.iter().map(|(u, h)| (u.as_str(), *h)).collect();
    let it = take_over(&refs).await;
    // As if a first run stopped half-way: some documents carry their name, no record.
    it.database
        .collection::<Document>("user_model")
        .update_many(
            doc! { "username": { "$regex": "^user1" } },
            vec![doc! { "$set": { "username_canonical": "$username" } }],
        )
        .await
        .unwrap();
    assert_eq!(
        shared::identity::users::legacy::migrated_since(&it.database, "user_model")
            .await
            .unwrap(),
        None
    );
    let lines = std::sync::Mutex::new(Vec::new());
    let finished = devtools::migrate::run(&it.database, &it.settings, true, |line| {
        lines.lock().unwrap().push(line.to_owned())
    })
    .await
    .unwrap();
    assert_eq!(finished.scanned, 2_500);
    assert_eq!(finished.updated, finished.to_update);
    assert_eq!(
        finished.to_update,
        2_500 - 1_111,
        "the done ones are skipped"
    );
    let lines = lines.into_inner().unwrap();
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("scanned 1000 of about 2500"))
            && lines
                .iter()
                .any(|line| line.starts_with("updated 1000 of 1389")),
        "{lines:?}"
    );
    let left = it
        .database
        .collection::<Document>("user_model")
        .count_documents(doc! { "username_canonical": { "$exists": false } })
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert!(finished.pass_started_at.is_some());
}
