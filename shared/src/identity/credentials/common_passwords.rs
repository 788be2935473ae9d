//! The common-password list shipped in `shared/data` (source and licence in its README).

use std::collections::HashSet;
use std::sync::LazyLock;

static LIST: &str = include_str!("../../../data/common-passwords.txt");

static SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| LIST.lines().collect());

/// Whether `caseless_password` (already case-folded) is on the list.
pub(super) fn contains(caseless_password: &str) -> bool {
    SET.contains(caseless_password)
}

/// How many passwords the list holds.
#[cfg(test)]
pub(super) fn len() -> usize {
    SET.len()
}
