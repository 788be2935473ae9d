//! What every function runs on, with no domain in it: settings read at cold start
//! ([`config`], [`secrets`]), logs and metrics ([`telemetry`], [`metrics`]), the time source
//! ([`clock`]), the MongoDB connection and the store error ([`database`]), the HTTP vocabulary
//! of responses, errors, request parsing and routing ([`http`]), and the Lambda event loop
//! ([`serve`]).
//!
//! Nothing here imports another folder of this crate: every other folder builds on it.

pub mod clock;
pub mod config;
#[cfg(feature = "database")]
pub mod database;
pub mod http;
pub mod metrics;
pub mod secrets;
pub mod serve;
pub mod telemetry;
