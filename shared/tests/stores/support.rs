//! Helpers for the store tests.

pub use shared::testing::{fresh_database, mongo_stores};

use shared::identity::credentials::Username;
use std::time::{Duration, SystemTime};

/// A valid username.
pub fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

/// A time with whole milliseconds, as BSON dates store them.
pub fn now() -> SystemTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}
