//! What an administrator does to accounts. Each action is one store update that takes
//! effect at once (a disable or a role change bumps the token version in the same update, so
//! the account's tokens are refused by every protected function on their next request), is
//! recorded in the account's security events with the administrator as `actor`, and is
//! logged with a stable shape.

use crate::guard::Administrator;
use crate::{State, view};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt as _, Response};
use serde_json::{Value, json};
use shared::abuse::leases::LeaseStore;
use shared::abuse::login_failures::{LoginFailureStore, PasskeyFailures, SecondFactorFailures};
use shared::access::roles::{USERS_ADMIN_SCOPE, is_role_name};
use shared::factors::passkeys::PasskeyStore;
use shared::factors::second_factors::SecondFactorStore;
use shared::identity::account_events::{self, AccountEvent, AccountEventStore, EventKind};
use shared::identity::account_id::AccountId;
use shared::identity::users::{AccountQuery, Revocation, User, UserStore};
use shared::mail::email_codes::{EmailCodeStore, Purpose};
use shared::platform::http::RequestSource;
use shared::platform::http::{
    ApiError, PageQuery, body_text, has_content_type, json_object, json_response, page_query,
    query_parameter,
};
use shared::stores::Stores;

/// Accounts per page unless `limit` says otherwise.
pub const DEFAULT_PAGE: u32 = 50;
/// The most accounts one page holds.
pub const MAX_PAGE: u32 = 100;
/// The most roles one account holds.
pub const MAX_ROLES: usize = 16;
/// Events shown with one account.
const EVENTS_SHOWN: u32 = 20;

const ACCOUNT_NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "account_not_found",
    message: "no account has this id",
};

fn store(error: shared::platform::database::StoreError) -> ApiError {
    ApiError::from_store(&error)
}

/// What an administrator does to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountAction {
    /// Disable it and end its sessions.
    Disable,
    /// Enable it again.
    Enable,
    /// Clear its failure counters.
    Unlock,
    /// End every session of it.
    Logout,
    /// Remove its second factor.
    ResetSecondFactor,
    /// Remove its email address.
    RemoveEmail,
    /// Replace its roles.
    SetRoles,
    /// Delete it.
    Delete,
    /// Issue a password-reset code to pass on.
    IssueResetCode,
    /// Unlink one of its identities at another provider.
    UnlinkIdentity,
}

/// `GET /admin/users/{id}`.
pub(crate) async fn read_one<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(state, request).await?;
    refuse_a_more_privileged_target(state, admin, &target)?;
    audit(admin, "read", &target);
    read(state, &target).await
}

/// Does `action` to the account the path names, for `admin`.
pub(crate) async fn act<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    action: AccountAction,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let target = target(state, request).await?;
    refuse_a_more_privileged_target(state, admin, &target)?;
    let (response, kind) = match action {
        AccountAction::Disable => (
            disable(state, &target).await?,
            Some(EventKind::AccountDisabled),
        ),
        AccountAction::Enable => (
            enable(state, &target).await?,
            Some(EventKind::AccountEnabled),
        ),
        AccountAction::Unlock => (
            unlock(state, &target).await?,
            Some(EventKind::AccountUnlocked),
        ),
        AccountAction::Logout => (
            logout(state, &target).await?,
            Some(EventKind::LoggedOutEverywhere),
        ),
        AccountAction::ResetSecondFactor => (
            reset_second_factor(state, &target).await?,
            Some(EventKind::SecondFactorReset),
        ),
        AccountAction::RemoveEmail => (
            remove_email(state, &target).await?,
            Some(EventKind::EmailRemoved),
        ),
        AccountAction::SetRoles => set_roles(state, admin, &target, request).await?,
        AccountAction::IssueResetCode => (
            issue_reset_code(state, admin, &target).await?,
            Some(EventKind::PasswordResetIssued),
        ),
        AccountAction::UnlinkIdentity => (
            unlink_identity(state, &target, request).await?,
            Some(EventKind::IdentityUnlinked),
        ),
        AccountAction::Delete => {
            let deletion = shared::lifecycle::account_removal::delete_account(
                &state.stores,
                &target,
                Some(&admin.user.id),
                state.clock.now(),
            );
            keeping_an_administrator(state, &target, &[], async { deletion.await.map_err(store) })
                .await?;
            audit(admin, "delete", &target);
            return Ok(no_content());
        }
    };
    if let Some(kind) = kind {
        let event = AccountEvent::by_admin(
            &target.id,
            kind,
            state.clock.now(),
            &RequestSource::of(request),
            &admin.user.id,
        );
        account_events::record(state.stores.events(), &event).await;
        audit(admin, action_name(kind), &target);
    }
    Ok(response)
}

