//! `POST /signup`: validates a JSON `{"username","password"}`, hashes the password with
//! argon2id and stores the account; a username taken in any letter case is a `409`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::credentials::{Password, Username};
use shared::hashing::PasswordHasher;
use shared::http::{
    ApiError, body_text, has_content_type, json_object, json_response, string_field,
};
use shared::users::{Insertion, UserStore};
use std::time::SystemTime;

/// Handles one sign-up request. Every outcome is a response; nothing is stored on any error.
pub async fn handle(
    store: &impl UserStore,
    hasher: &PasswordHasher,
    request: Request,
) -> Response<Body> {
    match sign_up(store, hasher, &request).await {
        Ok(username) => json_response(
            StatusCode::CREATED,
            &json!({ "message": "Created user successfully!", "username": username.as_str() }),
        ),
        Err(error) => error.into_response(),
    }
}

async fn sign_up(
    store: &impl UserStore,
    hasher: &PasswordHasher,
    request: &Request,
) -> Result<Username, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let username = Username::parse(string_field(&fields, "username")?).map_err(invalid)?;
    let password = Password::for_new_account(string_field(&fields, "password")?, &username)
        .map_err(invalid)?;

    let password_hash = hasher.hash(&password).await.map_err(|error| {
        tracing::error!(%error, "hashing failed");
        ApiError::Internal
    })?;
    let insertion = store
        .insert(&username, &password_hash, SystemTime::now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    match insertion {
        Insertion::Created => {
            tracing::info!(username = %username, "user created");
            Ok(username)
        }
        Insertion::UsernameTaken => {
            tracing::info!(username = %username, "username taken");
            Err(ApiError::UsernameTaken)
        }
    }
}

fn invalid(error: shared::credentials::CredentialError) -> ApiError {
    ApiError::InvalidField {
        field: error.field(),
        message: error.to_string(),
    }
}
