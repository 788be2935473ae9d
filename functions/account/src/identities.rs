//! Unlinking an identity at another provider, and the rule it shares with deleting a
//! passkey: an account keeps at least one way to sign in (its password, a passkey, a linked
//! identity). The count and the removal run under the account's `sign-in-methods:<id>` lease,
//! so two parallel removals cannot both see "another one is left".

use crate::reauthentication;
use crate::{State, record};
use lambda_http::Request;
use shared::abuse::leases::LeaseStore as _;
use shared::factors::passkeys::PasskeyStore as _;
use shared::identity::account_events::EventKind;
use shared::identity::identities::IdentityStore as _;
use shared::identity::users::User;
use shared::platform::database::StoreError;
use shared::platform::http::ApiError;
use shared::stores::Stores;
use std::future::Future;

const IDENTITY_NOT_FOUND: ApiError = ApiError::NoSuchResource {
    code: "identity_not_found",
    message: "no identity with this id is linked to your account",
};

/// How long a removal may hold the account's lease (it releases it at once).
const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

fn store(error: StoreError) -> ApiError {
    ApiError::from_store(&error)
}

/// Runs `remove` (which answers whether it removed anything) unless it would take the
/// account's last way to sign in; `409 last_sign_in_method` then.
pub(crate) async fn unless_the_last<S, F, Fut>(
    state: &State<S>,
    user: &User,
    remove: F,
) -> Result<bool, ApiError>
where
    S: Stores,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<bool, StoreError>>,
{
    let leases = state.stores.leases();
    let lease = format!("sign-in-methods:{}", user.id.as_str());
    let holder = uuid::Uuid::new_v4().to_string();
    if !leases
        .acquire(&lease, &holder, state.clock.now(), LEASE_TTL)
        .await
        .map_err(store)?
    {
        return Err(ApiError::Conflict {
            code: "sign_in_methods_changing",
            message: "another way to sign in is being removed from this account; try again in a moment",
        });
    }
    let outcome = async {
        let (passkeys, identities) = tokio::join!(
            state.stores.passkeys().list(&user.id),
            state.stores.identities().list(&user.id)
        );
        let methods =
            usize::from(user.has_password()) + passkeys.map_err(store)?.len() + identities.map_err(store)?.len();
        if methods <= 1 {
            return Err(ApiError::Conflict {
                code: "last_sign_in_method",
                message: "this is the last way to sign in to the account: add a password, a passkey or another provider first",
            });
        }
        remove().await.map_err(store)
    }
    .await;
    if let Err(error) = leases.release(&lease, &holder).await {
        tracing::warn!(%error, "sign-in methods lease not released (it runs out on its own)");
    }
    outcome
}

/// `DELETE /users/me/identities/{id}`: unlinks one of the caller's identities after a recent
/// login (and, with TOTP on, a code in a JSON body), unless it is the account's last way to
/// sign in. `204`, `404 identity_not_found`, `409 last_sign_in_method`.
pub(crate) async fn unlink<S: Stores>(state: &State<S>, request: &Request) -> Result<(), ApiError> {
    let (caller, id) = reauthentication::removal(state, request, IDENTITY_NOT_FOUND).await?;
    let user = &caller.user;
    let linked = state
        .stores
        .identities()
        .list(&user.id)
        .await
        .map_err(store)?;
    let identity = linked
        .into_iter()
        .find(|identity| identity.id() == id)
        .ok_or(IDENTITY_NOT_FOUND)?;
    let removed = unless_the_last(state, user, || {
        state
            .stores
            .identities()
            .unlink(&user.id, &identity.issuer, &identity.subject)
    })
    .await?;
    if !removed {
        return Err(IDENTITY_NOT_FOUND);
    }
    record(state, &user.id, EventKind::IdentityUnlinked, request).await;
    tracing::info!(username = %user.username, issuer = %identity.issuer, "identity unlinked");
    if let Some(address) = &user.email {
        let to = shared::mail::flows::Recipient {
            account: &user.id,
            username: &user.username,
            address,
        };
        let what = format!(
            "An identity at {} was unlinked from your account: it no longer signs you in. If this was not you, sign in and change your password.",
            identity.issuer
        );
        state.outgoing().send_notice(&to, &what).await;
    }
    Ok(())
}

/// `PUT /users/me/username` `{"username"}`: an account created through another provider
/// chooses its own name once, in place of the one proposed for it (the sign-up rules for
/// names apply). `200 {"username"}`, `409 username_taken`, `409 username_chosen`.
pub(crate) async fn choose_username<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<serde_json::Value, ApiError> {
    use shared::identity::users::{Renaming, UserStore as _};
    let caller = reauthentication::recent_caller(state, request).await?;
    reauthentication::refuse_third_parties_for_accounts_without_a_password(state, &caller).await?;
    let fields = shared::platform::http::json_fields(request)?;
    let username = shared::identity::credentials::Username::for_new_account(
        shared::platform::http::string_field(&fields, "username")?,
    )
    .map_err(|error| ApiError::InvalidField {
        field: "username",
        message: error.to_string(),
    })?;
    let user = &caller.user;
    let renamed = state
        .stores
        .users()
        .rename_provisional(&user.id, &username, state.clock.now())
        .await
        .map_err(store)?;
    match renamed {
        Renaming::Renamed => {
            tracing::info!(account = %user.id, from = %user.username, to = %username, "proposed username replaced");
            Ok(serde_json::json!({ "username": username.as_str() }))
        }
        Renaming::UsernameTaken => Err(ApiError::UsernameTaken),
        Renaming::NotProvisional => Err(ApiError::Conflict {
            code: "username_chosen",
            message: "the username was chosen already: it changes only once, after a first sign-in through another provider",
        }),
    }
}
