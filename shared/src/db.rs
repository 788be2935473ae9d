//! The MongoDB connection, made once per execution environment and reused by every request.

use crate::config::DatabaseSettings;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use std::time::Duration;

/// How long an operation waits for a usable server before failing; far below the Lambda
/// timeout so a database outage is answered with an error instead of a gateway timeout.
const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening one connection may take (the driver's default is 10 s).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A storage failure that is not the caller's fault. Handlers log it and answer 5xx.
#[derive(Debug, thiserror::Error)]
#[error("database error: {0}")]
pub struct StoreError(#[from] pub(crate) mongodb::error::Error);

impl StoreError {
    /// Whether the database could not be reached (no server selectable, network failure):
    /// a temporary condition answered with 503, not a bug.
    pub fn is_unavailable(&self) -> bool {
        use mongodb::error::ErrorKind;
        matches!(
            self.0.kind.as_ref(),
            ErrorKind::ServerSelection { .. }
                | ErrorKind::Io(_)
                | ErrorKind::ConnectionPoolCleared { .. }
                | ErrorKind::DnsResolve { .. }
        )
    }
}

/// Connects lazily to `settings.uri` and returns its database. The driver opens connections
/// on first use, so a cold start does not wait for the network.
pub async fn connect(settings: &DatabaseSettings) -> Result<Database, StoreError> {
    let mut options = ClientOptions::parse(&settings.uri).await?;
    options
        .app_name
        .get_or_insert_with(|| "lambda-auth".to_owned());
    options
        .server_selection_timeout
        .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
    options
        .connect_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT);
    let client = Client::with_options(options)?;
    Ok(client.database(&settings.name))
}

/// Whether `error` is MongoDB's duplicate-key error (code 11000), however it was reported.
pub(crate) fn is_duplicate_key(error: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    const DUPLICATE_KEY: i32 = 11000;
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}
