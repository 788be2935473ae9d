//! `compare-profiles <json out>`: the measurements behind the release profile. For `release`
//! and each candidate profile in the workspace manifest, it builds three representative
//! functions (`authorizer`: signature checks only; `me`: the AWS SDK and the MongoDB driver;
//! `token`: argon2id), then records their stripped x86_64 sizes, the build's wall time, their
//! cold starts (`coldstart`, medians of 20) and the criterion medians of their handlers.
//! Prints a Markdown table and writes JSON. Run from the workspace root with a database in
//! `MONGODB_TEST_URI` (make bench-profiles). `compare-profiles <json out> --smoke` runs the
//! same pipeline once on the dev profile with one short sample each (make test).

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const PROFILES: [(&str, &str); 3] = [
    (
        "release",
        "lto = true (fat), codegen-units = 1, opt-level 3",
    ),
    (
        "release-thin",
        "lto = \"thin\", codegen-units = 16, opt-level 3",
    ),
    (
        "release-size",
        "as release, opt-level \"s\" (argon2, blake2, ed25519 at 3)",
    ),
];
const FUNCTIONS: [&str; 3] = ["authorizer", "me", "token"];

fn target_dir() -> PathBuf {
    PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned()))
}

fn run(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed ({status})"))
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn criterion_median_ms(dir: &Path, group: &str) -> Result<f64, String> {
    let estimates = read_json(&dir.join(group).join("request/new/estimates.json"))?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e6)
        .ok_or_else(|| format!("no median for {group}"))
}

/// How long criterion samples and how many fresh processes coldstart starts.
struct Effort {
    criterion: &'static [&'static str],
    cold_starts: &'static str,
}

const FULL: Effort = Effort {
    criterion: &["--warm-up-time", "1", "--measurement-time", "5"],
    cold_starts: "20",
};
const SMOKE: Effort = Effort {
    criterion: &[
        "--warm-up-time",
        "0.01",
        "--measurement-time",
        "0.01",
        "--sample-size",
        "10",
    ],
    cold_starts: "1",
};

fn measure(profile: &str, work: &Path, effort: &Effort) -> Result<Value, String> {
    let target = target_dir();
    let started = Instant::now();
    let mut build = Command::new("cargo");
    build.args(["build", "--locked", "--profile", profile]);
    for function in FUNCTIONS {
        build.args(["-p", function]);
    }
    run(&mut build)?;
    let build_seconds = started.elapsed().as_secs_f64();
    let bin_dir = target.join(if profile == "dev" { "debug" } else { profile });

    let criterion = work.join(format!("criterion-{profile}"));
    run(Command::new("cargo")
        .args(["bench", "--locked", "--profile", profile])
        .args(["-p", "benchmarks", "--bench", "requests", "--"])
        .args(effort.criterion)
        .arg("^(authorizer|token|me)/request")
        .env("CRITERION_HOME", &criterion))?;

    let coldstart_json = work.join(format!("coldstart-{profile}.json"));
    let coldstart = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("coldstart");
    run(Command::new(coldstart)
        .arg(&bin_dir)
        .arg(effort.cold_starts)
        .arg(&coldstart_json)
        .env("COLDSTART_FUNCTIONS", FUNCTIONS.join(",")))?;
    let cold = read_json(&coldstart_json)?;

    let mut functions = Vec::new();
    for function in FUNCTIONS {
        let size = std::fs::metadata(bin_dir.join(function))
            .map_err(|e| format!("{function}: {e}"))?
            .len();
        let init = cold["cold_starts"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["function"] == function))
            .and_then(|row| row["init_median_ms"].as_f64());
        functions.push(json!({
            "function": function,
            "size_bytes": size,
            "init_median_ms": init,
            "request_median_ms": criterion_median_ms(&criterion, function)?,
        }));
    }
    Ok(json!({ "profile": profile, "build_seconds": build_seconds, "functions": functions }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, smoke) = match args.as_slice() {
        [out] => (PathBuf::from(out), false),
        [out, flag] if flag == "--smoke" => (PathBuf::from(out), true),
        _ => {
            eprintln!("usage: compare-profiles <json out> [--smoke]");
            return ExitCode::from(2);
        }
    };
    let (profiles, effort) = if smoke {
        (&[("dev", "smoke run: numbers mean nothing")][..], &SMOKE)
    } else {
        (&PROFILES[..], &FULL)
    };
    // Absolute: cargo runs the bench binary from its package folder.
    let Ok(work) = std::path::absolute(target_dir().join("bench/profiles")) else {
        eprintln!("compare-profiles: no current directory");
        return ExitCode::FAILURE;
    };
    let _ = std::fs::create_dir_all(&work);
    let mut results = Vec::new();
    for (profile, settings) in profiles {
        match measure(profile, &work, effort) {
            Ok(mut result) => {
                result["settings"] = (*settings).into();
                results.push(result);
            }
            Err(error) => {
                eprintln!("compare-profiles: {profile}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }

    println!(
        "\n| Profile | Function | Size (x86_64) | Init (median) | Handler (criterion median) |"
    );
    println!("|---|---|---|---|---|");
    for result in &results {
        for function in result["functions"].as_array().into_iter().flatten() {
            println!(
                "| {} | {} | {:.2} MB | {:.1} ms | {:.3} ms |",
                result["profile"].as_str().unwrap_or_default(),
                function["function"].as_str().unwrap_or_default(),
                function["size_bytes"].as_f64().unwrap_or(f64::NAN) / 1048576.0,
                function["init_median_ms"].as_f64().unwrap_or(f64::NAN),
                function["request_median_ms"].as_f64().unwrap_or(f64::NAN),
            );
        }
    }
    println!("\nBuild wall time of the three functions (dependencies included when not cached):");
    for result in &results {
        println!(
            "- {} ({}): {:.0} s",
            result["profile"].as_str().unwrap_or_default(),
            result["settings"].as_str().unwrap_or_default(),
            result["build_seconds"].as_f64().unwrap_or(f64::NAN)
        );
    }
    let report = json!({ "profiles": results });
    if let Err(error) = std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()) {
        eprintln!("compare-profiles: writing {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!("\n(JSON: {})", out.display());
    ExitCode::SUCCESS
}