fn action_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::AccountDisabled => "disable",
        EventKind::AccountEnabled => "enable",
        EventKind::AccountUnlocked => "unlock",
        EventKind::LoggedOutEverywhere => "logout",
        EventKind::SecondFactorReset => "reset_second_factor",
        EventKind::EmailRemoved => "remove_email",
        EventKind::RolesChanged => "set_roles",
        EventKind::PasswordResetIssued => "issue_reset_code",
        EventKind::IdentityUnlinked => "unlink_identity",
        _ => "other",
    }
}

fn audit(admin: &Administrator, action: &str, target: &User) {
    tracing::info!(audit = "admin", action, actor = %admin.user.id, target = %target.id, "admin action");
}

/// The account the path's `{id}` names: `404 account_not_found` when none does.
async fn target<S: Stores>(state: &State<S>, request: &Request) -> Result<User, ApiError> {
    let id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("id"))
        .and_then(AccountId::parse)
        .ok_or(ACCOUNT_NOT_FOUND)?;
    state
        .stores
        .users()
        .find_by_id(&id)
        .await
        .map_err(store)?
        .ok_or(ACCOUNT_NOT_FOUND)
}

/// `{"users": [...], "next": cursor or null}`, by canonical name: `limit` (1–100, default
/// 50), `after` (the previous page's `next`), `prefix` (of the name, any letter case),
/// `role`, `disabled` (`true`/`false`).
pub(crate) async fn list<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let parameter = |name: &str| query_parameter(request, name);
    let invalid = |field: &'static str, message: &str| ApiError::InvalidField {
        field,
        message: message.to_owned(),
    };
    let PageQuery {
        limit,
        cursor: after,
    } = page_query(
        request,
        DEFAULT_PAGE,
        MAX_PAGE,
        "after",
        view::decode_cursor,
    )?;
    let prefix = match parameter("prefix") {
        None | Some("") => None,
        Some(text) if text.chars().count() <= 64 => {
            Some(shared::identity::credentials::caseless_key(text))
        }
        Some(_) => return Err(invalid("prefix", "prefix must be at most 64 characters")),
    };
    let role = match parameter("role") {
        None => None,
        Some(role) if is_role_name(role) => Some(role.to_owned()),
        Some(_) => return Err(invalid("role", "role must be a role name")),
    };
    let disabled = match parameter("disabled") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(invalid("disabled", "disabled must be true or false")),
    };
    let query = AccountQuery {
        prefix,
        role,
        disabled,
        after,
        limit: limit + 1,
    };
    let mut users = state.stores.users().list(&query).await.map_err(store)?;
    let more = users.len() > limit as usize;
    users.truncate(limit as usize);
    let next = more.then(|| users.last().map(view::cursor_after)).flatten();
    tracing::info!(audit = "admin", action = "list", actor = %admin.user.id, returned = users.len(), "admin action");
    Ok(json_response(
        StatusCode::OK,
        &json!({ "users": users.iter().map(view::account).collect::<Vec<_>>(), "next": next }),
    ))
}

/// The account, whether it has a second factor, and its latest events with their actors.
async fn read<S: Stores>(state: &State<S>, target: &User) -> Result<Response<Body>, ApiError> {
    let stores = &state.stores;
    let (factor, passkeys, events, identities) = tokio::join!(
        stores.second_factors().find(&target.id),
        stores.passkeys().list(&target.id),
        stores.events().page(&target.id, None, EVENTS_SHOWN),
        shared::identity::identities::IdentityStore::list(stores.identities(), &target.id)
    );
    let mut shown = view::account(target);
    shown["two_factor"] = json!({ "enabled": factor.map_err(store)?.is_some_and(|f| f.confirmed) });
    shown["passkeys"] = passkeys
        .map_err(store)?
        .iter()
        .map(shared::factors::passkeys::Passkey::view)
        .collect();
    shown["has_password"] = json!(target.has_password());
    shown["identities"] = identities
        .map_err(store)?
        .iter()
        .map(shared::identity::identities::Identity::view)
        .collect();
    shown["events"] = Value::Array(
        events
            .map_err(store)?
            .iter()
            .map(|event| account_events::shown(event, true))
            .collect(),
    );
    Ok(json_response(StatusCode::OK, &shown))
}

