use lambda_http::{run, service_fn};
use shared::clock::Clock;
use shared::config::DatabaseSettings;
use shared::products::{CachedProductStore, MongoProductStore};
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
    let cache_ttl = or_exit(shared::products::cache_ttl(&env), "product cache");
    let database = or_exit(shared::db::connect(&settings).await, "database client");
    let (user_store, catalogue) = (
        MongoUserStore::with_settings(&database, &users_settings),
        CachedProductStore::new(
            MongoProductStore::new(&database),
            cache_ttl,
            Clock::system(),
        ),
    );

    let (user_store, catalogue) = (&user_store, &catalogue);
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(products::handle(user_store, catalogue, request).await)
    }))
    .await
}
