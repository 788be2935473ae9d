//! The cold start every function shares: JSON logs, then the configuration with its secrets
//! resolved, then (for the functions that use it) the database and its stores. A step that
//! fails logs what failed and exits, so Lambda reports an init error instead of serving
//! requests with a half-built function.

use crate::platform::secrets::ResolvedEnv;
use crate::platform::telemetry::or_exit;

/// What a database-using function has once its cold start is done.
#[cfg(feature = "database")]
#[derive(Debug)]
pub struct DatabaseStart {
    /// The environment, with `MONGODB_URI` and the other requested secrets resolved.
    pub env: ResolvedEnv,
    /// Every store, on the configured database and users collection.
    pub stores: crate::stores::MongoStores,
}

/// Starts a function that needs no database: logs, then `secrets` resolved (see
/// [`crate::platform::secrets::load`]).
pub async fn without_database(secrets: &[&'static str]) -> ResolvedEnv {
    crate::platform::telemetry::init();
    or_exit(crate::platform::secrets::load(secrets).await, "secrets")
}

/// Starts a function that uses the database: logs, `MONGODB_URI` and `more_secrets`
/// resolved, the database settings and users collection read, and the client made (it
/// connects on first use, so the cold start does not wait for the network).
#[cfg(feature = "database")]
pub async fn with_database(more_secrets: &[&'static str]) -> DatabaseStart {
    use crate::identity::users::UserCollectionSettings;
    use crate::platform::database::DatabaseSettings;

    let secrets: Vec<&'static str> = std::iter::once("MONGODB_URI")
        .chain(more_secrets.iter().copied())
        .collect();
    let env = without_database(&secrets).await;
    let settings = or_exit(DatabaseSettings::from_source(&env), "database settings");
    let users = or_exit(
        UserCollectionSettings::from_source(&env),
        "users collection",
    );
    let retention = or_exit(
        crate::identity::account_events::retention_from(&env),
        "security event retention",
    );
    let database = or_exit(
        crate::platform::database::connect(&settings).await,
        "database client",
    );
    let mut stores = crate::stores::MongoStores::new(&database, &users);
    stores.events = stores.events.with_retention(retention);
    DatabaseStart { stores, env }
}
