//! `bench-report [criterion dir] [json out]`: reads criterion's estimates for every pair in
//! `benchmarks::PAIRS`, prints a Markdown table (medians, ratio, target, met or missed) and
//! writes the same as JSON. Exits non-zero when an estimate is missing or malformed.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn median_ns(criterion: &Path, group: &str, bench: &str) -> Result<f64, String> {
    let path = criterion.join(group).join(bench).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let estimates: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{}: no median", path.display()))
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let target_dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    let criterion = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&target_dir).join("criterion"));
    let out = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&target_dir).join("bench/requests.json"));

    let mut rows = Vec::new();
    println!("| Request | Median | Floor | Median | Ratio | Target | |");
    println!("|---|---|---|---|---|---|---|");
    for pair in benchmarks::PAIRS {
        let measured = median_ns(&criterion, pair.group, "request")
            .and_then(|request| Ok((request, median_ns(&criterion, pair.group, "floor")?)));
        let (request, floor) = match measured {
            Ok(medians) => medians,
            Err(error) => {
                eprintln!("bench-report: {error}");
                return ExitCode::FAILURE;
            }
        };
        let ratio = request / floor;
        let met = ratio <= pair.target;
        println!(
            "| {} | {} | {} | {} | {ratio:.2} | ≤ {:.2} | {} |",
            pair.request,
            human(request),
            pair.floor,
            human(floor),
            pair.target,
            if met { "met" } else { "missed" }
        );
        rows.push(json!({
            "group": pair.group,
            "request": pair.request,
            "request_median_ns": request,
            "floor": pair.floor,
            "floor_median_ns": floor,
            "ratio": ratio,
            "target": pair.target,
            "met": met,
        }));
    }
    let report = json!({ "benchmarks": rows });
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(error) = std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap()) {
        eprintln!("bench-report: writing {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!("\n(JSON: {})", out.display());
    ExitCode::SUCCESS
}
