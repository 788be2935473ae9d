//! Relying parties (the applications users sign in to through `/authorize`), managed by
//! administrators with `clients:admin`, audited like the machine clients: registered with a
//! name, a kind (public: a browser or native app; confidential: a server, whose secret is
//! shown once), redirect URIs (each `https`, or `http` on a loopback address for a native
//! app), post-logout redirect URIs, the scopes it may ask for, whether it is first party (no
//! consent page) and its id_token algorithm. A confidential one's secret rotates as a
//! machine client's does (a second secret beside the first, then the old one removed).
//! Deleting one stops its codes from being exchanged and its refresh tokens from refreshing.

use crate::guard::Administrator;
use crate::{State, clients, view};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::{Value, json};
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
    SecretAddition, SecretRemoval, unregistrable_scopes,
};
use shared::access::scopes::Scopes;
use shared::platform::http::{
    ApiError, PageQuery, body_text, has_content_type, json_object, json_response, page_query,
};
use shared::stores::Stores;

/// The most redirect URIs of each kind a relying party registers.
pub const MAX_REDIRECT_URIS: usize = 10;

const NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "relying_party_not_found",
    message: "no relying party has this id",
};

const PUBLIC_CLIENT: ApiError = ApiError::Conflict {
    code: "public_client",
    message: "a public relying party has no secret to rotate",
};

fn store(error: shared::platform::database::StoreError) -> ApiError {
    ApiError::from_store(&error)
}

fn audit(admin: &Administrator, action: &str, party: &RelyingPartyId) {
    tracing::info!(audit = "admin", action, actor = %admin.user.id, relying_party = %party, "admin action");
}

/// `{"relying_parties": [...], "next": cursor or null}` in id order: `limit` (1–100,
/// default 50) and `after`.
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
        RelyingPartyId::parse,
    )?;
    let mut parties = state
        .stores
        .relying_parties()
        .list(after.as_ref(), limit + 1)
        .await
        .map_err(store)?;
    let more = parties.len() > limit as usize;
    parties.truncate(limit as usize);
    let next = more
        .then(|| parties.last().map(|party| party.id.as_str().to_owned()))
        .flatten();
    tracing::info!(audit = "admin", action = "list_relying_parties", actor = %admin.user.id, "admin action");
    let shown: Vec<Value> = parties.iter().map(view::relying_party).collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({ "relying_parties": shown, "next": next }),
    ))
}

/// One relying party.
pub(crate) async fn read<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let party = found(state, request).await?;
    audit(admin, "read_relying_party", &party.id);
    Ok(json_response(StatusCode::OK, &view::relying_party(&party)))
}

/// Registers a relying party: `201` with it, and `client_secret` (shown this once) for a
/// confidential one.
pub(crate) async fn create<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let name = clients::client_name(fields.get("name"))?;
    let confidential = match fields.get("type").and_then(Value::as_str) {
        Some("public") => false,
        Some("confidential") => true,
        _ => {
            return Err(ApiError::InvalidField {
                field: "type",
                message: "type must be public (a browser or native app) or confidential (a server)"
                    .to_owned(),
            });
        }
    };
    let redirect_uris = uri_list(fields.get("redirect_uris"), "redirect_uris", true)?;
    let post_logout_redirect_uris = uri_list(
        fields.get("post_logout_redirect_uris"),
        "post_logout_redirect_uris",
        false,
    )?;
    let first_party = match fields.get("first_party") {
        None => false,
        Some(Value::Bool(first_party)) => *first_party,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "first_party",
                message: "first_party must be true or false".to_owned(),
            });
        }
    };
    let scopes = scopes(fields.get("scopes"), first_party)?;
    let id_token_algorithm = match fields.get("id_token_signed_response_alg") {
        None => IdTokenAlgorithm::default(),
        Some(value) => value
            .as_str()
            .and_then(IdTokenAlgorithm::parse)
            .ok_or_else(|| ApiError::InvalidField {
                field: "id_token_signed_response_alg",
                message: "id_token_signed_response_alg must be RS256 or EdDSA".to_owned(),
            })?,
    };
    let (kind, secret) = if confidential {
        let (secret, stored) = clients::new_secret(state).await?;
        (
            ClientKind::Confidential {
                secrets: vec![stored],
            },
            Some(secret),
        )
    } else {
        (ClientKind::Public, None)
    };
    let party = RelyingParty {
        id: RelyingPartyId::generate().ok_or(ApiError::Internal)?,
        name,
        kind,
        redirect_uris,
        post_logout_redirect_uris,
        scopes,
        first_party,
        id_token_algorithm,
        created_at: state.clock.now(),
        created_by: admin.user.id.clone(),
    };
    state
        .stores
        .relying_parties()
        .create(&party)
        .await
        .map_err(store)?;
    audit(admin, "create_relying_party", &party.id);
    let mut shown = view::relying_party(&party);
    if let Some(secret) = secret {
        shown["client_secret"] = secret.into();
    }
    let mut response = json_response(StatusCode::CREATED, &shown);
    if let Ok(location) = format!("/admin/relying-parties/{}", party.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Starts a rotation of a confidential relying party's secret: a new one, shown once, that
/// works beside the current one. `201`; `409 rotation_in_progress` while it has two (remove
/// the old one first), `409 public_client` for a public one, which has none.
pub(crate) async fn rotate<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let party = found(state, request).await?;
    if !party.is_confidential() {
        return Err(PUBLIC_CLIENT);
    }
    let (secret, stored) = clients::new_secret(state).await?;
    let secret_id = stored.id.clone();
    let added = state
        .stores
        .relying_parties()
        .add_secret(&party.id, &stored)
        .await
        .map_err(store)?;
    match added {
        SecretAddition::Added => {}
        SecretAddition::NotFound => return Err(NOT_FOUND),
        SecretAddition::Full => {
            return Err(ApiError::Conflict {
                code: "rotation_in_progress",
                message: "the relying party has two secrets: remove the old one to end the rotation first",
            });
        }
    }
    audit(admin, "rotate_relying_party_secret", &party.id);
    let party = found(state, request).await?;
    let mut shown = view::relying_party(&party);
    shown["client_secret"] = secret.into();
    shown["secret_id"] = secret_id.into();
    Ok(json_response(StatusCode::CREATED, &shown))
}

