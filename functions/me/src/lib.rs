//! `GET /users/me`: the caller's own account, read fresh from the store (never the hash).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::json_response;
use shared::principal::authenticated_user;
use shared::users::UserStore;

/// Handles one request: `{"username","created_at","disabled"}` for the authorizer's principal.
pub async fn handle(store: &impl UserStore, request: Request) -> Response<Body> {
    match authenticated_user(store, &request).await {
        Ok(user) => json_response(
            StatusCode::OK,
            &json!({
                "username": user.username,
                "created_at": humantime::format_rfc3339_millis(user.created_at).to_string(),
                "disabled": user.disabled,
            }),
        ),
        Err(error) => error.into_response(),
    }
}
