//! The benchmarks' report: criterion's medians for each request and its floor, their ratio,
//! and the target each ratio is held to (issue 6).

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
pub const PAIRS: [Pair; 5] = [
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
];
