use lambda_http::{run, service_fn};
use shared::clock::Clock;
use shared::config::DatabaseSettings;
use shared::hashing::{HashingParams, PasswordHasher};
use shared::lockout::MongoLoginAttempts;
use shared::refresh::MongoRefreshTokenStore;
use shared::telemetry::or_exit;
use shared::tokens::TokenIssuer;
use shared::users::{MongoUserStore, UserCollectionSettings};
use std::convert::Infallible;
use token::TokenService;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let env = or_exit(
        shared::secrets::load(&["MONGODB_URI", "JWT_PRIVATE_KEY"]).await,
        "secrets",
    );
    let settings = or_exit(DatabaseSettings::from_source(&env), "database settings");
    let users_settings = or_exit(
        UserCollectionSettings::from_source(&env),
        "users collection",
    );
    let params = or_exit(HashingParams::from_source(&env), "hashing settings");
    let hasher = or_exit(PasswordHasher::new(params), "hasher");
    let issuer = or_exit(TokenIssuer::from_source(&env), "signing key");
    let database = or_exit(shared::db::connect(&settings).await, "database client");
    let attempts = MongoLoginAttempts::new(&database);
    if let Err(error) = attempts.ensure_indexes().await {
        // Locks still work without it; only the clean-up of old counters waits.
        tracing::warn!(%error, "could not ensure the login_failures TTL index");
    }
    let refresh_tokens = MongoRefreshTokenStore::new(&database);
    if let Err(error) = refresh_tokens.ensure_indexes().await {
        tracing::warn!(%error, "could not ensure the refresh_tokens indexes");
    }
    let service = TokenService {
        store: MongoUserStore::with_settings(&database, &users_settings),
        attempts,
        refresh_tokens,
        hasher,
        issuer,
        clock: Clock::system(),
    };

    let service = &service;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(token::handle(service, request).await)
    }))
    .await
}
