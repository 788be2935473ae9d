//! `make bench-scale`: every request, and the FastAPI takeover, at 1,000, 100,000 and
//! 1,000,000 accounts. For each size a fresh database is seeded in bulk (one precomputed
//! argon2id hash for every account; half as many sessions; a tenth as many failure counters;
//! a FastAPI-shaped `user_model` of the same size with one precomputed md5_crypt hash), then
//! each request runs through its real handler against it, `--samples` times, and its median
//! is reported with the ratio of the largest size to the smallest. `migrate` (dry run, then
//! `--apply`) is timed once per size, and each query's plan is read with `explain`.
//!
//! Needs a MongoDB-compatible server in `MONGODB_TEST_URI` (`make bench-scale` starts one).
//! Arguments: `--sizes 1000,100000,1000000` `--samples 31` `--out <file.json>`; one size
//! prints its table row by row as it finishes (`bench-scale: …` lines on stderr).

use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use serde_json::{Value, json};
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::credentials::Password;
use shared::identity::users::UserCollectionSettings;
use shared::platform::clock::Clock;
use shared::stores::MongoStores;
use shared::testing::{event_json, request_from, response_json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
/// Documents per bulk insert.
const BATCH: usize = 10_000;
/// Sizes where a legacy login with no completed migration (every unmigrated document read)
/// is measured; above it one such login runs past the function timeout.
const FULL_SCAN_UP_TO: u64 = 100_000;

struct Args {
    sizes: Vec<u64>,
    samples: usize,
    out: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut parsed = Args {
        sizes: vec![1_000, 100_000, 1_000_000],
        samples: 31,
        out: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(arg) = raw.next() {
        match arg.as_str() {
            "--sizes" => {
                parsed.sizes = raw
                    .next()
                    .expect("--sizes needs a list")
                    .split(',')
                    .map(|size| size.parse().expect("a size is a number"))
                    .collect();
            }
            "--samples" => {
                parsed.samples = raw
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--samples needs a number");
            }
            "--out" => parsed.out = raw.next().map(Into::into),
            // cargo bench passes --bench; nothing else is expected.
            _ => {}
        }
    }
    parsed
}

/// Median and 90th percentile of one request at one size, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
struct Stats {
    median_ms: f64,
    p90_ms: f64,
    samples: usize,
}

fn stats(mut times: Vec<Duration>) -> Stats {
    times.sort();
    let at = |q: f64| {
        let index = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[index].as_secs_f64() * 1000.0
    };
    Stats {
        median_ms: at(0.5),
        p90_ms: at(0.9),
        samples: times.len(),
    }
}

/// Runs `request` `samples` times (its argument: the sample's number) and times each.
async fn measure<F, Fut>(samples: usize, mut request: F) -> Stats
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(samples);
    for n in 0..samples {
        let started = Instant::now();
        request(n).await;
        times.push(started.elapsed());
    }
    stats(times)
}

fn protected_event(file: &str, account: &ObjectId) -> Value {
    let mut event = event_json(file);
    event["requestContext"]["authorizer"] =
        json!({"principalId": account.to_hex(), "ver": "0", "exp": "4102444800"});
    event
}

fn login_event(username: &str) -> Value {
    let mut event = event_json("token.json");
    event["body"] = serde_urlencoded::to_string([("username", username), ("password", PASSWORD)])
        .unwrap()
        .into();
    event
}

/// What one size measured.
#[derive(Debug, serde::Serialize)]
struct SizeReport {
    accounts: u64,
    seed_seconds: f64,
    requests: BTreeMap<&'static str, Stats>,
    migrate_dry_run_seconds: f64,
    migrate_apply_seconds: f64,
    plans: BTreeMap<&'static str, String>,
}

/// Inserts `count` documents made by `make` in batches.
async fn bulk(
    collection: &mongodb::Collection<Document>,
    count: u64,
    make: impl Fn(u64) -> Document,
) {
    let mut n = 0;
    while n < count {
        let end = (n + BATCH as u64).min(count);
        let batch: Vec<Document> = (n..end).map(&make).collect();
        collection.insert_many(batch).await.unwrap();
        n = end;
    }
}

/// The stages and indexes of a query's winning plan, as `explain` gives them.
async fn plan(
    database: &mongodb::Database,
    collection: &str,
    filter: Document,
    hint: Option<Document>,
) -> String {
    let mut find = doc! { "find": collection, "filter": filter };
    if let Some(hint) = hint {
        find.insert("hint", hint);
    }
    let explained = database
        .run_command(doc! { "explain": find, "verbosity": "queryPlanner" })
        .await
        .unwrap();
    let mut parts = Vec::new();
    let mut stage = explained
        .get_document("queryPlanner")
        .and_then(|planner| planner.get_document("winningPlan"))
        .ok()
        .cloned();
    while let Some(current) = stage {
        let name = current.get_str("stage").unwrap_or("?").to_owned();
        match current.get_str("indexName") {
            Ok(index) => parts.push(format!("{name} {index}")),
            Err(_) => parts.push(name),
        }
        stage = current.get_document("inputStage").ok().cloned();
    }
    parts.join(" ← ")
}

async fn run_size(accounts: u64, samples: usize, hashes: &(String, String)) -> SizeReport {
    let (argon2_hash, md5_hash) = hashes;
    let database = shared::testing::fresh_database().await;
    let now = DateTime::now();
    let ids: Vec<ObjectId> = (0..accounts).map(|_| ObjectId::new()).collect();
    let stores = MongoStores::new(&database, &UserCollectionSettings::default());
    let legacy_settings = UserCollectionSettings {
        collection: "user_model".to_owned(),
        legacy_lookup: true,
    };
    let legacy_stores = MongoStores::new(&database, &legacy_settings);
    // The indexes first, as a running system has them while accounts arrive (building them
    // afterwards over a million documents took the test server far longer).
    let seeding = Instant::now();
    stores.ensure_indexes().await.unwrap();
    legacy_stores.users.ensure_indexes().await.unwrap();
    let users = database.collection::<Document>("users");
    bulk(&users, accounts, |n| {
        doc! {
            "_id": ids[n as usize], "username": format!("user{n}"),
            "username_canonical": format!("user{n}"), "password": argon2_hash.as_str(),
            "disabled": false, "created_date": now, "modified_date": now, "token_version": 0_i64,
        }
    })
    .await;
    let in_a_month = DateTime::from_millis(now.timestamp_millis() + 30 * 86_400_000);
    bulk(&database.collection("sessions"), accounts / 2, |n| {
        doc! {
            "_id": format!("family{n}"), "account": ids[(n * 2) as usize].to_hex(),
            "token_version": 0_i64, "current": format!("seeded-hash-{n}"),
            "current_expires_at": in_a_month, "retired": [], "revoked": false,
            "authenticated_at": now, "amr": ["pwd"], "last_used_at": now,
            "expires_at": in_a_month,
        }
    })
    .await;
    bulk(&database.collection("login_failures"), accounts / 10, |n| {
        doc! { "_id": format!("user{}", n * 10 + 1), "failures": 1_i64, "expires_at": in_a_month }
    })
    .await;
    let legacy = database.collection::<Document>("user_model");
    // Even-numbered FastAPI users have logged in here before (argon2id), odd ones not yet.
    bulk(&legacy, accounts, |n| {
        let hash = if n % 2 == 0 { argon2_hash } else { md5_hash };
        doc! {
            "_id": ObjectId::new(), "username": format!("Legacy{n}"), "password": hash.as_str(),
            "disabled": false, "created_date": now, "modified_date": now,
        }
    })
    .await;
    stores.products.seed().await.unwrap();
    let seed_seconds = seeding.elapsed().as_secs_f64();

    // A locked name: past its free failures, locked for an hour.
    let locked_name = "user3";
    database
        .collection::<Document>("login_failures")
        .insert_one(doc! {
            "_id": locked_name, "failures": 9_i64,
            "locked_until": DateTime::from_millis(now.timestamp_millis() + 3_600_000),
            "expires_at": in_a_month,
        })
        .await
        .unwrap();

    let hasher = PasswordHasher::new(HashingParams::default()).unwrap();
    let (issuer, _, _) = shared::testing::token_pair();
    let token = token::State {
        stores: stores.clone(),
        hasher: hasher.clone(),
        issuer,
        mfa: shared::testing::mfa_settings(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::capturing(),
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
    let pick = |n: usize| (n as u64 * 7_919 + accounts / 2) % accounts;
    // Distinct accounts for each legacy phase (a first login changes the account), of the
    // wanted parity: 7,919 is prime, so distinct numbers map to distinct accounts.
    let legacy_pick = |phase: u64, n: usize, odd: bool| {
        let k = ((phase * 64 + n as u64) * 7_919) % (accounts / 2);
        k * 2 + u64::from(odd)
    };
    let mut requests = BTreeMap::new();
    let refresh_tokens = std::sync::Mutex::new(Vec::new());
    requests.insert(
        "password login",
        measure(samples, |n| {
            let event = login_event(&format!("user{}", pick(n)));
            let (token, tokens) = (&token, &refresh_tokens);
            async move {
                let response = token::handle(token, request_from(&event)).await;
                assert_eq!(response.status(), 200);
                let issued = response_json(&response)["refresh_token"].clone();
                tokens.lock().unwrap().push(issued);
            }
        })
        .await,
    );
    let refresh_tokens = refresh_tokens.into_inner().unwrap();
    requests.insert(
        "refresh",
        measure(samples, |n| {
            let mut event = event_json("refresh.json");
            let refresh_token = refresh_tokens[n].as_str().unwrap().to_owned();
            event["body"] = serde_urlencoded::to_string([
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.as_str()),
            ])
            .unwrap()
            .into();
            let token = &token;
            async move {
                let response = token::handle(token, request_from(&event)).await;
                assert_eq!(response.status(), 200);
            }
        })
        .await,
    );
    requests.insert(
        "locked-out login",
        measure(samples, |_| {
            let event = login_event(locked_name);
            let token = &token;
            async move {
                let response = token::handle(token, request_from(&event)).await;
                assert_eq!(response.status(), 429);
            }
        })
        .await,
    );
    let me = me::State {
        stores: stores.clone(),
        clock: Clock::system(),
        recent_authentication: shared::factors::mfa::DEFAULT_RECENT_AUTHENTICATION,
    };
    requests.insert(
        "/users/me",
        measure(samples, |n| {
            let event = protected_event("me.json", &ids[pick(n) as usize]);
            let me = &me;
            async move {
                let response = me::handle(me, request_from(&event)).await;
                assert_eq!(response.status(), 200);
            }
        })
        .await,
    );
    let products = products::State::new(&[], stores.clone(), Clock::system()).unwrap();
    requests.insert(
        "/products",
        measure(samples, |n| {
            let event = protected_event("products.json", &ids[pick(n) as usize]);
            let products = &products;
            async move {
                let response = products::handle(products, request_from(&event)).await;
                assert_eq!(response.status(), 200);
            }
        })
        .await,
    );
    let signup = signup::State {
        stores: stores.clone(),
        hasher: hasher.clone(),
        clock: Clock::system(),
        mailer: shared::mail::sender::Mailer::Off,
        mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        breached: shared::factors::breached_passwords::BreachedPasswords::off(),
        hooks: shared::hooks::Hooks::none(),
    };
    requests.insert(
        "sign-up",
        measure(samples, |n| {
            let mut event = event_json("signup.json");
            event["body"] = json!({"username": format!("newcomer{n}"), "password": PASSWORD})
                .to_string()
                .into();
            let signup = &signup;
            async move {
                let response = signup::handle(signup, request_from(&event)).await;
                assert_eq!(response.status(), 201);
            }
        })
        .await,
    );

    // The takeover: the legacy lookup before any migration (every unmigrated document
    // read), then migrate, then the legacy lookup over the window since its pass.
    let legacy_token = token_state_like(&token, legacy_stores);
    if accounts <= FULL_SCAN_UP_TO {
        requests.insert(
            "switch-over login, no migration yet",
            measure(samples.min(5), |n| {
                // A different letter case than stored: only the folding lookup finds it.
                let event = login_event(&format!("legacy{}", legacy_pick(0, n, false)));
                let legacy_token = &legacy_token;
                async move {
                    let response = token::handle(legacy_token, request_from(&event)).await;
                    assert_eq!(response.status(), 200);
                }
            })
            .await,
        );
    }
    let settings = legacy_settings.clone();
    let started = Instant::now();
    let dry = devtools::migrate::run(&database, &settings, false, |_| {})
        .await
        .unwrap();
    let migrate_dry_run_seconds = started.elapsed().as_secs_f64();
    assert!(dry.is_clean());
    let started = Instant::now();
    let applied = devtools::migrate::run(&database, &settings, true, |_| {})
        .await
        .unwrap();
    let migrate_apply_seconds = started.elapsed().as_secs_f64();
    assert!(applied.pass_started_at.is_some());
    // The FastAPI app keeps signing users up during the switch-over.
    bulk(&legacy, 20, |n| {
        doc! {
            "_id": ObjectId::new(), "username": format!("Latecomer{n}"), "password": md5_hash.as_str(),
            "disabled": false, "created_date": DateTime::now(), "modified_date": DateTime::now(),
        }
    })
    .await;
    requests.insert(
        "switch-over login, after migrate",
        measure(samples, |n| {
            let event = login_event(&format!("legacy{}", legacy_pick(1, n, false)));
            let legacy_token = &legacy_token;
            async move {
                let response = token::handle(legacy_token, request_from(&event)).await;
                assert_eq!(response.status(), 200);
            }
        })
        .await,
    );
    requests.insert(
        "first login with a FastAPI hash, after migrate",
        measure(samples, |n| {
            let event = login_event(&format!("legacy{}", legacy_pick(2, n, true)));
            let legacy_token = &legacy_token;
            async move {
                let response = token::handle(legacy_token, request_from(&event)).await;
                assert_eq!(response.status(), 200);
            }
        })
        .await,
    );

    let since = applied.pass_started_at.unwrap();
    let window = doc! {
        "username_canonical": { "$exists": false },
        "created_date": { "$gte": since },
        "username": { "$regex": "^legacy5$", "$options": "i" },
    };
    let queries: [(&'static str, &str, Document, Option<Document>); 6] = [
        (
            "login: user by canonical name",
            "users",
            doc! { "username_canonical": "user5" },
            None,
        ),
        (
            "protected routes: user by id",
            "users",
            doc! { "_id": ids[5] },
            None,
        ),
        (
            "refresh: session by current token",
            "sessions",
            doc! { "current": "seeded-hash-5" },
            None,
        ),
        (
            "lockout: counter by name",
            "login_failures",
            doc! { "_id": "user11" },
            None,
        ),
        (
            "reset by address: user by email key",
            "users",
            doc! { "email.key": "a@example.com" },
            None,
        ),
        (
            "legacy lookup: documents created since the migration",
            "user_model",
            window,
            None,
        ),
    ];
    let mut plans = BTreeMap::new();
    for (name, collection, filter, hint) in queries {
        plans.insert(name, plan(&database, collection, filter, hint).await);
    }
    database.drop().await.ok();
    SizeReport {
        accounts,
        seed_seconds,
        requests,
        migrate_dry_run_seconds,
        migrate_apply_seconds,
        plans,
    }
}

fn token_state_like(
    template: &token::State<MongoStores>,
    stores: MongoStores,
) -> token::State<MongoStores> {
    token::State {
        stores,
        hasher: template.hasher.clone(),
        issuer: shared::testing::token_pair().0,
        mfa: shared::testing::mfa_settings(),
        clock: Clock::system(),
        metrics: shared::platform::metrics::Metrics::capturing(),
        roles: shared::access::roles::Roles::default(),
        passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
        password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
            .unwrap(),
        id_token_key: None,
        password_grant: true,
        upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
        hooks: shared::hooks::Hooks::none(),
        hook_scopes_beyond_roles: false,
    }
}

fn print_tables(reports: &[SizeReport]) {
    let sizes: Vec<String> = reports.iter().map(|r| r.accounts.to_string()).collect();
    println!(
        "| Request (median ms) | {} | largest ÷ smallest |",
        sizes.join(" | ")
    );
    println!("|---|{}---|", "---|".repeat(reports.len()));
    let names: Vec<&str> = reports[0].requests.keys().copied().collect();
    for name in names {
        let cells: Vec<String> = reports
            .iter()
            .map(|r| {
                r.requests
                    .get(name)
                    .map_or("not run".to_owned(), |s| format!("{:.2}", s.median_ms))
            })
            .collect();
        let first = reports.first().and_then(|r| r.requests.get(name));
        let last = reports.iter().rev().find_map(|r| r.requests.get(name));
        let ratio = match (first, last) {
            (Some(first), Some(last)) => format!("{:.2}", last.median_ms / first.median_ms),
            _ => "-".to_owned(),
        };
        println!("| {name} | {} | {ratio} |", cells.join(" | "));
    }
    let row = |label: &str, value: &dyn Fn(&SizeReport) -> f64| {
        let cells: Vec<String> = reports
            .iter()
            .map(|r| format!("{:.1} s", value(r)))
            .collect();
        println!("| {label} | {} | |", cells.join(" | "));
    };
    row(
        "seeding (accounts, sessions, counters, FastAPI copy)",
        &|r| r.seed_seconds,
    );
    row("migrate (dry run)", &|r| r.migrate_dry_run_seconds);
    row("migrate --apply", &|r| r.migrate_apply_seconds);
    println!();
    println!(
        "| Query | Plan at {} accounts |",
        reports.last().unwrap().accounts
    );
    println!("|---|---|");
    for (query, plan) in &reports.last().unwrap().plans {
        println!("| {query} | {plan} |");
    }
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let reports = runtime.block_on(async {
        let hasher = PasswordHasher::new(HashingParams::default()).unwrap();
        let argon2_hash = hasher
            .hash(&Password::parse(PASSWORD).unwrap())
            .await
            .unwrap();
        // The FastAPI app's own format, made once for its seeded users.
        #[allow(deprecated)]
        let md5_hash = pwhash::md5_crypt::hash(PASSWORD).unwrap();
        let hashes = (argon2_hash, md5_hash);
        let mut reports = Vec::new();
        for size in &args.sizes {
            eprintln!("bench-scale: {size} accounts");
            let report = run_size(*size, args.samples, &hashes).await;
            eprintln!("{}", serde_json::to_string(&report).unwrap());
            reports.push(report);
        }
        reports
    });
    print_tables(&reports);
    if let Some(out) = args.out {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(&out, serde_json::to_string_pretty(&reports).unwrap()).unwrap();
        println!("\n(JSON: {})", out.display());
    }
}
