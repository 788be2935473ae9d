//! `loadtest <bin dir> <seconds> <connections> <json out>`: serves the API the way `make dev`
//! does (the local gateway, the Runtime API emulator, two instances per function, the real
//! binaries from `<bin dir>`), then:
//!
//! 1. times failed logins for unknown users against wrong passwords for existing ones,
//!    interleaved, over HTTP (the two must not be told apart by time);
//! 2. drives each endpoint with wrk for `<seconds>` at `<connections>` connections, and an
//!    empty function through the same path (public and behind the authorizer), which is the
//!    local gateway's and emulator's own share;
//! 3. reads each function process's peak resident memory after the load.
//!
//! Prints Markdown tables, writes JSON, and fails if any request got an answer its scenario
//! does not expect. Needs `MONGODB_URI` or `MONGODB_TEST_URI`, and wrk (`make load-tools`).

use benchmarks::{median, peak_rss_kib};
use devtools::stack::{Stack, StackOptions};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const PASSWORD: &str = "correct horse battery staple";
const WRK_SCRIPT: &str = include_str!("../../load/scenario.lua");
/// Interleaved rounds of the login timing comparison, and the largest median ratio allowed.
const TIMING_ROUNDS: usize = 30;
const TIMING_TARGET_RATIO: f64 = 1.25;
/// Peak-memory targets: functions that do not hash passwords, and those that do (the
/// argon2id block of the default parameters, 19 MiB, on top).
const RSS_TARGET_KIB: u64 = 32 * 1024;
const RSS_HASHING_TARGET_KIB: u64 = RSS_TARGET_KIB + 19 * 1024;
const HASHING_FUNCTIONS: [&str; 3] = ["signup", "token", "account"];

/// The empty function, added to a copy of the template for this run only.
const EMPTY_FUNCTION: &str = "  BenchEmptyFunction:
    Type: AWS::Serverless::Function
    Metadata:
      BuildProperties:
        Binary: empty-function
    Properties:
      CodeUri: benchmarks
      MemorySize: 128
      Timeout: 3
      Events:
        Empty:
          Type: Api
          Properties:
            RestApiId: !Ref AuthApi
            Path: /bench/empty
            Method: GET
            Auth:
              Authorizer: NONE
        EmptyAuthorized:
          Type: Api
          Properties:
            RestApiId: !Ref AuthApi
            Path: /users/me/export
            Method: GET
";

/// The route the authorized empty function takes over: one the authorizer's policy allows a
/// plain user's token (it only allows the routes `openapi.yaml` protects), and whose own
/// function is left out of the copy's routes.
const EMPTY_AUTHORIZED_PATH: &str = "/users/me/export";

/// One wrk run: what it requests and which empty-function run is its baseline.
struct Scenario {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    content_type: Option<&'static str>,
    authorized: bool,
    signs_up: bool,
    baseline: Option<&'static str>,
}

const EMPTY: &str = "empty function";
const EMPTY_AUTHORIZED: &str = "empty function, authorized";

fn scenarios() -> Vec<Scenario> {
    let get = |name, path, authorized, baseline| Scenario {
        name,
        method: "GET",
        path,
        body: None,
        content_type: None,
        authorized,
        signs_up: false,
        baseline,
    };
    vec![
        get(EMPTY, "/bench/empty", false, None),
        get(EMPTY_AUTHORIZED, EMPTY_AUTHORIZED_PATH, true, None),
        get("GET /users/me", "/users/me", true, Some(EMPTY_AUTHORIZED)),
        get("GET /products", "/products", true, Some(EMPTY_AUTHORIZED)),
        Scenario {
            name: "POST /token",
            method: "POST",
            path: "/token",
            body: Some("grant_type=password&username=alice&password=correct+horse+battery+staple"),
            content_type: Some("application/x-www-form-urlencoded"),
            authorized: false,
            signs_up: false,
            baseline: Some(EMPTY),
        },
        Scenario {
            name: "POST /signup",
            method: "POST",
            path: "/signup",
            body: None,
            content_type: Some("application/json"),
            authorized: false,
            signs_up: true,
            baseline: Some(EMPTY),
        },
    ]
}

/// What wrk's `done()` reports for one run.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    non_2xx: u64,
    connect_errors: u64,
    read_errors: u64,
    write_errors: u64,
    timeouts: u64,
    p50_us: u64,
    p90_us: u64,
    p99_us: u64,
    max_us: u64,
}

