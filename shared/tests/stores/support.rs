//! Helpers for the store tests.

use shared::credentials::Username;
use shared::stores::MongoStores;
use shared::testing::test_database_settings;
use shared::users::UserCollectionSettings;
use std::time::{Duration, SystemTime};

/// A valid username.
pub fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

/// A time with whole milliseconds, as BSON dates store them.
pub fn now() -> SystemTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}

/// A new, uniquely named database on the test server.
pub async fn fresh_database() -> mongodb::Database {
    shared::db::connect(&test_database_settings())
        .await
        .expect("client")
}

/// Every store on a new database, with the indexes the functions create at cold start and
/// the product catalogue seeded.
pub async fn mongo_stores() -> (mongodb::Database, MongoStores) {
    let database = fresh_database().await;
    let stores = MongoStores::new(&database, &UserCollectionSettings::default());
    stores.users.ensure_indexes().await.expect("users index");
    stores
        .login_failures
        .ensure_indexes()
        .await
        .expect("login_failures index");
    stores
        .refresh_tokens
        .ensure_indexes()
        .await
        .expect("refresh_tokens indexes");
    stores.products.seed().await.expect("products seed");
    (database, stores)
}
