//! `coldstart <bin dir> <runs> <json out>`: starts each function binary `runs` times as a
//! fresh process against a minimal Lambda Runtime API and measures, per process, the time
//! from `exec` to its first request for work (its init: configuration, keys, database
//! client) and to its first completed invocation (including the first database round trip),
//! plus its peak resident memory (VmHWM) at that point. Prints medians as a Markdown table and
//! writes them as JSON. Needs `MONGODB_URI` or `MONGODB_TEST_URI` (a running MongoDB-compatible
//! server).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use benchmarks::{median, peak_rss_kib};
use devtools::runtime::{FunctionConfig, lambda_environment};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Notify;

/// The cold-start targets: environment initialisation and first invocation.
const INIT_TARGET_MS: f64 = 15.0;
const FIRST_INVOCATION_TARGET_MS: f64 = 30.0;

/// A function to measure: binary name, environment, sample event, memory size.
type Subject<'a> = (&'a str, Vec<(&'a str, &'a str)>, Value, u64);

struct Run {
    event: Vec<u8>,
    served: Mutex<bool>,
    first_next: Mutex<Option<Instant>>,
    done: Mutex<Option<(Instant, bool)>>,
    finished: Notify,
}

async fn next(State(run): State<Arc<Run>>) -> Response {
    let already_served = std::mem::replace(&mut *run.served.lock().unwrap(), true);
    if already_served {
        // The process asks for its second invocation: measured, it just waits to be killed.
        std::future::pending::<()>().await;
    }
    *run.first_next.lock().unwrap() = Some(Instant::now());
    let mut headers = HeaderMap::new();
    headers.insert(
        "lambda-runtime-aws-request-id",
        HeaderValue::from_static("cold-1"),
    );
    let deadline = SystemTime::now() + Duration::from_secs(30);
    let deadline_ms = deadline
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    headers.insert(
        "lambda-runtime-deadline-ms",
        HeaderValue::from(deadline_ms as u64),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:local:123456789012:function:cold"),
    );
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (headers, run.event.clone()).into_response()
}

async fn finish(run: &Run, ok: bool) -> StatusCode {
    *run.done.lock().unwrap() = Some((Instant::now(), ok));
    run.finished.notify_one();
    StatusCode::ACCEPTED
}

/// An HTTP answer of 401 or 5xx means the sample did not take the path being measured (a
/// stale token, an unreachable database); the authorizer's policy has no status.
async fn response(
    State(run): State<Arc<Run>>,
    Path(_id): Path<String>,
    payload: axum::body::Bytes,
) -> StatusCode {
    let status = serde_json::from_slice::<Value>(&payload)
        .ok()
        .and_then(|answer| answer["statusCode"].as_u64());
    let worked = status.is_none_or(|status| status != 401 && status < 500);
    finish(&run, worked).await
}

async fn error(State(run): State<Arc<Run>>, Path(_id): Path<String>) -> StatusCode {
    finish(&run, false).await
}

async fn init_error(State(run): State<Arc<Run>>) -> StatusCode {
    finish(&run, false).await
}

