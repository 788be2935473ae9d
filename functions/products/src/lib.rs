//! `GET /products`: the product catalogue, for enabled accounts only.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{ApiError, json_response};
use shared::principal::authenticated_user;
use shared::products::ProductStore;
use shared::users::UserStore;

/// Handles one request: `{"products":[...]}` ordered by id.
pub async fn handle(
    users: &impl UserStore,
    products: &impl ProductStore,
    request: Request,
) -> Response<Body> {
    if let Err(error) = authenticated_user(users, &request).await {
        return error.into_response();
    }
    match products.list().await {
        Ok(products) => json_response(StatusCode::OK, &json!({ "products": products })),
        Err(error) => ApiError::from_store(&error).into_response(),
    }
}
