//! Machine clients, managed by administrators with `clients:admin`: created with a name and
//! scopes (within the administrator's own), each secret shown once; a rotation adds a second
//! secret that works beside the first until the first is removed; deletion stops new tokens
//! at once, and the product routes refuse the client's existing tokens on their next request.

use crate::guard::Administrator;
use crate::{State, view};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt as _, Response};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::access::client_id::ClientId;
use shared::access::clients::{
    ClientStore, MachineClient, SecretAddition, SecretRemoval, StoredSecret, generate_secret,
};
use shared::access::scopes::{CLIENT_SCOPES, Scopes};
use shared::identity::credentials::Password;
use shared::platform::http::{
    ApiError, PageQuery, body_text, has_content_type, json_object, json_response, page_query,
};
use shared::stores::Stores;

pub use shared::access::relying_parties::MAX_NAME_CHARS;

const CLIENT_NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "client_not_found",
    message: "no client has this id",
};

fn store(error: shared::platform::database::StoreError) -> ApiError {
    ApiError::from_store(&error)
}

fn audit(admin: &Administrator, action: &str, client: &ClientId) {
    tracing::info!(audit = "admin", action, actor = %admin.user.id, client = %client, "admin action");
}

/// `{"clients": [...], "next": cursor or null}` in id order, without secrets (their ids and
/// dates only): `limit` (1–100, default 50) and `after` (the previous page's `next`).
pub(crate) async fn list<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let PageQuery {
        limit,
        cursor: after,
    } = page_query(
        request,
        crate::accounts::DEFAULT_PAGE,
        crate::accounts::MAX_PAGE,
        "after",
        ClientId::parse,
    )?;
    let mut clients = state
        .stores
        .clients()
        .list(after.as_ref(), limit + 1)
        .await
        .map_err(store)?;
    let more = clients.len() > limit as usize;
    clients.truncate(limit as usize);
    let next = more
        .then(|| clients.last().map(|client| client.id.as_str().to_owned()))
        .flatten();
    tracing::info!(audit = "admin", action = "list_clients", actor = %admin.user.id, "admin action");
    let shown: Vec<Value> = clients.iter().map(view::client).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "clients": shown, "next": next }),
    ))
}

/// `{"name", "scopes": [...]}`: `201` with the client and its secret, shown this once.
pub(crate) async fn create<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let name = client_name(fields.get("name"))?;
    let scopes = requested_scopes(state, admin, fields.get("scopes"))?;
    let id = ClientId::generate().ok_or(ApiError::Internal)?;
    let (secret, stored) = new_secret(state).await?;
    let client = MachineClient {
        id: id.clone(),
        name,
        scopes,
        secrets: vec![stored],
        created_at: state.clock.now(),
        created_by: admin.user.id.clone(),
    };
    state
        .stores
        .clients()
        .create(&client)
        .await
        .map_err(store)?;
    audit(admin, "create_client", &id);
    let mut shown = view::client(&client);
    shown["client_secret"] = secret.into();
    let mut response = json_response(StatusCode::CREATED, &shown);
    if let Ok(location) = format!("/admin/clients/{id}").parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A client's name: 1 to [`MAX_NAME_CHARS`] characters, no control characters, trimmed.
pub(crate) fn client_name(given: Option<&Value>) -> Result<String, ApiError> {
    given
        .and_then(Value::as_str)
        .and_then(shared::access::relying_parties::registrable_name)
        .ok_or_else(|| ApiError::InvalidField {
            field: "name",
            message: format!(
                "name must be 1 to {MAX_NAME_CHARS} characters, no control characters"
            ),
        })
}

/// The scopes asked for: each one clients may hold ([`CLIENT_SCOPES`]) and the
/// administrator's roles grant.
fn requested_scopes<S>(
    state: &State<S>,
    admin: &Administrator,
    given: Option<&Value>,
) -> Result<Scopes, ApiError> {
    let invalid = |message: String| ApiError::InvalidField {
        field: "scopes",
        message,
    };
    let Some(Value::Array(given)) = given else {
        return Err(invalid("scopes must be a list of scopes".to_owned()));
    };
    let mut scopes = Vec::with_capacity(given.len());
    for scope in given {
        match scope.as_str() {
            Some(scope) if CLIENT_SCOPES.contains(&scope) => scopes.push(scope.to_owned()),
            _ => {
                return Err(invalid(format!(
                    "{scope} is not a scope clients may hold ({})",
                    CLIENT_SCOPES.join(", ")
                )));
            }
        }
    }
    let scopes: Scopes = scopes.into_iter().collect();
    if !scopes.is_subset(&state.roles.scopes_for(&admin.user.roles)) {
        return Err(ApiError::Refused {
            code: "scope_exceeds_yours",
            message: "a client cannot be given scopes your roles do not grant",
        });
    }
    Ok(scopes)
}

