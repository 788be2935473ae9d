//! The product catalogue: `GET /products` for every enabled account and machine client, and
//! `POST /products`, `PUT /products/{id}`, `DELETE /products/{id}` for callers whose token
//! carries `products:write` (the authorizer enforces the scope, as `openapi.yaml` declares it).
//!
//! Each instance keeps the catalogue it read for `PRODUCT_CACHE_SECONDS`: a write clears the
//! copy of the instance that made it, and the others show it within that time.

mod catalogue_writes;

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::access::roles::Roles;
use shared::edge::principal::authenticated_caller;
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{ApiError, Route, json_response, not_found, route};
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
    /// The scopes each role grants now (`ROLES`), which a token's scopes must not exceed.
    pub roles: Roles,
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
            roles: Roles::from_source(env)?,
        })
    }
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The whole catalogue.
    List,
    /// A new product.
    Create,
    /// A product's fields replaced.
    Replace,
    /// A product removed.
    Delete,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 4] = [
    (Route::get("/products"), Endpoint::List),
    (Route::post("/products"), Endpoint::Create),
    (Route::put("/products/{id}"), Endpoint::Replace),
    (Route::delete("/products/{id}"), Endpoint::Delete),
];

/// Handles one request; any route but this function's is a `404`. Every outcome is a
/// response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let Some(endpoint) = route(&request, &ROUTES) else {
        return not_found(&request);
    };
    let caller = match authenticated_caller(
        &state.stores,
        &state.roles,
        &request,
        state.clock.now(),
    )
    .await
    {
        Ok(user) => user,
        Err(error) => return error.into_response(),
    };
    let outcome = match endpoint {
        Endpoint::List => list(state).await,
        Endpoint::Create => catalogue_writes::create(state, &caller, &request).await,
        Endpoint::Replace => catalogue_writes::replace(state, &caller, &request).await,
        Endpoint::Delete => catalogue_writes::delete(state, &caller, &request).await,
    };
    outcome.unwrap_or_else(ApiError::into_response)
}

async fn list<S: Stores>(state: &State<S>) -> Result<Response<Body>, ApiError> {
    let products = state
        .catalogue
        .list()
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "products": products }),
    ))
}
