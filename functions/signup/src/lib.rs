//! `POST /signup`: validates a JSON `{"username","password"}`, hashes the password with
//! argon2id and stores the account; a username taken in any letter case is a `409`.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::clock::Clock;
use shared::config::{ConfigError, Source};
use shared::credentials::{Password, Username};
use shared::hashing::PasswordHasher;
use shared::http::{
    ApiError, Route, body_text, has_content_type, json_object, json_response, not_found, route,
    string_field,
};
use shared::stores::Stores;
use shared::users::{Insertion, UserStore};

/// What the sign-up function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts.
    pub stores: S,
    /// Hashes the new password.
    pub hasher: PasswordHasher,
    /// The time an account is created at.
    pub clock: Clock,
}

impl<S> State<S> {
    /// The state from the environment (hashing settings). With MongoDB, make sure the unique
    /// username index exists first (`MongoUserStore::ensure_indexes`).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            hasher: PasswordHasher::from_source(env)?,
            clock: Clock::system(),
        })
    }
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, ()); 1] = [(Route::post("/signup"), ())];

/// Handles one sign-up request. Every outcome is a response; nothing is stored on any error.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    match sign_up(state, &request).await {
        Ok(username) => json_response(
            StatusCode::CREATED,
            &json!({ "message": "Created user successfully!", "username": username.as_str() }),
        ),
        Err(error) => error.into_response(),
    }
}

async fn sign_up<S: Stores>(state: &State<S>, request: &Request) -> Result<Username, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let username =
        Username::for_new_account(string_field(&fields, "username")?).map_err(invalid)?;
    let password = Password::for_new_account(string_field(&fields, "password")?, &username)
        .map_err(invalid)?;

    let password_hash = state.hasher.hash(&password).await.map_err(|error| {
        tracing::error!(%error, "hashing failed");
        ApiError::Internal
    })?;
    let insertion = state
        .stores
        .users()
        .insert(&username, &password_hash, state.clock.now())
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