/// Ends a rotation: the secret `{secret_id}` stops working. `204`; `409 last_secret` for the
/// only one.
pub(crate) async fn remove_secret<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let party = found(state, request).await?;
    let secret_id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("secret_id"))
        .unwrap_or_default()
        .to_owned();
    let removed = state
        .stores
        .relying_parties()
        .remove_secret(&party.id, &secret_id)
        .await
        .map_err(store)?;
    match removed {
        SecretRemoval::Removed => {
            audit(admin, "remove_relying_party_secret", &party.id);
            Ok(clients::no_content())
        }
        SecretRemoval::NotFound => Err(ApiError::NoSuchResource {
            code: "secret_not_found",
            message: "the relying party has no secret with this id",
        }),
        SecretRemoval::LastSecret => Err(ApiError::Conflict {
            code: "last_secret",
            message: "a confidential relying party keeps at least one secret: rotate first, or delete it",
        }),
    }
}

/// Deletes a relying party: `204`.
pub(crate) async fn delete<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let party = found(state, request).await?;
    if !state
        .stores
        .relying_parties()
        .delete(&party.id)
        .await
        .map_err(store)?
    {
        return Err(NOT_FOUND);
    }
    audit(admin, "delete_relying_party", &party.id);
    Ok(clients::no_content())
}

async fn found<S: Stores>(state: &State<S>, request: &Request) -> Result<RelyingParty, ApiError> {
    let id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .and_then(RelyingPartyId::parse)
        .ok_or(NOT_FOUND)?;
    state
        .stores
        .relying_parties()
        .find(&id)
        .await
        .map_err(store)?
        .ok_or(NOT_FOUND)
}

fn uri_list(
    given: Option<&Value>,
    field: &'static str,
    required: bool,
) -> Result<Vec<RedirectUri>, ApiError> {
    let invalid = |message: String| ApiError::InvalidField { field, message };
    let given = match given {
        None if !required => return Ok(Vec::new()),
        Some(Value::Array(given))
            if (usize::from(required)..=MAX_REDIRECT_URIS).contains(&given.len()) =>
        {
            given
        }
        _ => {
            return Err(invalid(format!(
                "{field} must be a list of {} to {MAX_REDIRECT_URIS} URIs",
                usize::from(required)
            )));
        }
    };
    let mut uris: Vec<RedirectUri> = Vec::with_capacity(given.len());
    for uri in given {
        let text = uri
            .as_str()
            .ok_or_else(|| invalid(format!("{uri} is not a string")))?;
        let uri =
            RedirectUri::register(text).map_err(|error| invalid(format!("{text}: {error}")))?;
        if !uris.contains(&uri) {
            uris.push(uri);
        }
    }
    Ok(uris)
}

/// The scopes a relying party may ask for: OpenID Connect's, `account` and the API's; the
/// account's roles still bound the API scopes of every token it gets, and the administration
/// scopes are for first-party applications only.
fn scopes(given: Option<&Value>, first_party: bool) -> Result<Scopes, ApiError> {
    let invalid = |message: String| ApiError::InvalidField {
        field: "scopes",
        message,
    };
    let Some(Value::Array(given)) = given else {
        return Err(invalid("scopes must be a list of scopes".to_owned()));
    };
    let mut scopes = Vec::with_capacity(given.len());
    for scope in given {
        let Some(scope) = scope.as_str() else {
            return Err(invalid(format!("{scope} is not a scope")));
        };
        scopes.push(scope.to_owned());
    }
    let scopes: Scopes = scopes.into_iter().collect();
    if let Some(refusal) = unregistrable_scopes(&scopes, first_party) {
        return Err(invalid(refusal));
    }
    Ok(scopes)
}
