//! Databases on a real MongoDB-compatible server (`MONGODB_TEST_URI`) for integration tests.

use crate::identity::users::UserCollectionSettings;
use crate::platform::database::DatabaseSettings;
use crate::stores::MongoStores;

/// A new, uniquely named database on the test server.
pub async fn fresh_database() -> mongodb::Database {
    crate::platform::database::connect(&test_database_settings())
        .await
        .expect("client")
}

/// Every store on a new database, with the indexes the deploy step creates and the product
/// catalogue seeded.
pub async fn mongo_stores() -> (mongodb::Database, MongoStores) {
    let database = fresh_database().await;
    let stores = MongoStores::new(&database, &UserCollectionSettings::default());
    stores.ensure_indexes().await.expect("indexes");
    stores.products.seed().await.expect("products seed");
    (database, stores)
}

/// Every document of `collection` ordered by `_id`: a snapshot to compare before and after a
/// request that must store nothing.
pub async fn all_documents(
    database: &mongodb::Database,
    collection: &str,
) -> Vec<mongodb::bson::Document> {
    use futures_util::TryStreamExt;
    database
        .collection::<mongodb::bson::Document>(collection)
        .find(mongodb::bson::doc! {})
        .sort(mongodb::bson::doc! { "_id": 1 })
        .await
        .expect("find")
        .try_collect()
        .await
        .expect("find cursor")
}

/// The index of `collection` whose keys are exactly `keys`; panics naming them when none is.
pub async fn index_on(
    database: &mongodb::Database,
    collection: &str,
    keys: mongodb::bson::Document,
) -> mongodb::IndexModel {
    use futures_util::TryStreamExt;
    let indexes: Vec<mongodb::IndexModel> = database
        .collection::<mongodb::bson::Document>(collection)
        .list_indexes()
        .await
        .expect("listIndexes")
        .try_collect()
        .await
        .expect("listIndexes cursor");
    indexes
        .into_iter()
        .find(|index| index.keys == keys)
        .unwrap_or_else(|| panic!("no index on {keys} in {collection}"))
}

/// Settings for a new, uniquely named database on the server in `MONGODB_TEST_URI`.
///
/// Panics with instructions when no server is configured: integration tests never skip.
pub fn test_database_settings() -> DatabaseSettings {
    let uri = std::env::var("MONGODB_TEST_URI").unwrap_or_else(|_| {
        panic!(
            "MONGODB_TEST_URI is not set. These tests need a MongoDB-compatible server: run \
             `make test` (it installs and starts one), or start one yourself and export \
             MONGODB_TEST_URI=mongodb://127.0.0.1:27017"
        )
    });
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    DatabaseSettings { uri, name }
}
