//! The MongoDB connection, made once per execution environment and reused by every request.
//!
//! Every write is acknowledged only once a majority of the replica set has it in its journal
//! (`w: majority, j: true`), set here in code whatever the connection string or the
//! cluster's default says: a revocation, a token-version bump, a spent code or a lockout
//! claim that was acknowledged survives a primary's crash or failover. Reads keep the default
//! (`local`) concern: every decision that lets a caller in is taken by a conditional write
//! (a claim, a rotation, a redemption, a versioned update), and a read that sees a write not
//! yet on a majority can only make a check stricter (a bump, a revocation, a spent code);
//! majority reads cost about 3 ms per `/token` on the local server for no added guarantee.

use crate::platform::config::{ConfigError, Source, required};
use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
use mongodb::{Client, Database};
use std::time::Duration;

/// How long an operation waits for a usable server before failing; far below the Lambda
/// timeout so a database outage is answered with an error instead of a gateway timeout.
const DEFAULT_SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening one connection may take (the driver's default is 10 s).
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections one execution environment keeps (the driver's default is 10). An environment
/// serves one request at a time and each request makes at most two concurrent round trips,
/// so more only multiplies the cluster's connections by the number of environments.
const DEFAULT_MAX_POOL_SIZE: u32 = 2;

/// How long an unused connection is kept. A frozen environment's connections go stale
/// (NAT gateways drop idle flows after 350 s, Atlas closes them after a while): closing them
/// first spares the next request a dead socket.
const DEFAULT_MAX_IDLE_TIME: Duration = Duration::from_secs(60);

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
/// on first use, so a cold start does not wait for the network. Timeouts, pool size and idle
/// time have Lambda-sized defaults; the URI's own options (`maxPoolSize=…`) win.
pub async fn connect(settings: &DatabaseSettings) -> Result<Database, StoreError> {
    let options = client_options(&settings.uri).await?;
    let client = Client::with_options(options)?;
    Ok(client.database(&settings.name))
}

/// The write concern of every write: a majority, journaled.
pub fn durable_writes() -> WriteConcern {
    WriteConcern::builder()
        .w(Acknowledgment::Majority)
        .journal(true)
        .build()
}

/// What in a connection string's write concern is weaker than [`durable_writes`], if
/// anything: no acknowledgment or the primary's alone (`w=0`, `w=1`), or no journal.
fn weaker_than_durable(asked: &WriteConcern) -> Option<String> {
    let mut weaker = Vec::new();
    if let Some(Acknowledgment::Nodes(nodes @ (0 | 1))) = &asked.w {
        weaker.push(format!("w={nodes}"));
    }
    if asked.journal == Some(false) {
        weaker.push("journal=false".to_owned());
    }
    (!weaker.is_empty()).then(|| weaker.join(", "))
}

/// The options of `uri` with this project's defaults for what it leaves unset, and the
/// durable write concern whatever it says (a weaker setting is logged once).
async fn client_options(uri: &str) -> Result<ClientOptions, StoreError> {
    let mut options = ClientOptions::parse(uri).await?;
    if let Some(weaker) = options.write_concern.as_ref().and_then(weaker_than_durable) {
        tracing::warn!(
            asked = %weaker,
            "the connection string asks for a weaker write concern; writes use w=majority, j=true regardless"
        );
    }
    options.write_concern = Some(durable_writes());
    options
        .app_name
        .get_or_insert_with(|| "lambda-auth".to_owned());
    options
        .server_selection_timeout
        .get_or_insert(DEFAULT_SERVER_SELECTION_TIMEOUT);
    options
        .connect_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT);
    options.max_pool_size.get_or_insert(DEFAULT_MAX_POOL_SIZE);
    options.max_idle_time.get_or_insert(DEFAULT_MAX_IDLE_TIME);
    Ok(options)
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

/// The TTL index every expiring collection has: a document goes once its `expires_at` has
/// passed (MongoDB's monitor runs about once a minute).
pub fn expiry_index() -> mongodb::IndexModel {
    mongodb::IndexModel::builder()
        .keys(mongodb::bson::doc! { "expires_at": 1 })
        .options(
            mongodb::options::IndexOptions::builder()
                .expire_after(std::time::Duration::ZERO)
                .name("expires_at_ttl".to_owned())
                .build(),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lambda_sized_defaults_apply_unless_the_uri_sets_its_own() {
        let defaults = client_options("mongodb://127.0.0.1:27017").await.unwrap();
        assert_eq!(defaults.max_pool_size, Some(DEFAULT_MAX_POOL_SIZE));
        assert_eq!(defaults.max_idle_time, Some(DEFAULT_MAX_IDLE_TIME));
        assert_eq!(
            defaults.server_selection_timeout,
            Some(DEFAULT_SERVER_SELECTION_TIMEOUT)
        );
        assert_eq!(defaults.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(defaults.write_concern, Some(durable_writes()));
        let uri = "mongodb://127.0.0.1:27017/?maxPoolSize=7&maxIdleTimeMS=5000&serverSelectionTimeoutMS=900";
        let own = client_options(uri).await.unwrap();
        assert_eq!(own.max_pool_size, Some(7));
        assert_eq!(own.max_idle_time, Some(Duration::from_secs(5)));
        assert_eq!(
            own.server_selection_timeout,
            Some(Duration::from_millis(900))
        );
    }

    #[tokio::test]
    async fn a_weaker_write_concern_in_the_uri_is_named_and_overridden() {
        for (uri, weaker) in [
            ("mongodb://h/?w=1", Some("w=1")),
            (
                "mongodb://h/?w=majority&journal=false",
                Some("journal=false"),
            ),
            ("mongodb://h/?w=0&journal=false", Some("w=0, journal=false")),
            ("mongodb://h/?w=3", None),
            ("mongodb://h/?w=majority", None),
            ("mongodb://h/", None),
        ] {
            let asked = ClientOptions::parse(uri).await.unwrap().write_concern;
            assert_eq!(
                asked.as_ref().and_then(weaker_than_durable).as_deref(),
                weaker,
                "{uri}"
            );
            let options = client_options(uri).await.unwrap();
            assert_eq!(options.write_concern, Some(durable_writes()), "{uri}");
        }
    }
}

/// Where the user and product collections live.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A MongoDB connection string (`MONGODB_URI`); a real MongoDB, Atlas or a compatible server.
    pub uri: String,
    /// The database name (`DB_NAME`, default `lambda_auth`).
    pub name: String,
}

impl DatabaseSettings {
    /// Reads `MONGODB_URI` (required) and `DB_NAME`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            uri: required(source, "MONGODB_URI")?,
            name: source
                .get("DB_NAME")
                .unwrap_or_else(|| "lambda_auth".to_owned()),
        })
    }
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn missing_database_uri_is_named() {
        let error = DatabaseSettings::from_source(&[("DB_NAME", "x")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable MONGODB_URI is required but not set"
        );
    }
}
