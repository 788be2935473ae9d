//! The MongoDB implementation of [`super::ProductStore`].

use super::*;
use crate::platform::database::StoreError;
use futures_util::TryStreamExt;
use mongodb::bson::doc;
use mongodb::options::UpdateOptions;
use mongodb::{Collection, Database};

fn product_fields(product: &Product) -> mongodb::bson::Document {
    doc! {
        "name": &product.name,
        "description": &product.description,
        "price_cents": product.price_cents,
        "currency": &product.currency,
    }
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
            let fields = product_fields(&product);
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

    async fn insert(&self, product: &Product) -> Result<bool, StoreError> {
        let mut document = product_fields(product);
        document.insert("_id", &product.id);
        match self.products.insert_one(document).await {
            Ok(_) => Ok(true),
            Err(error) if crate::platform::database::is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn replace(&self, product: &Product) -> Result<bool, StoreError> {
        let replaced = self
            .products
            .replace_one(doc! { "_id": &product.id }, product_fields(product))
            .await?;
        Ok(replaced.matched_count == 1)
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.products.delete_one(doc! { "_id": id }).await?;
        Ok(deleted.deleted_count == 1)
    }
}