async fn fresh<S: Stores>(state: &State<S>, id: &AccountId) -> Result<Response<Body>, ApiError> {
    let user = state
        .stores
        .users()
        .find_by_id(id)
        .await
        .map_err(store)?
        .ok_or(ACCOUNT_NOT_FOUND)?;
    Ok(json_response(StatusCode::OK, &view::account(&user)))
}

/// Refuses reading or acting on an account whose roles grant a scope the administrator's do
/// not: an administrator for accounts only cannot read, disable, demote or delete one who
/// also manages clients.
fn refuse_a_more_privileged_target<S>(
    state: &State<S>,
    admin: &Administrator,
    target: &User,
) -> Result<(), ApiError> {
    let held = state.roles.scopes_for(&admin.user.roles);
    if state.roles.scopes_for(&target.roles).is_subset(&held) {
        return Ok(());
    }
    tracing::info!(actor = %admin.user.id, target = %target.id, "refused: the account holds scopes the administrator does not");
    Err(ApiError::Refused {
        code: "target_more_privileged",
        message: "the account's roles grant scopes yours do not",
    })
}

/// How long a change may hold a lease on one account (issuing a reset code): far above one
/// update's time, short enough that a crashed holder blocks the others only briefly.
const ACCOUNT_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs `change`, which leaves `target` with only `remaining` of its roles, refused with
/// `409 last_administrator` when it would leave no enabled administrator
/// ([`shared::lifecycle::administrators::keeping_one`]).
async fn keeping_an_administrator<S: Stores, T>(
    state: &State<S>,
    target: &User,
    remaining: &[String],
    change: impl std::future::Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    shared::lifecycle::administrators::keeping_one(
        &state.stores,
        &state.roles,
        state.clock.now(),
        target,
        remaining,
        change,
    )
    .await
}

/// Ends everything the account started before its token version moved (with the change
/// that calls this): sessions, codes, pending logins and passkey ceremonies.
async fn end_sessions<S: Stores>(state: &State<S>, id: &AccountId) -> Result<(), ApiError> {
    shared::lifecycle::revocation::end_started_before(&state.stores, id)
        .await
        .map_err(store)
}

async fn disable<S: Stores>(state: &State<S>, target: &User) -> Result<Response<Body>, ApiError> {
    let users = state.stores.users();
    let disabled = users.set_disabled(&target.id, true, state.clock.now());
    let disabled =
        keeping_an_administrator(state, target, &[], async { disabled.await.map_err(store) })
            .await?;
    if !disabled {
        return Err(ACCOUNT_NOT_FOUND);
    }
    end_sessions(state, &target.id).await?;
    fresh(state, &target.id).await
}

async fn enable<S: Stores>(state: &State<S>, target: &User) -> Result<Response<Body>, ApiError> {
    let users = state.stores.users();
    if !users
        .set_disabled(&target.id, false, state.clock.now())
        .await
        .map_err(store)?
    {
        return Err(ACCOUNT_NOT_FOUND);
    }
    fresh(state, &target.id).await
}

async fn unlock<S: Stores>(state: &State<S>, target: &User) -> Result<Response<Body>, ApiError> {
    let failures = state.stores.login_failures();
    let codes_key = SecondFactorFailures(&target.id);
    let passkeys_key = PasskeyFailures::Account(&target.id);
    let (passwords, codes, passkey_account, passkeys) = tokio::join!(
        failures.reset(&target.username),
        failures.reset(&codes_key),
        failures.reset(&passkeys_key),
        state.stores.passkeys().list(&target.id)
    );
    passwords.and(codes).and(passkey_account).map_err(store)?;
    for passkey in passkeys.map_err(store)? {
        failures
            .reset(&PasskeyFailures::Credential(&passkey.id))
            .await
            .map_err(store)?;
    }
    fresh(state, &target.id).await
}

async fn logout<S: Stores>(state: &State<S>, target: &User) -> Result<Response<Body>, ApiError> {
    sign_out(state, &target.id).await?;
    fresh(state, &target.id).await
}

/// Bumps the account's token version and ends everything started before it.
async fn sign_out<S: Stores>(state: &State<S>, id: &AccountId) -> Result<(), ApiError> {
    state
        .stores
        .users()
        .bump_token_version(id, Revocation::Sessions, state.clock.now())
        .await
        .map_err(store)?
        .ok_or(ACCOUNT_NOT_FOUND)?;
    end_sessions(state, id).await
}

