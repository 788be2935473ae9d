//! Everything the Lambda functions share: configuration, the user and product stores,
//! argon2id password hashing, EdDSA JWT issue and verification, HTTP error mapping and
//! response helpers, and reading the authorizer's principal from a request.

pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
pub mod hashing;
pub mod http;
pub mod keys;
pub mod lockout;
pub mod principal;
pub mod products;
pub mod refresh;
pub mod secrets;
pub mod telemetry;
pub mod tokens;
pub mod users;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
