//! `memory-sizes <json out>`: what memory size suits the argon2id functions (signup, token,
//! account). Lambda gives a function CPU in proportion to its memory (1,769 MB = one vCPU),
//! and one argon2id verification is CPU-bound, so this runs the verification (default
//! parameters) in a child process whose CPU time is capped by a cgroup (v1 `cpu` controller,
//! `cfs_quota_us` = the share × `cfs_period_us`) for each size, and reports the median
//! latency, the billed cost per million verifications (arm64 price) and, beside it, the model
//! `unconstrained time ÷ min(share, 1)`. Needs root (to make cgroups); this machine is x86_64,
//! so Graviton's absolute times will differ, not the shape.

use serde_json::json;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::identity::credentials::Password;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

/// The sizes measured, in MB.
const SIZES_MB: [u64; 7] = [512, 768, 1024, 1280, 1536, 1769, 2048];
/// Memory that buys one full vCPU on Lambda.
const ONE_VCPU_MB: f64 = 1769.0;
/// Lambda's arm64 price per GB-second (us-east-1, first tier), in dollars.
const PRICE_PER_GB_SECOND: f64 = 0.000_013_333_4;
/// Lambda's price per million requests, in dollars.
const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Verifications timed per size, after two warm-up runs.
const RUNS: usize = 15;
/// The CFS period of the test cgroups, in microseconds: short, so a 15 ms verification is
/// throttled in proportion over several periods (with the default 100 ms period it would fit
/// in one period's quota and never be slowed); long enough that the smallest share's quota
/// stays above the kernel's 1 ms minimum.
const PERIOD_US: u64 = 4_000;
const CGROUP_ROOT: &str = "/sys/fs/cgroup/cpu";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, cgroup] if flag == "--child" => child(cgroup),
        [out] => match parent(Path::new(out)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("memory-sizes: {error}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: memory-sizes <json out>");
            ExitCode::from(2)
        }
    }
}

/// Joins `cgroup` (unless empty), times the verifications and prints their median in ms.
fn child(cgroup: &str) -> ExitCode {
    if !cgroup.is_empty() {
        let tasks = Path::new(cgroup).join("tasks");
        if let Err(error) = std::fs::write(&tasks, std::process::id().to_string()) {
            eprintln!("joining {}: {error}", tasks.display());
            return ExitCode::FAILURE;
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let median = runtime.block_on(async {
        let hasher = PasswordHasher::new(HashingParams::default()).expect("hasher");
        let password = Password::parse("correct horse battery staple").expect("password");
        let hash = hasher.hash(&password).await.expect("hash");
        let mut times = Vec::new();
        for run in 0..RUNS + 2 {
            let started = Instant::now();
            assert!(hasher.verify(&password, &hash).await.expect("verify"));
            if run >= 2 {
                times.push(started.elapsed().as_secs_f64() * 1e3);
            }
        }
        benchmarks::median(times)
    });
    println!("{median}");
    ExitCode::SUCCESS
}

fn parent(out: &Path) -> Result<(), String> {
    let me = std::env::current_exe().map_err(|error| error.to_string())?;
    let unconstrained = measure(&me, None)?;
    println!("| Memory | vCPU share | Verification (median) | Model | Cost per 1M (arm64) |");
    println!("|---|---|---|---|---|");
    let mut rows = Vec::new();
    for mb in SIZES_MB {
        let share = mb as f64 / ONE_VCPU_MB;
        let group = Cgroup::create(mb, share)?;
        let measured = measure(&me, Some(&group.path));
        drop(group);
        let measured = measured?;
        let model = unconstrained / share.min(1.0);
        let billed_seconds = measured.ceil() / 1e3;
        let cost = 1e6 * (mb as f64 / 1024.0) * billed_seconds * PRICE_PER_GB_SECOND
            + PRICE_PER_MILLION_REQUESTS;
        println!("| {mb} MB | {share:.2} | {measured:.1} ms | {model:.1} ms | ${cost:.2} |");
        rows.push(json!({
            "memory_mb": mb, "vcpu_share": share, "median_ms": measured,
            "model_ms": model, "cost_per_million_usd": cost,
        }));
    }
    let report = json!({ "unconstrained_ms": unconstrained, "runs": RUNS, "sizes": rows });
    std::fs::create_dir_all(out.parent().unwrap_or(Path::new(".")))
        .map_err(|error| error.to_string())?;
    std::fs::write(out, serde_json::to_string_pretty(&report).unwrap())
        .map_err(|error| error.to_string())
}

/// The child's median verification in ms, in `cgroup` when given.
fn measure(me: &Path, cgroup: Option<&Path>) -> Result<f64, String> {
    let cgroup = cgroup
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let output = Command::new(me)
        .args(["--child", &cgroup])
        .output()
        .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|error| format!("child output: {error}"))
}

/// A CPU-capped cgroup, removed when dropped.
struct Cgroup {
    path: PathBuf,
}

impl Cgroup {
    fn create(mb: u64, share: f64) -> Result<Self, String> {
        let path = Path::new(CGROUP_ROOT).join(format!("lambda-auth-memory-{mb}"));
        let _ = std::fs::remove_dir(&path);
        std::fs::create_dir(&path).map_err(|error| {
            format!(
                "creating {} ({error}): this measurement needs root and the cgroup v1 cpu \
                 controller at {CGROUP_ROOT}",
                path.display()
            )
        })?;
        let quota = (share * PERIOD_US as f64).round() as u64;
        let write = |file: &str, value: u64| {
            std::fs::write(path.join(file), value.to_string())
                .map_err(|error| format!("{file}: {error}"))
        };
        write("cpu.cfs_period_us", PERIOD_US)?;
        write("cpu.cfs_quota_us", quota)?;
        Ok(Self { path })
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}