/// Removes the second factor and the passkeys (the next login needs only the password, and
/// the user can turn TOTP on and register passkeys again) and ends every session: a lost
/// phone may be in someone else's hands.
async fn reset_second_factor<S: Stores>(
    state: &State<S>,
    target: &User,
) -> Result<Response<Body>, ApiError> {
    let stores = &state.stores;
    if state
        .roles
        .scopes_for(&target.roles)
        .contains(USERS_ADMIN_SCOPE)
    {
        return Err(ApiError::Conflict {
            code: "privileged_account",
            message: "remove the account's administrator roles first, and give them back once it has a second factor again",
        });
    }
    let (factor, passkeys) = tokio::join!(
        stores.second_factors().find(&target.id),
        stores.passkeys().list(&target.id)
    );
    if factor.map_err(store)?.is_none() && passkeys.map_err(store)?.is_empty() {
        return Err(ApiError::Conflict {
            code: "no_second_factor",
            message: "the account has no second factor and no passkey",
        });
    }
    // The passkey generation moves before the passkeys go, so one whose registration is
    // finishing right now never signs in either.
    stores
        .users()
        .bump_token_version(
            &target.id,
            Revocation::SessionsAndPasskeys,
            state.clock.now(),
        )
        .await
        .map_err(store)?
        .ok_or(ACCOUNT_NOT_FOUND)?;
    let codes_key = SecondFactorFailures(&target.id);
    let (factor, passkeys, failures) = tokio::join!(
        stores.second_factors().remove(&target.id),
        stores.passkeys().delete_account(&target.id),
        stores.login_failures().reset(&codes_key)
    );
    factor.map_err(store)?;
    passkeys.map_err(store)?;
    failures.map_err(store)?;
    end_sessions(state, &target.id).await?;
    fresh(state, &target.id).await
}

/// Removes the verified and the waiting address, and ends every session and code: for an
/// owner whose address is in someone else's hands, password resets by email stop at once,
/// and whoever holds a session cannot set an address again without signing in anew.
async fn remove_email<S: Stores>(
    state: &State<S>,
    target: &User,
) -> Result<Response<Body>, ApiError> {
    state
        .stores
        .users()
        .remove_email(&target.id, state.clock.now())
        .await
        .map_err(store)?;
    sign_out(state, &target.id).await?;
    fresh(state, &target.id).await
}

/// Unlinks the identity `{identity_id}` (its id in the account's view) from the account:
/// it no longer signs in to it, and every session of the account ends. An administrator may remove the last way to sign in (to cut
/// off a hijacked identity); a reset code then gives the owner a password.
async fn unlink_identity<S: Stores>(
    state: &State<S>,
    target: &User,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    use shared::identity::identities::IdentityStore as _;
    const IDENTITY_NOT_FOUND: ApiError = ApiError::NoSuchResource {
        code: "identity_not_found",
        message: "no identity with this id is linked to the account",
    };
    let id = request
        .path_parameters_ref()
        .and_then(|parameters| parameters.first("identity_id"))
        .ok_or(IDENTITY_NOT_FOUND)?;
    let identities = state.stores.identities();
    let linked = identities.list(&target.id).await.map_err(store)?;
    let identity = linked
        .iter()
        .find(|identity| identity.id() == id)
        .ok_or(IDENTITY_NOT_FOUND)?;
    if !identities
        .unlink(&target.id, &identity.issuer, &identity.subject)
        .await
        .map_err(store)?
    {
        return Err(IDENTITY_NOT_FOUND);
    }
    // Whatever the identity signed in to goes with it.
    sign_out(state, &target.id).await?;
    fresh(state, &target.id).await
}

