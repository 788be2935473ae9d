//! `GET /products`: the product catalogue, for enabled accounts only.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::Clock;
use shared::config::{ConfigError, Source};
use shared::http::{ApiError, Route, json_response, not_found, route};
use shared::principal::authenticated_user;
use shared::products::{CachedProductStore, ProductStore};
use shared::stores::Stores;

/// What the products function needs, built once per execution environment.
pub struct State<S: Stores> {
    /// Accounts (checked on every request) and the catalogue.
    pub stores: S,
    /// The catalogue, kept by this instance for `PRODUCT_CACHE_SECONDS`.
    pub catalogue: CachedProductStore<S::Products>,
    /// The time an access token's expiry is checked against.
    pub clock: Clock,
}

impl<S: Stores> State<S> {
    /// The state with the catalogue cache of `PRODUCT_CACHE_SECONDS`, timed by `clock`.
    pub fn new(env: &impl Source, stores: S, clock: Clock) -> Result<Self, ConfigError> {
        let ttl = shared::products::cache_ttl(env)?;
        let catalogue = CachedProductStore::new(stores.products().clone(), ttl, clock.clone());
        Ok(Self {
            stores,
            catalogue,
            clock,
        })
    }
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, ()); 1] = [(Route::get("/products"), ())];

/// Handles one request: `{"products":[...]}` ordered by id.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    if let Err(error) = authenticated_user(state.stores.users(), &request, state.clock.now()).await
    {
        return error.into_response();
    }
    match state.catalogue.list().await {
        Ok(products) => json_response(StatusCode::OK, &json!({ "products": products })),
        Err(error) => ApiError::from_store(&error).into_response(),
    }
}
