//! The in-memory [`super::ProductStore`], with the MongoDB store's rules, for handler tests.

use crate::platform::database::StoreError;
use crate::products::{Product, ProductStore, sample_products};
use std::sync::{Arc, Mutex};

/// Products in memory, starting with the sample products; clones share them.
#[derive(Debug, Clone)]
pub struct MemoryProductStore(Arc<Mutex<std::collections::BTreeMap<String, Product>>>);

impl Default for MemoryProductStore {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(
            sample_products()
                .into_iter()
                .map(|product| (product.id.clone(), product))
                .collect(),
        )))
    }
}

impl ProductStore for MemoryProductStore {
    async fn list(&self) -> Result<Vec<Product>, StoreError> {
        Ok(self.0.lock().unwrap().values().cloned().collect())
    }

    async fn insert(&self, product: &Product) -> Result<bool, StoreError> {
        let mut products = self.0.lock().unwrap();
        if products.contains_key(&product.id) {
            return Ok(false);
        }
        products.insert(product.id.clone(), product.clone());
        Ok(true)
    }

    async fn replace(&self, product: &Product) -> Result<bool, StoreError> {
        let mut products = self.0.lock().unwrap();
        match products.get_mut(&product.id) {
            Some(stored) => {
                *stored = product.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.0.lock().unwrap().remove(id).is_some())
    }
}
