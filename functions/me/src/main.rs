use lambda_http::{run, service_fn};
use shared::config::{DatabaseSettings, ProcessEnv};
use shared::telemetry::or_exit;
use shared::users::MongoUserStore;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let settings = or_exit(
        DatabaseSettings::from_source(&ProcessEnv),
        "database settings",
    );
    let database = or_exit(shared::db::connect(&settings).await, "database client");
    let store = MongoUserStore::new(&database);

    let store = &store;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(me::handle(store, request).await)
    }))
    .await
}
