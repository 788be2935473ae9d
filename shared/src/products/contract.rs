//! The contract cases every implementation of this store keeps: each runs against the
//! in-memory fake (`contract::in_memory::…`) and MongoDB (`contract::live::…`).

use crate::products::{ProductStore, sample_products};
use crate::testing::contract::*;

crate::testing::contract::contract!(
    the_catalogue_is_the_sample_products,
    ten_concurrent_creations_of_one_product_store_one_and_writes_need_the_product,
);

async fn the_catalogue_is_the_sample_products(stores: impl Shared) {
    let products = stores.products().list().await.unwrap();
    assert_eq!(products, sample_products());
}

async fn ten_concurrent_creations_of_one_product_store_one_and_writes_need_the_product(
    stores: impl Shared,
) {
    let product = |price_cents| crate::products::Product {
        id: "prod-contract".to_owned(),
        name: "Contract".to_owned(),
        description: String::new(),
        price_cents,
        currency: "EUR".to_owned(),
    };
    let attempts: Vec<_> = (0..10)
        .map(|price| {
            let stores = stores.clone();
            tokio::spawn(async move { stores.products().insert(&product(price)).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    for attempt in attempts {
        created += usize::from(attempt.await.unwrap());
    }
    assert_eq!(created, 1, "one of ten concurrent creations");
    let products = stores.products();
    assert!(products.replace(&product(4200)).await.unwrap());
    let listed = products.list().await.unwrap();
    let stored = listed.iter().find(|p| p.id == "prod-contract").unwrap();
    assert_eq!(stored, &product(4200));
    assert!(products.delete("prod-contract").await.unwrap());
    assert!(!products.delete("prod-contract").await.unwrap());
    assert!(
        !products.replace(&product(1)).await.unwrap(),
        "replace never creates"
    );
    assert_eq!(products.list().await.unwrap(), sample_products());
}