/// One fresh process: (init, first invocation, peak RSS in KiB).
async fn measure(
    config: &FunctionConfig,
    event: &[u8],
) -> Result<(Duration, Duration, u64), String> {
    let run = Arc::new(Run {
        event: event.to_vec(),
        served: Mutex::new(false),
        first_next: Mutex::new(None),
        done: Mutex::new(None),
        finished: Notify::new(),
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(Arc::clone(&run));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let address = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&config.binary)
        .env_clear()
        .envs(&config.environment)
        .envs(lambda_environment(config, &address))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", config.binary.display()))?;
    let waited = tokio::time::timeout(Duration::from_secs(30), run.finished.notified()).await;
    let peak_kib = child.id().and_then(peak_rss_kib).unwrap_or(0);
    let _ = child.kill().await;
    server.abort();
    waited.map_err(|_| format!("{} did not answer within 30 s", config.name))?;
    let first_next = run
        .first_next
        .lock()
        .unwrap()
        .ok_or("no request for work")?;
    let (done, ok) = run.done.lock().unwrap().ok_or("no result")?;
    if !ok {
        return Err(format!(
            "{} reported an error or answered 401/5xx",
            config.name
        ));
    }
    Ok((first_next - started, done - started, peak_kib))
}

/// The sample events' user (`alice`, the sample password) and the products, so every
/// function's first invocation takes its successful path (signup's is a `409` after the
/// first run: the same hash and insert attempt).
async fn seed(
    uri: &str,
    name: &str,
) -> Result<shared::identity::account_id::AccountId, Box<dyn std::error::Error>> {
    use shared::identity::users::UserStore as _;
    let settings = shared::platform::database::DatabaseSettings {
        uri: uri.to_owned(),
        name: name.to_owned(),
    };
    let database = shared::platform::database::connect(&settings).await?;
    let users = shared::identity::users::MongoUserStore::new(&database);
    users.ensure_indexes().await?;
    let hasher = shared::factors::hashing::PasswordHasher::new(
        shared::factors::hashing::HashingParams::default(),
    )?;
    let password = shared::identity::credentials::Password::parse("correct horse battery staple")?;
    let alice = shared::identity::credentials::Username::parse("alice")?;
    users
        .insert(&alice, &hasher.hash(&password).await?, SystemTime::now())
        .await?;
    shared::products::MongoProductStore::new(&database)
        .seed()
        .await?;
    let stored = users.find(&alice).await?.ok_or("alice was not stored")?;
    Ok(stored.id)
}

/// A protected function's sample event, with the authorizer's principal set to `account`.
fn protected_event(name: &str, account: &shared::identity::account_id::AccountId) -> Value {
    let mut event = event(name);
    event["requestContext"]["authorizer"]["principalId"] = account.as_str().into();
    event
}

fn event(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample event")).expect("JSON")
}

/// Each logout bumps alice's token version, so the `run`-th logout presents version `run`
/// and takes the successful path like the first; other events are used as they are.
fn event_for_run(sample: &Value, run: usize) -> Value {
    let mut event = sample.clone();
    if event["path"] == "/users/me/logout" {
        event["requestContext"]["authorizer"]["ver"] = run.to_string().into();
    }
    event
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bin_dir, runs, out] = args.as_slice() else {
        eprintln!("usage: coldstart <bin dir> <runs> <json out>");
        return ExitCode::from(2);
    };
    let runs: usize = runs.parse().unwrap_or(20);
    let Ok(mongodb_uri) =
        std::env::var("MONGODB_URI").or_else(|_| std::env::var("MONGODB_TEST_URI"))
    else {
        eprintln!(
            "coldstart: neither MONGODB_URI nor MONGODB_TEST_URI is set (make bench starts a server)"
        );
        return ExitCode::FAILURE;
    };
    let keys = shared::tokens::keys::generate_ed25519().expect("key pair");
    let private_pem = keys.private_pem.expose_secret().to_owned();
    // The authorizer names the API of its sample event's method ARN as the issuer.
    let api = event("authorizer.json")["methodArn"]
        .as_str()
        .and_then(shared::tokens::issuer::of_method_arn)
        .expect("the sample authorizer event's method ARN");
    let settings = shared::tokens::TokenSettings {
        issuer: api,
        ..shared::tokens::TokenSettings::from_source(&[]).expect("default settings")
    };
    let issuer = shared::tokens::TokenIssuer::from_pem(&private_pem, settings).expect("issuer");
    let data_key = devtools::dev_keys::new_second_factor_key("bench").expect("data key");
    let mfa = ("SECOND_FACTOR_KEYS", data_key.as_str());
    let database = format!("coldstart_{}", std::process::id());
    let db = [
        ("MONGODB_URI", mongodb_uri.as_str()),
        ("DB_NAME", database.as_str()),
    ];
    let alice = match seed(&mongodb_uri, &database).await {
        Ok(alice) => alice,
        Err(error) => {
            eprintln!("coldstart: seeding {database}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let token = issuer
        .issue(alice.as_str(), 0, SystemTime::now())
        .expect("token")
        .token;

    // Each function with its configuration and a sample event it answers successfully.
    let mut authorizer_event = event("authorizer.json");
    authorizer_event["authorizationToken"] = format!("Bearer {token}").into();
    let functions: Vec<Subject> = vec![
        (
            "authorizer",
            vec![("JWT_PUBLIC_KEY", keys.public_pem.as_str())],
            authorizer_event,
            128,
        ),
        (
            "jwks",
            vec![("JWT_PUBLIC_KEY", keys.public_pem.as_str())],
            event("jwks.json"),
            128,
        ),
        ("docs", vec![], event("docs.json"), 128),
        ("me", db.to_vec(), protected_event("me.json", &alice), 256),
        (
            "products",
            db.to_vec(),
            protected_event("products.json", &alice),
            256,
        ),
        (
            "account",
            [db.to_vec(), vec![mfa]].concat(),
            protected_event("account-logout.json", &alice),
            256,
        ),
        ("signup", db.to_vec(), event("signup.json"), 1024),
        // A code redemption (400 invalid_code: no code was sent): the reset request's own
        // answer waits a fixed 500 ms by design, which would hide the cold start.
        ("recovery", db.to_vec(), event("email-verify.json"), 1024),
        (
            "token",
            [
                db.to_vec(),
                vec![("JWT_PRIVATE_KEY", private_pem.as_str()), mfa],
            ]
            .concat(),
            event("token.json"),
            1024,
        ),
    ];

    // COLDSTART_FUNCTIONS=a,b measures only those (compare-profiles builds only three).
    let only = std::env::var("COLDSTART_FUNCTIONS").ok();
    let functions: Vec<Subject> = functions
        .into_iter()
        .filter(|(name, ..)| {
            only.as_deref()
                .is_none_or(|only| only.split(',').any(|f| f == *name))
        })
        .collect();
    let mut rows = Vec::new();
    println!(
        "| Function | Init (median) | First invocation (median) | Peak RSS after it | Targets |"
    );
    println!("|---|---|---|---|---|");
    for (name, environment, sample, memory_mb) in functions {
        let config = FunctionConfig {
            name: name.to_owned(),
            binary: PathBuf::from(bin_dir).join(name),
            args: Vec::new(),
            environment: environment
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            timeout: Duration::from_secs(30),
            memory_mb,
            instances: 1,
            log_dir: None,
        };
        let (mut inits, mut firsts, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let bytes = serde_json::to_vec(&event_for_run(&sample, run)).unwrap();
            match measure(&config, &bytes).await {
                Ok((init, first, peak)) => {
                    inits.push(init.as_secs_f64() * 1e3);
                    firsts.push(first.as_secs_f64() * 1e3);
                    peaks.push(peak as f64);
                }
                Err(error) => {
                    eprintln!("coldstart: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let (init, first, peak) = (median(inits), median(firsts), median(peaks));
        let init_met = init <= INIT_TARGET_MS;
        let first_met = name != "me" || first <= FIRST_INVOCATION_TARGET_MS;
        println!(
            "| {name} | {init:.1} ms | {first:.1} ms | {:.1} MB | init ≤ {INIT_TARGET_MS} ms: {}{} |",
            peak / 1024.0,
            if init_met { "met" } else { "missed" },
            if name == "me" {
                format!(
                    "; first invocation ≤ {FIRST_INVOCATION_TARGET_MS} ms: {}",
                    if first_met { "met" } else { "missed" }
                )
            } else {
                String::new()
            }
        );
        rows.push(json!({
            "function": name, "runs": runs, "init_median_ms": init,
            "first_invocation_median_ms": first, "peak_rss_kib_median": peak,
            "init_target_met": init_met, "first_invocation_target_met": first_met,
        }));
    }
    let report = json!({ "cold_starts": rows });
    if let Some(dir) = std::path::Path::new(out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(error) = std::fs::write(out, serde_json::to_string_pretty(&report).unwrap()) {
        eprintln!("coldstart: writing {out}: {error}");
        return ExitCode::FAILURE;
    }
    println!("\n(JSON: {out})");
    ExitCode::SUCCESS
}
