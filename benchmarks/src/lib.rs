//! The benchmarks' report: criterion's medians for each request and its floor, their ratio,
//! and the target each ratio is held to.

/// A request benchmark, its floor and the ratio target.
pub struct Pair {
    /// The criterion group (`authorizer`, `token`, …).
    pub group: &'static str,
    /// What the request is.
    pub request: &'static str,
    /// What the floor is.
    pub floor: &'static str,
    /// The largest acceptable request/floor ratio.
    pub target: f64,
}

/// Every pair `make bench` measures.
pub const PAIRS: [Pair; 7] = [
    Pair {
        group: "authorizer",
        request: "authorizer decision (header, verification, policy)",
        floor: "bare Ed25519 signature verification",
        target: 1.25,
    },
    Pair {
        group: "token",
        request: "/token handler, real database",
        floor: "one argon2id verification (default parameters)",
        target: 1.15,
    },
    Pair {
        group: "me",
        request: "/users/me handler, real database",
        floor: "one find_one round trip",
        target: 2.0,
    },
    Pair {
        group: "products",
        request: "/products handler, real database",
        floor: "one find_one round trip",
        target: 2.0,
    },
    Pair {
        group: "signup",
        request: "/signup handler, real database",
        floor: "one argon2id hash (default parameters)",
        target: 1.2,
    },
    Pair {
        group: "code-exchange",
        request: "/token authorization_code grant (access, RS256 id_token, refresh), real database",
        floor: "its six round trips and one RS256 signature",
        target: 1.15,
    },
    Pair {
        group: "authorize-page",
        request: "GET /authorize rendering the sign-in page, real database",
        floor: "one find_one round trip",
        target: 1.5,
    },
];

/// The median of `values` (the mean of the middle two for an even count); NaN when empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2.0
    } else {
        values[middle]
    }
}

/// A process's peak resident memory so far (`VmHWM` in `/proc/<pid>/status`), in KiB.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    #[test]
    fn this_process_has_a_peak_resident_size() {
        assert!(peak_rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
