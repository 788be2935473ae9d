use lambda_http::{run, service_fn};
use shared::clock::Clock;
use shared::config::DatabaseSettings;
use shared::hashing::{HashingParams, PasswordHasher};
use shared::lockout::MongoLoginAttempts;
use shared::refresh::MongoRefreshTokenStore;
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
    let params = or_exit(HashingParams::from_source(&env), "hashing settings");
    let hasher = or_exit(PasswordHasher::new(params), "hasher");
    let database = or_exit(shared::db::connect(&settings).await, "database client");
    let service = account::AccountService {
        store: MongoUserStore::with_settings(&database, &users_settings),
        attempts: MongoLoginAttempts::new(&database),
        refresh_tokens: MongoRefreshTokenStore::new(&database),
        hasher,
        clock: Clock::system(),
    };

    let service = &service;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(account::handle(service, request).await)
    }))
    .await
}