impl WrkResult {
    fn requests_per_second(&self) -> f64 {
        self.requests as f64 / (self.duration_us as f64 / 1e6)
    }

    fn failures(&self) -> u64 {
        self.non_2xx + self.connect_errors + self.read_errors + self.write_errors + self.timeouts
    }
}

struct Load<'a> {
    wrk: &'a str,
    script: &'a Path,
    base: &'a str,
    token: &'a str,
    connections: usize,
}

impl Load<'_> {
    async fn run(&self, scenario: &Scenario, seconds: u64) -> Result<WrkResult, String> {
        let mut command = tokio::process::Command::new(self.wrk);
        command
            .args(["--threads", "2", "--connections"])
            .arg(self.connections.to_string())
            .args(["--duration", &format!("{seconds}s"), "--timeout", "10s"])
            .arg("--script")
            .arg(self.script)
            .arg(format!("{}{}", self.base, scenario.path))
            .env("LOAD_METHOD", scenario.method)
            .env("LOAD_BODY", scenario.body.unwrap_or_default())
            .env(
                "LOAD_CONTENT_TYPE",
                scenario.content_type.unwrap_or_default(),
            )
            .env("LOAD_PASSWORD", PASSWORD);
        if scenario.authorized {
            command.env("LOAD_AUTHORIZATION", format!("Bearer {}", self.token));
        }
        if scenario.signs_up {
            let prefix = format!(
                "load{}-{}-",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            );
            command.env("LOAD_SIGNUP_PREFIX", &prefix[..24]);
        }
        let output = command.output().await.map_err(|error| {
            format!(
                "cannot run {}: {error} (install it with `make load-tools`)",
                self.wrk
            )
        })?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|line| line.starts_with('{'))
            .ok_or_else(|| {
                format!(
                    "wrk printed no result for {}: {}{}",
                    scenario.name,
                    stdout,
                    String::from_utf8_lossy(&output.stderr)
                )
            })?;
        serde_json::from_str(line).map_err(|error| format!("wrk result {line}: {error}"))
    }
}

/// The copy of `template` with the empty function's two routes (the authorized one taken
/// from the function that serves it in the template).
fn template_with_empty_function(template: &Path, dir: &Path) -> Result<PathBuf, String> {
    let text = std::fs::read_to_string(template)
        .map_err(|error| format!("{}: {error}", template.display()))?;
    let at = text
        .find("\nResources:\n")
        .ok_or("the template has no top-level Resources")?
        + "\nResources:\n".len();
    let path = dir.join("template.yaml");
    let taken = format!("            Path: {EMPTY_AUTHORIZED_PATH}\n            Method: GET\n");
    let (before, after) = (&text[..at], &text[at..]);
    if !after.contains(&taken) {
        return Err(format!(
            "the template has no GET {EMPTY_AUTHORIZED_PATH} to take over"
        ));
    }
    let after = after.replacen(
        &taken,
        "            Path: /bench/displaced\n            Method: GET\n",
        1,
    );
    let derived = format!("{before}{EMPTY_FUNCTION}\n{after}");
    std::fs::write(&path, derived).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(path)
}

