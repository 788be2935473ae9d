//! Structured JSON logs on stdout, which Lambda ships to CloudWatch. The level comes from
//! `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber once, at cold start.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map(|level| EnvFilter::new(level.to_lowercase()))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .flatten_event(true)
        .without_time()
        .init();
}

/// Unwraps a cold-start step, or logs what failed and exits so Lambda reports an init error
/// instead of serving requests with a half-built function.
pub fn or_exit<T, E: std::fmt::Display>(result: Result<T, E>, step: &str) -> T {
    result.unwrap_or_else(|error| {
        tracing::error!(%error, step, "cold start failed");
        std::process::exit(1)
    })
}
