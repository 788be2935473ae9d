//! Creating, replacing and deleting products. Each write is logged with who made it
//! (`product_created`, `product_replaced`, `product_deleted`).

use crate::State;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::{Map, Value};
use shared::edge::principal::Caller;
use shared::platform::http::{ApiError, body_text, has_content_type, json_object, json_response};
use shared::products::{Product, ProductStore, is_product_id};
use shared::stores::Stores;

/// The longest product name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The highest price in the smallest currency unit (a billion in the main unit).
pub const MAX_PRICE_CENTS: i64 = 100_000_000_000;

const NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "product_not_found",
    message: "no product has this id",
};

/// `POST /products`: `201` with the product and its `Location`; `409 product_exists` when
/// the id is taken.
pub(crate) async fn create<S: Stores>(
    state: &State<S>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let fields = body_fields(request)?;
    let id = match fields.get("id") {
        None | Some(Value::Null) => generated_id(),
        Some(Value::String(id)) if is_product_id(id) => id.clone(),
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "id",
                message: "id must be 1 to 64 characters of a-z, 0-9 and -, starting with a letter or digit".to_owned(),
            });
        }
    };
    let product = product_from(id, &fields, &["id"])?;
    let inserted = state
        .catalogue
        .insert(&product)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !inserted {
        return Err(ApiError::Conflict {
            code: "product_exists",
            message: "a product with this id exists; PUT /products/{id} changes it",
        });
    }
    tracing::info!(action = "product_created", actor = caller.id(), product = %product.id, "catalogue changed");
    let mut response = json_response(StatusCode::CREATED, &product);
    if let Ok(location) = format!("/products/{}", product.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PUT /products/{id}`: replaces every field; `200` with the product, `404
/// product_not_found` when there is none.
pub(crate) async fn replace<S: Stores>(
    state: &State<S>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let id = path_id(request).ok_or(NOT_FOUND)?;
    let fields = body_fields(request)?;
    let product = product_from(id, &fields, &[])?;
    let replaced = state
        .catalogue
        .replace(&product)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !replaced {
        return Err(NOT_FOUND);
    }
    tracing::info!(action = "product_replaced", actor = caller.id(), product = %product.id, "catalogue changed");
    Ok(json_response(StatusCode::OK, &product))
}

/// `DELETE /products/{id}`: `204`, or `404 product_not_found`.
pub(crate) async fn delete<S: Stores>(
    state: &State<S>,
    caller: &Caller,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let id = path_id(request).ok_or(NOT_FOUND)?;
    let deleted = state
        .catalogue
        .delete(&id)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if !deleted {
        return Err(NOT_FOUND);
    }
    tracing::info!(action = "product_deleted", actor = caller.id(), product = %id, "catalogue changed");
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

fn path_id(request: &Request) -> Option<String> {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .filter(|id| is_product_id(id))
        .map(str::to_owned)
}

fn generated_id() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("prod-{}", &random[..12])
}

fn body_fields(request: &Request) -> Result<Map<String, Value>, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    json_object(body_text(request)?)
}

/// The product `id` with the fields of `body`: `name` (1 to [`MAX_NAME_CHARS`] characters,
/// no control characters, trimmed), `description` (optional, at most
/// [`MAX_DESCRIPTION_CHARS`]), `price_cents` (an integer from 0 to [`MAX_PRICE_CENTS`]) and
/// `currency` (three capital letters, ISO 4217). Any other field than these and `extra` is
/// refused, so a misspelt one is never silently dropped.
fn product_from(
    id: String,
    body: &Map<String, Value>,
    extra: &[&str],
) -> Result<Product, ApiError> {
    const FIELDS: [&str; 4] = ["name", "description", "price_cents", "currency"];
    if let Some(unknown) = body
        .keys()
        .find(|key| !FIELDS.contains(&key.as_str()) && !extra.contains(&key.as_str()))
    {
        return Err(ApiError::InvalidField {
            field: "body",
            message: format!("unknown field {unknown:?}"),
        });
    }
    let name = text(body, "name", true)?.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("name must be 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    let description = text(body, "description", false)?.to_owned();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid(
            "description",
            format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let price_cents = body
        .get("price_cents")
        .and_then(Value::as_i64)
        .filter(|cents| (0..=MAX_PRICE_CENTS).contains(cents))
        .ok_or_else(|| {
            invalid(
                "price_cents",
                format!("price_cents must be a whole number from 0 to {MAX_PRICE_CENTS}"),
            )
        })?;
    let currency = text(body, "currency", true)?.to_owned();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            "currency",
            "currency must be an ISO 4217 code such as USD".to_owned(),
        ));
    }
    Ok(Product {
        id,
        name,
        description,
        price_cents,
        currency,
    })
}

fn text<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
    required: bool,
) -> Result<&'a str, ApiError> {
    match body.get(field) {
        Some(Value::String(text)) if !text.chars().any(char::is_control) => Ok(text),
        Some(Value::String(_)) => Err(invalid(
            field,
            format!("{field} must not contain control characters"),
        )),
        None | Some(Value::Null) if !required => Ok(""),
        None | Some(Value::Null) => Err(invalid(field, format!("{field} is required"))),
        Some(_) => Err(invalid(field, format!("{field} must be a string"))),
    }
}

fn invalid(field: &'static str, message: String) -> ApiError {
    ApiError::InvalidField { field, message }
}
