use lambda_http::{run, service_fn};
use shared::config::DatabaseSettings;
use shared::telemetry::or_exit;
use shared::users::{MongoUserStore, UserCollectionSettings};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let env = or_exit(shared::secrets::load(&["MONGODB_URI"]).await, "secrets");
    let settings = or_exit(DatabaseSettings::from_source(&env), "database settings");
    let users_settings = or_exit(
        UserCollectionSettings::from_source(&env),
        "users collection",
    );
    let database = or_exit(shared::db::connect(&settings).await, "database client");
    let store = MongoUserStore::with_settings(&database, &users_settings);

    let store = &store;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(me::handle(store, request).await)
    }))
    .await
}
