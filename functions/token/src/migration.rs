//! The user-migration hook at a password sign-in ([`shared::hooks::migration`]): a name this
//! service does not know may be one the old system knows; if it vouches for the name and
//! password, the account is created here with the password hashed by argon2id.

use crate::oauth::OAuthError;
use crate::{SignInContext, server_error, store_error};
use shared::hooks::migration::{self, Asked};
use shared::identity::credentials::{Password, Username};
use shared::identity::users::{NO_PASSWORD_HASH, User};
use shared::platform::http::RequestSource;
use shared::stores::Stores as _;

/// The account the old system vouched for, created here (or by a parallel sign-in); `None`
/// when the hook is off or refused the name and password. A hook that fails (not a refusal)
/// is `503`: the sign-in cannot be decided.
pub(crate) async fn import<C: SignInContext>(
    state: &C,
    username: &Username,
    password: &Password,
    client: &RequestSource,
) -> Result<Option<User>, OAuthError> {
    let Ok(typed) = std::str::from_utf8(password.expose_bytes()) else {
        return Ok(None);
    };
    let Some(response) = migration::ask(state.hooks(), username, Asked::SignIn(typed))
        .await
        .map_err(|_| OAuthError::HookFailed)?
    else {
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
    let stores = state.stores();
    migration::create(
        stores.users(),
        stores.events(),
        username,
        &hash,
        &response,
        state.clock().now(),
        client,
    )
    .await
    .map_err(store_error)
}