/// `{"roles": [...]}`: each defined by `ROLES`, at most [`MAX_ROLES`]. The same roles change
/// nothing; others replace them and end the account's sessions.
async fn set_roles<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    target: &User,
    request: &Request,
) -> Result<(Response<Body>, Option<EventKind>), ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let invalid = |message: String| ApiError::InvalidField {
        field: "roles",
        message,
    };
    let Some(Value::Array(given)) = fields.get("roles") else {
        return Err(invalid("roles must be a list of role names".to_owned()));
    };
    let mut roles = Vec::with_capacity(given.len());
    for role in given {
        match role.as_str() {
            Some(role) if state.roles.is_defined(role) => roles.push(role.to_owned()),
            _ => {
                let defined: Vec<&str> = state.roles.names().collect();
                return Err(invalid(format!(
                    "{role} is not a defined role (defined: {})",
                    defined.join(", ")
                )));
            }
        }
    }
    roles.sort();
    roles.dedup();
    if roles.len() > MAX_ROLES {
        return Err(invalid(format!("at most {MAX_ROLES} roles")));
    }
    let mut current = target.roles.clone();
    current.sort();
    if current == roles {
        return Ok((fresh(state, &target.id).await?, None));
    }
    let granted = state.roles.scopes_for(&roles);
    if !granted.is_subset(&state.roles.scopes_for(&admin.user.roles)) {
        return Err(ApiError::Refused {
            code: "role_exceeds_yours",
            message: "these roles grant scopes yours do not",
        });
    }
    let becomes_admin = granted.contains(USERS_ADMIN_SCOPE)
        && !state
            .roles
            .scopes_for(&target.roles)
            .contains(USERS_ADMIN_SCOPE);
    if becomes_admin {
        let factor = state
            .stores
            .second_factors()
            .find(&target.id)
            .await
            .map_err(store)?;
        if !factor.is_some_and(|factor| factor.confirmed) {
            return Err(ApiError::Conflict {
                code: "target_needs_second_factor",
                message: "the account must turn on two-factor authentication before it gets an administrator role",
            });
        }
    }
    let users = state.stores.users();
    let write = users.set_roles(&target.id, target.token_version, &roles, state.clock.now());
    let changed =
        keeping_an_administrator(state, target, &roles, async { write.await.map_err(store) })
            .await?;
    if !changed {
        return Err(ApiError::Conflict {
            code: "account_changed",
            message: "the account changed while its roles were being set; read it and try again",
        });
    }
    end_sessions(state, &target.id).await?;
    Ok((
        fresh(state, &target.id).await?,
        Some(EventKind::RolesChanged),
    ))
}

/// A single-use password-reset code for the account, shown this once to pass on: 80 random
/// bits, stored as SHA-256, valid for `ADMIN_RESET_CODE_TTL_SECONDS`; it replaces any code
/// issued before (issues for one account run one at a time: `409 reset_code_changing` for
/// the second of two at once). The public `POST /password-reset/confirm` redeems it. `201`;
/// `409 account_disabled` for a disabled account (enable it first).
async fn issue_reset_code<S: Stores>(
    state: &State<S>,
    admin: &Administrator,
    target: &User,
) -> Result<Response<Body>, ApiError> {
    if target.disabled {
        return Err(ApiError::Conflict {
            code: "account_disabled",
            message: "the account is disabled: enable it first",
        });
    }
    // One issue at a time per account, so a code always replaces the last one: two at once
    // would each delete before either creates, and leave two live codes.
    let lease = format!("reset-code:{}", target.id);
    let holder = uuid::Uuid::new_v4().to_string();
    let leases = state.stores.leases();
    if !leases
        .acquire(&lease, &holder, state.clock.now(), ACCOUNT_LEASE_TTL)
        .await
        .map_err(store)?
    {
        return Err(ApiError::Conflict {
            code: "reset_code_changing",
            message: "another code for this account is being issued; retry in a moment",
        });
    }
    let codes = state.stores.email_codes();
    let new = shared::mail::email_codes::generate().map_err(|_| ApiError::Internal)?;
    let expires_at = state.clock.now() + state.reset_code_ttl;
    let code = shared::mail::email_codes::EmailCode {
        account: target.id.clone(),
        purpose: Purpose::AdminReset,
        address: None,
        expires_at,
        token_version: target.token_version,
        issued_by: Some(admin.user.id.clone()),
    };
    let replaced = async {
        codes
            .delete_account(&target.id, Some(Purpose::AdminReset))
            .await?;
        codes.create(&new.hash, &code).await
    }
    .await;
    if let Err(error) = leases.release(&lease, &holder).await {
        tracing::warn!(%error, "reset-code lease not released (it runs out on its own)");
    }
    replaced.map_err(store)?;
    use secrecy::ExposeSecret as _;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "code": new.code.expose_secret(),
            "expires_at": humantime::format_rfc3339_millis(expires_at).to_string(),
            "redeem_with": "POST /password-reset/confirm {\"code\", \"new_password\"}",
        }),
    ))
}

fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}
