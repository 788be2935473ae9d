//! The product catalogue served by `GET /products`, and its idempotent seed.

use crate::db::StoreError;
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::UpdateOptions;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use std::future::Future;

/// The collection that holds products.
pub const PRODUCTS_COLLECTION: &str = "products";

/// One product, as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Stable product id (the document `_id`).
    #[serde(rename(serialize = "id", deserialize = "_id"))]
    pub id: String,
    /// Display name.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Price in the smallest currency unit, so no rounding ever happens.
    pub price_cents: i64,
    /// ISO 4217 currency code.
    pub currency: String,
}

/// Where products live.
pub trait ProductStore: Send + Sync {
    /// Every product, ordered by id.
    fn list(&self) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;
}

/// Products in a MongoDB collection.
#[derive(Debug, Clone)]
pub struct MongoProductStore {
    products: Collection<mongodb::bson::Document>,
}

impl MongoProductStore {
    /// The store on `database`'s `products` collection.
    pub fn new(database: &Database) -> Self {
        Self {
            products: database.collection(PRODUCTS_COLLECTION),
        }
    }

    /// Inserts or refreshes the sample products by id; running it again changes nothing.
    pub async fn seed(&self) -> Result<usize, StoreError> {
        let upsert = UpdateOptions::builder().upsert(true).build();
        for product in sample_products() {
            let fields = doc! {
                "name": &product.name,
                "description": &product.description,
                "price_cents": product.price_cents,
                "currency": &product.currency,
            };
            self.products
                .update_one(doc! { "_id": &product.id }, doc! { "$set": fields })
                .with_options(upsert.clone())
                .await?;
        }
        Ok(sample_products().len())
    }
}

impl ProductStore for MongoProductStore {
    async fn list(&self) -> Result<Vec<Product>, StoreError> {
        let cursor = self
            .products
            .clone_with_type::<Product>()
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await?;
        Ok(cursor.try_collect().await?)
    }
}

/// The products the seed step inserts.
pub fn sample_products() -> Vec<Product> {
    let product = |id: &str, name: &str, description: &str, price_cents| Product {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        price_cents,
        currency: "USD".to_owned(),
    };
    vec![
        product(
            "prod-001",
            "Mechanical keyboard",
            "Tenkeyless, hot-swappable switches",
            8900,
        ),
        product(
            "prod-002",
            "USB-C hub",
            "Seven ports, 100 W pass-through charging",
            3450,
        ),
        product(
            "prod-003",
            "Noise-cancelling headphones",
            "Over-ear, 30 hours of battery",
            19900,
        ),
        product(
            "prod-004",
            "Standing desk mat",
            "Anti-fatigue foam, 90 x 50 cm",
            4500,
        ),
    ]
}