async fn post(
    client: &reqwest::Client,
    url: String,
    form: Option<&[(&str, &str)]>,
    body: Option<Value>,
) -> Result<(u16, Value), String> {
    let mut request = client.post(&url);
    if let Some(form) = form {
        request = request.form(form);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .map_err(|error| format!("{url}: {error}"))?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

async fn sign_up(client: &reqwest::Client, base: &str, username: &str) -> Result<(), String> {
    let body = json!({ "username": username, "password": PASSWORD });
    match post(client, format!("{base}/signup"), None, Some(body)).await? {
        (201, _) => Ok(()),
        (status, body) => Err(format!("sign-up of {username}: {status} {body}")),
    }
}

async fn log_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<(u16, Value), String> {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    post(client, format!("{base}/token"), Some(&form), None).await
}

/// Medians (ms) of failed logins for unknown users and for existing users with a wrong
/// password, each user tried once so no lockout starts, in alternating order.
async fn login_timing(client: &reqwest::Client, base: &str) -> Result<(f64, f64), String> {
    for round in 0..TIMING_ROUNDS {
        sign_up(client, base, &format!("timing-{round}")).await?;
    }
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for round in 0..TIMING_ROUNDS {
        let attempts = [
            (format!("nobody-{round}"), &mut unknown),
            (format!("timing-{round}"), &mut wrong),
        ];
        let order: Vec<_> = if round % 2 == 0 {
            attempts.into_iter().collect()
        } else {
            attempts.into_iter().rev().collect()
        };
        for (username, samples) in order {
            let started = Instant::now();
            let (status, body) = log_in(client, base, &username, "not the password 1").await?;
            samples.push(started.elapsed().as_secs_f64() * 1e3);
            if status != 400 || body["error"] != "invalid_grant" {
                return Err(format!("failed login of {username}: {status} {body}"));
            }
        }
    }
    Ok((median(unknown), median(wrong)))
}

/// Peak resident memory (KiB) of every running process whose binary is in `bin_dir`, the
/// largest per binary name.
fn peak_memory_by_binary(bin_dir: &Path) -> BTreeMap<String, u64> {
    let mut peaks = BTreeMap::new();
    let Ok(bin_dir) = bin_dir.canonicalize() else {
        return peaks;
    };
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return peaks;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(exe) = std::fs::read_link(entry.path().join("exe")) else {
            continue;
        };
        if exe.parent() != Some(bin_dir.as_path()) {
            continue;
        }
        let (Some(name), Some(peak)) = (exe.file_name(), peak_rss_kib(pid)) else {
            continue;
        };
        let slot = peaks
            .entry(name.to_string_lossy().into_owned())
            .or_insert(0);
        *slot = (*slot).max(peak);
    }
    peaks
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

async fn run(bin_dir: &Path, seconds: u64, connections: usize, out: &Path) -> Result<bool, String> {
    let wrk = std::env::var("WRK").unwrap_or_else(|_| "wrk".to_owned());
    let mongodb_uri = std::env::var("MONGODB_URI")
        .or_else(|_| std::env::var("MONGODB_TEST_URI"))
        .map_err(
            |_| "neither MONGODB_URI nor MONGODB_TEST_URI is set (make bench starts a server)",
        )?;
    let work = std::env::temp_dir().join(format!("loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|error| format!("{}: {error}", work.display()))?;
    let script = work.join("scenario.lua");
    std::fs::write(&script, WRK_SCRIPT).map_err(|error| error.to_string())?;
    let template = template_with_empty_function(Path::new("template.yaml"), &work)?;
    let stack = Stack::start(StackOptions {
        template,
        bin_dir: bin_dir.to_owned(),
        data_dir: work.join("data"),
        port: 0,
        instances: 2,
        mongodb_uri: Some(mongodb_uri),
        database_name: format!("loadtest_{}", std::process::id()),
        secantusd: None,
        keys: None,
        function_log_dir: Some(work.join("logs")),
        log_requests: false,
        parameter_overrides: Default::default(),
        outbox_dir: None,
        public_host: None,
        federation_secrets: None,
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    })
    .await
    .map_err(|error| error.to_string())?;
    let base = format!("http://{}", stack.address);
    let result = measure(&wrk, &script, &base, bin_dir, seconds, connections).await;
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&work);
    let (report, all_met) = result?;
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(out, serde_json::to_string_pretty(&report).unwrap())
        .map_err(|error| format!("{}: {error}", out.display()))?;
    println!("\n(JSON: {})", out.display());
    Ok(all_met)
}

async fn measure(
    wrk: &str,
    script: &Path,
    base: &str,
    bin_dir: &Path,
    seconds: u64,
    connections: usize,
) -> Result<(Value, bool), String> {
    let client = reqwest::Client::new();
    sign_up(&client, base, "alice").await?;
    let (_, login) = log_in(&client, base, "alice", PASSWORD).await?;
    let token = login["access_token"]
        .as_str()
        .ok_or_else(|| format!("no access token for alice: {login}"))?
        .to_owned();

    let (unknown_ms, wrong_ms) = login_timing(&client, base).await?;
    let timing_ratio = unknown_ms.max(wrong_ms) / unknown_ms.min(wrong_ms);
    let timing_met = timing_ratio <= TIMING_TARGET_RATIO;
    println!("Failed logins over HTTP, medians of {TIMING_ROUNDS} interleaved each:\n");
    println!("| Unknown username | Wrong password | Ratio | Target |");
    println!("|---|---|---|---|");
    println!(
        "| {unknown_ms:.1} ms | {wrong_ms:.1} ms | {timing_ratio:.2} | ≤ {TIMING_TARGET_RATIO}: {} |\n",
        met(timing_met)
    );

    let load = Load {
        wrk,
        script,
        base,
        token: &token,
        connections,
    };
    let warm_up = seconds.min(2);
    println!(
        "Load through the local gateway: {seconds} s per scenario, {connections} connections, \
         2 wrk threads, 2 instances per function ({warm_up} s warm-up each, not counted):\n"
    );
    println!(
        "| Scenario | Requests/s | p50 | p99 | Gateway + emulator share of p50 | Unexpected answers |"
    );
    println!("|---|---|---|---|---|---|");
    let mut results: BTreeMap<&str, WrkResult> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut no_failures = true;
    for scenario in scenarios() {
        load.run(&scenario, warm_up).await?;
        let result = load.run(&scenario, seconds).await?;
        let share = scenario
            .baseline
            .and_then(|baseline| results.get(baseline))
            .map(|baseline| baseline.p50_us as f64 / result.p50_us as f64);
        no_failures &= result.failures() == 0;
        println!(
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {} |",
            scenario.name,
            result.requests_per_second(),
            result.p50_us as f64 / 1e3,
            result.p99_us as f64 / 1e3,
            share.map_or("(baseline)".to_owned(), |share| format!(
                "{:.0} %",
                share * 100.0
            )),
            result.failures(),
        );
        rows.push(json!({
            "scenario": scenario.name, "method": scenario.method, "path": scenario.path,
            "requests_per_second": result.requests_per_second(),
            "gateway_share_of_p50": share, "wrk": &result,
        }));
        results.insert(scenario.name, result);
    }

    let peaks = peak_memory_by_binary(bin_dir);
    println!("\nPeak resident memory (VmHWM) after the load, largest instance of each function:\n");
    println!("| Function | Peak RSS | Under load | Target |");
    println!("|---|---|---|---|");
    let loaded = [
        "empty-function",
        "authorizer",
        "me",
        "products",
        "token",
        "signup",
    ];
    let mut memory = Vec::new();
    let mut memory_met = true;
    for (name, peak) in &peaks {
        let target = if HASHING_FUNCTIONS.contains(&name.as_str()) {
            RSS_HASHING_TARGET_KIB
        } else {
            RSS_TARGET_KIB
        };
        memory_met &= *peak <= target;
        println!(
            "| {name} | {:.1} MB | {} | ≤ {} MB: {} |",
            *peak as f64 / 1024.0,
            if loaded.contains(&name.as_str()) {
                "yes"
            } else {
                "no"
            },
            target / 1024,
            met(*peak <= target)
        );
        memory.push(json!({
            "function": name, "peak_rss_kib": peak, "target_kib": target,
            "under_load": loaded.contains(&name.as_str()), "target_met": *peak <= target,
        }));
    }
    if peaks.is_empty() {
        return Err("found no function processes to read memory from".to_owned());
    }
    let report = json!({
        "seconds": seconds, "connections": connections,
        "login_timing": {
            "rounds": TIMING_ROUNDS, "unknown_user_median_ms": unknown_ms,
            "wrong_password_median_ms": wrong_ms, "ratio": timing_ratio,
            "target_ratio": TIMING_TARGET_RATIO, "target_met": timing_met,
        },
        "scenarios": rows,
        "peak_memory": memory,
        "memory_targets_met": memory_met,
        "no_unexpected_answers": no_failures,
    });
    if !no_failures {
        eprintln!(
            "loadtest: some requests got answers their scenario does not expect (see the table)"
        );
    }
    Ok((report, no_failures))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bin_dir, seconds, connections, out] = args.as_slice() else {
        eprintln!("usage: loadtest <bin dir> <seconds> <connections> <json out>");
        return ExitCode::from(2);
    };
    let (Ok(seconds), Ok(connections)) = (seconds.parse(), connections.parse()) else {
        eprintln!("loadtest: <seconds> and <connections> are whole numbers");
        return ExitCode::from(2);
    };
    match run(Path::new(bin_dir), seconds, connections, Path::new(out)).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("loadtest: {error}");
            ExitCode::FAILURE
        }
    }
}
