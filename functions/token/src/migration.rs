//! The user-migration hook: a password login for a name this service does not know asks the
//! operator's function (Cognito's `UserMigration_Authentication` event) whether the old
//! system knows the name and password. If it answers, the account is created here with the
//! password hashed by argon2id, in the one insert the username's unique index allows: of any
//! number of parallel first logins, one creates it and the others sign in to it.

use crate::oauth::OAuthError;
use crate::{SignInContext, server_error, store_error};
use shared::hooks::cognito::{UserMigrationRequest, UserMigrationResponse};
use shared::hooks::{HookError, Trigger};
use shared::identity::account_events::{self, AccountEvent, EventKind};
use shared::identity::credentials::{Password, Username};
use shared::identity::email_address::EmailAddress;
use shared::identity::users::{Insertion, NO_PASSWORD_HASH, User, UserStore as _};
use shared::platform::http::RequestSource;
use shared::stores::Stores as _;

/// The account the old system vouched for, created here (or by a parallel login); `None`
/// when the hook is off or refused the name and password. A hook that fails (not a refusal)
/// is `503`: the login cannot be decided.
pub(crate) async fn import<C: SignInContext>(
    state: &C,
    username: &Username,
    password: &Password,
    client: &RequestSource,
) -> Result<Option<User>, OAuthError> {
    let hooks = state.hooks();
    if !hooks.is_on(Trigger::UserMigration) {
        return Ok(None);
    }
    let Ok(typed) = std::str::from_utf8(password.expose_bytes()) else {
        return Ok(None);
    };
    let request = UserMigrationRequest {
        password: Some(typed.to_owned()),
        ..UserMigrationRequest::default()
    };
    let event = hooks.event::<_, UserMigrationResponse>(
        "UserMigration_Authentication",
        "1",
        username.as_str(),
        None,
        request,
    );
    let response = match hooks
        .call::<_, UserMigrationResponse>(Trigger::UserMigration, &event)
        .await
    {
        Ok(Some(response)) => response,
        Ok(None) => return Ok(None),
        Err(HookError::Raised { .. }) => {
            tracing::info!("the user-migration hook refused the name and password");
            return Ok(None);
        }
        Err(HookError::Failed(_)) => return Err(OAuthError::HookFailed),
    };
    let Ok(new_name) = Username::for_new_account(username.as_str()) else {
        tracing::warn!("the user-migration hook vouched for a name new accounts may not have");
        return Ok(None);
    };
    let hash = if response.keeps_the_password() {
        state
            .hasher()
            .hash(password)
            .await
            .map_err(|error| server_error(&error))?
    } else {
        NO_PASSWORD_HASH.to_owned()
    };
    let users = state.stores().users();
    let now = state.clock().now();
    let id = match users
        .insert(&new_name, &hash, now)
        .await
        .map_err(store_error)?
    {
        Insertion::Created(id) => id,
        Insertion::UsernameTaken => {
            // A parallel first login created it: sign in to that one, with its password.
            tracing::info!("user migration: the account was created by a parallel login");
            return users.find(username).await.map_err(store_error);
        }
    };
    if let Some(address) = response
        .verified_email()
        .and_then(|raw| EmailAddress::parse(raw).ok())
    {
        adopt_verified_address(state, &id, &address, now).await?;
    }
    let event = AccountEvent::new(&id, EventKind::AccountImported, now, client);
    account_events::record(state.stores().events(), &event).await;
    tracing::info!(account = %id, "account imported by the user-migration hook");
    users.find_by_id(&id).await.map_err(store_error)
}

/// The old system's verified address becomes the account's, unless another account here
/// has it (then the account has none, and its owner adds one).
async fn adopt_verified_address<C: SignInContext>(
    state: &C,
    id: &shared::identity::account_id::AccountId,
    address: &EmailAddress,
    now: std::time::SystemTime,
) -> Result<(), OAuthError> {
    let users = state.stores().users();
    users
        .set_pending_email(id, Some(address), 0, now)
        .await
        .map_err(store_error)?;
    let verified = users
        .verify_email(id, address, 0, now)
        .await
        .map_err(store_error)?;
    tracing::info!(account = %id, ?verified, "the imported account's address");
    Ok(())
}