pub(crate) async fn new_secret<S>(state: &State<S>) -> Result<(String, StoredSecret), ApiError> {
    let new = generate_secret().map_err(store)?;
    let secret = new.secret.expose_secret().to_owned();
    let hash = state
        .hasher
        .hash(&Password::presented(&secret))
        .await
        .map_err(|error| {
            tracing::error!(%error, "hashing a client secret failed");
            ApiError::Internal
        })?;
    let stored = StoredSecret {
        id: new.id,
        hash,
        created_at: state.clock.now(),
    };
    Ok((secret, stored))
}

fn path_client(request: &Request) -> Result<ClientId, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .and_then(ClientId::parse)
        .ok_or(CLIENT_NOT_FOUND)
}

/// The client `id`, or `404 client_not_found`.
async fn found_client<S: Stores>(
    state: &State<S>,
    id: &ClientId,
) -> Result<MachineClient, ApiError> {
    state
        .stores
        .clients()
        .find(id)
        .await
        .map_err(store)?
        .ok_or(CLIENT_NOT_FOUND)
}

/// The client the path's `{id}` names, if the administrator may manage it: `404
/// client_not_found`, or `403 target_more_privileged` when it holds scopes their roles do not
/// grant.
async fn managed_client<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<MachineClient, ApiError> {
    let id = path_client(request)?;
    let client = found_client(state, &id).await?;
    refuse_a_more_privileged_client(state, admin, &client)?;
    Ok(client)
}

/// Starts a rotation: a new secret, shown once, that works beside the current one. `201`;
/// `409 rotation_in_progress` while the client has two (remove the old one first).
pub(crate) async fn rotate<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let client = managed_client(state, admin, request).await?;
    let id = client.id.clone();
    let (secret, stored) = new_secret(state).await?;
    let secret_id = stored.id.clone();
    let added = state
        .stores
        .clients()
        .add_secret(&id, &stored)
        .await
        .map_err(store)?;
    match added {
        SecretAddition::Added => {}
        SecretAddition::NotFound => return Err(CLIENT_NOT_FOUND),
        SecretAddition::Full => {
            return Err(ApiError::Conflict {
                code: "rotation_in_progress",
                message: "the client has two secrets: remove the old one to end the rotation first",
            });
        }
    }
    audit(admin, "rotate_client_secret", &id);
    let client = found_client(state, &id).await?;
    let mut shown = view::client(&client);
    shown["client_secret"] = secret.into();
    shown["secret_id"] = secret_id.into();
    Ok(json_response(StatusCode::CREATED, &shown))
}

/// Ends a rotation: the secret `{secret_id}` stops working. `204`; `409 last_secret` for
/// the client's only secret.
pub(crate) async fn remove_secret<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let client = managed_client(state, admin, request).await?;
    let id = client.id.clone();
    let secret_id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("secret_id"))
        .unwrap_or_default()
        .to_owned();
    match state
        .stores
        .clients()
        .remove_secret(&id, &secret_id)
        .await
        .map_err(store)?
    {
        SecretRemoval::Removed => {
            audit(admin, "remove_client_secret", &id);
            Ok(no_content())
        }
        SecretRemoval::NotFound => Err(ApiError::NoSuchResource {
            code: "secret_not_found",
            message: "the client has no secret with this id",
        }),
        SecretRemoval::LastSecret => Err(ApiError::Conflict {
            code: "last_secret",
            message: "a client keeps at least one secret: rotate first, or delete the client",
        }),
    }
}

/// Deletes the client: no new tokens, and its tokens are refused on their next request.
pub(crate) async fn delete<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let client = managed_client(state, admin, request).await?;
    let id = client.id.clone();
    if !state.stores.clients().delete(&id).await.map_err(store)? {
        return Err(CLIENT_NOT_FOUND);
    }
    audit(admin, "delete_client", &id);
    Ok(no_content())
}

fn refuse_a_more_privileged_client<S>(
    state: &State<S>,
    admin: &Administrator,
    client: &MachineClient,
) -> Result<(), ApiError> {
    if client
        .scopes
        .is_subset(&state.roles.scopes_for(&admin.user.roles))
    {
        return Ok(());
    }
    Err(ApiError::Refused {
        code: "target_more_privileged",
        message: "the client holds scopes your roles do not grant",
    })
}

pub(crate) fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
