//! The product catalogue served by `GET /products`, and its idempotent seed.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoProductStore;

use crate::platform::clock::Clock;
use crate::platform::config::{ConfigError, Source, parsed_or};
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

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

/// Whether `id` can name a product: 1 to 64 characters of `a-z`, `0-9` and `-`, starting
/// with a letter or digit.
pub fn is_product_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// Where products live.
pub trait ProductStore: Send + Sync {
    /// Every product, ordered by id.
    fn list(&self) -> impl Future<Output = Result<Vec<Product>, StoreError>> + Send;

    /// Stores a new product. Returns false, storing nothing, when its id is taken.
    fn insert(&self, product: &Product) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the product with `product`'s id. Returns false when there is none.
    fn replace(&self, product: &Product) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the product `id`. Returns whether it existed.
    fn delete(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// How long one function instance reuses the catalogue it read (`PRODUCT_CACHE_SECONDS`,
/// default 60, at most 3600; 0 reads it on every request).
pub fn cache_ttl(source: &impl Source) -> Result<Duration, ConfigError> {
    let seconds: u64 = parsed_or(source, "PRODUCT_CACHE_SECONDS", 60)?;
    if seconds > 3600 {
        return Err(ConfigError::Invalid {
            var: "PRODUCT_CACHE_SECONDS",
            reason: "must be at most 3600 seconds".to_owned(),
        });
    }
    Ok(Duration::from_secs(seconds))
}

/// A [`ProductStore`] that keeps the last catalogue it read for `ttl`.
///
/// The catalogue is the same for every caller and changes rarely, while the account check in
/// front of it must stay fresh; caching it saves one database round trip per request. A
/// failed read is never cached, and a changed catalogue shows within `ttl`.
#[derive(Debug)]
pub struct CachedProductStore<S> {
    inner: S,
    ttl: Duration,
    clock: Clock,
    cached: Mutex<Option<(SystemTime, Vec<Product>)>>,
}

impl<S: ProductStore> CachedProductStore<S> {
    /// Caches `inner` for `ttl`, reading the time from `clock`.
    pub fn new(inner: S, ttl: Duration, clock: Clock) -> Self {
        Self {
            inner,
            ttl,
            clock,
            cached: Mutex::new(None),
        }
    }

    fn fresh(&self, now: SystemTime) -> Option<Vec<Product>> {
        let cached = self.cached.lock().expect("catalogue cache lock");
        let (read_at, products) = cached.as_ref()?;
        let age = now.duration_since(*read_at).ok()?;
        (age < self.ttl).then(|| products.clone())
    }
}

impl<S: ProductStore> ProductStore for CachedProductStore<S> {
    async fn list(&self) -> Result<Vec<Product>, StoreError> {
        let now = self.clock.now();
        if let Some(products) = self.fresh(now) {
            return Ok(products);
        }
        let products = self.inner.list().await?;
        *self.cached.lock().expect("catalogue cache lock") = Some((now, products.clone()));
        Ok(products)
    }

    /// Writes through, then forgets this instance's copy; other instances keep theirs for
    /// at most `ttl`.
    async fn insert(&self, product: &Product) -> Result<bool, StoreError> {
        let inserted = self.inner.insert(product).await;
        self.forget();
        inserted
    }

    async fn replace(&self, product: &Product) -> Result<bool, StoreError> {
        let replaced = self.inner.replace(product).await;
        self.forget();
        replaced
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.inner.delete(id).await;
        self.forget();
        deleted
    }
}

impl<S> CachedProductStore<S> {
    fn forget(&self) {
        *self.cached.lock().expect("catalogue cache lock") = None;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts reads; fails them while `failing` is set.
    #[derive(Default)]
    struct CountingStore {
        reads: AtomicUsize,
        failing: std::sync::atomic::AtomicBool,
    }

    impl ProductStore for &CountingStore {
        async fn list(&self) -> Result<Vec<Product>, StoreError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError(mongodb::error::Error::custom("down")));
            }
            Ok(sample_products())
        }

        async fn insert(&self, _: &Product) -> Result<bool, StoreError> {
            Ok(true)
        }

        async fn replace(&self, _: &Product) -> Result<bool, StoreError> {
            Ok(true)
        }

        async fn delete(&self, _: &str) -> Result<bool, StoreError> {
            Ok(true)
        }
    }

    #[tokio::test]
    async fn a_write_makes_the_next_read_fresh() {
        let (inner, clock) = (CountingStore::default(), ManualClock::default());
        let store = CachedProductStore::new(&inner, Duration::from_secs(60), clock.clock());
        store.list().await.unwrap();
        store.delete("prod-001").await.unwrap();
        store.list().await.unwrap();
        assert_eq!(inner.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn the_catalogue_is_read_once_per_ttl() {
        let (inner, clock) = (CountingStore::default(), ManualClock::default());
        let store = CachedProductStore::new(&inner, Duration::from_secs(60), clock.clock());

        assert_eq!(store.list().await.unwrap(), sample_products());
        clock.advance(Duration::from_secs(59));
        assert_eq!(store.list().await.unwrap(), sample_products());
        assert_eq!(inner.reads.load(Ordering::SeqCst), 1);

        clock.advance(Duration::from_secs(1));
        store.list().await.unwrap();
        assert_eq!(inner.reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_cached_and_a_zero_ttl_never_caches() {
        let (inner, clock) = (CountingStore::default(), ManualClock::default());
        inner.failing.store(true, Ordering::SeqCst);
        let store = CachedProductStore::new(&inner, Duration::from_secs(60), clock.clock());
        assert!(store.list().await.is_err());
        inner.failing.store(false, Ordering::SeqCst);
        assert_eq!(store.list().await.unwrap(), sample_products());
        assert_eq!(inner.reads.load(Ordering::SeqCst), 2);

        let uncached = CachedProductStore::new(&inner, Duration::ZERO, clock.clock());
        uncached.list().await.unwrap();
        uncached.list().await.unwrap();
        assert_eq!(inner.reads.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn the_cache_setting_defaults_to_a_minute_and_is_bounded() {
        assert_eq!(cache_ttl(&[("X", "")]).unwrap(), Duration::from_secs(60));
        assert_eq!(
            cache_ttl(&[("PRODUCT_CACHE_SECONDS", "0")]).unwrap(),
            Duration::ZERO
        );
        assert!(cache_ttl(&[("PRODUCT_CACHE_SECONDS", "3601")]).is_err());
        assert!(cache_ttl(&[("PRODUCT_CACHE_SECONDS", "soon")]).is_err());
    }
}
