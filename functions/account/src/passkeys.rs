//! Registering and deleting the caller's passkeys. Registration is two calls: the options
//! (after a recent login, with the current password and, with TOTP on, a code from it: a
//! passkey signs in alone, so adding one asks what a password change asks), then the
//! browser's answer, verified against the ceremony stored under its challenge and bound to
//! the caller. Deleting one needs a recent login and, with TOTP on, a code. Both send the
//! account's verified address a notice.

use crate::reauthentication::{self, RecentCaller};
use crate::{State, internal, record};
use lambda_http::Request;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};
use shared::abuse::leases::LeaseStore;
use shared::factors::passkey_ceremonies::{
    CEREMONY_LIFETIME, Ceremony, CeremonyKind, PasskeyCeremonyStore,
};
use shared::factors::passkeys::webauthn::{self, PasskeyError, RegistrationResponse, RelyingParty};
use shared::factors::passkeys::{MAX_PASSKEYS_PER_ACCOUNT, Passkey, PasskeyStore, valid_name};
use shared::identity::account_events::EventKind;
use shared::platform::http::{ApiError, json_fields};
use shared::stores::Stores;

/// `POST /users/me/passkeys/registration-options`: `{"publicKey": creation options}` for
/// `navigator.credentials.create`, valid for five minutes and for this account only.
pub(crate) async fn registration_options<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<Value, ApiError> {
    let caller = reauthentication::recent_caller(state, request).await?;
    let fields = json_fields(request)?;
    reauthentication::confirm_current_password(state, &caller, &fields, request).await?;
    let relying_party = relying_party(state, request)?;
    let user = &caller.user;
    let existing = state
        .stores
        .passkeys()
        .list(&user.id)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if existing.len() >= MAX_PASSKEYS_PER_ACCOUNT {
        return Err(too_many());
    }
    let started =
        webauthn::start_registration(&relying_party, &user.id, user.username.as_str(), &existing)
            .map_err(internal)?;
    let ceremony = Ceremony {
        kind: CeremonyKind::Registration,
        account: Some(user.id.clone()),
        mfa_token_hash: None,
        token_version: Some(user.token_version),
        state: started.state,
        expires_at: state.clock.now() + CEREMONY_LIFETIME,
    };
    state
        .stores
        .passkey_ceremonies()
        .create(&started.challenge, &ceremony)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    tracing::info!(username = %user.username, rp_id = relying_party.id(), "passkey registration started");
    Ok(json!({ "publicKey": started.options }))
}

/// `POST /users/me/passkeys` `{"name", "credential"}`: verifies the browser's answer and
/// stores the passkey. Answers `201` with the passkey.
pub(crate) async fn register<S: Stores>(
    state: &State<S>,
    request: &Request,
) -> Result<(StatusCode, Value), ApiError> {
    let caller = reauthentication::recent_caller(state, request).await?;
    let fields = json_fields(request)?;
    let name = match fields.get("name") {
        Some(Value::String(name)) => valid_name(name),
        Some(_) => Err("name must be a string"),
        None => Err("name is required"),
    }
    .map_err(|message| ApiError::InvalidField {
        field: "name",
        message: message.to_owned(),
    })?;
    let credential = match fields.get("credential") {
        Some(credential @ Value::Object(_)) => credential,
        _ => {
            return Err(ApiError::InvalidField {
                field: "credential",
                message: "credential must be the object navigator.credentials.create answered (its JSON form)".to_owned(),
            });
        }
    };
    let json = serde_json::to_vec(credential).map_err(internal)?;
    let response = RegistrationResponse::parse(&json).map_err(malformed)?;
    let challenge = response.challenge().map_err(malformed)?;
    let relying_party = relying_party(state, request)?;
    let user = &caller.user;
    let now = state.clock.now();
    let ceremony = state
        .stores
        .passkey_ceremonies()
        .consume(&challenge, CeremonyKind::Registration, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    let Some(ceremony) = ceremony.filter(|ceremony| {
        ceremony.account.as_ref() == Some(&user.id)
            && ceremony.token_version == Some(user.token_version)
    }) else {
        tracing::info!(username = %user.username, "passkey refused: no live registration challenge of this account under its current credentials");
        return Err(ApiError::InvalidPasskey);
    };
    let verified = webauthn::finish_registration(&relying_party, &ceremony.state, &response)
        .map_err(|error| refused(&caller, &error))?;
    let passkey = Passkey {
        id: verified.id,
        account: user.id.clone(),
        name,
        transports: verified.transports,
        public_key: verified.public_key,
        state: verified.state,
        sign_count: verified.sign_count,
        backup_eligible: verified.backup_eligible,
        created_at: now,
        last_used_at: None,
        generation: user.passkey_generation,
    };
    add_within_limit(state, &passkey).await?;
    keep_only_if_credentials_stand(state, user, &passkey).await?;
    record(state, &user.id, EventKind::PasskeyAdded, request).await;
    tracing::info!(username = %user.username, passkey = %passkey.id, "passkey registered");
    let what = format!(
        "A passkey named \"{}\" was added to your account; it signs in without the password. If this was not you, delete it (DELETE /users/me/passkeys/{}) and change your password.",
        passkey.name, passkey.id
    );
    notify(state, user, &what).await;
    Ok((StatusCode::CREATED, passkey.view()))
}

/// Deletes the passkey just stored again when the account's credentials changed while it was
/// registered (a password reset or sign-out everywhere finished in between): `401`. A reset
/// moves the passkey generation before it deletes passkeys, so whichever write lands first,
/// no passkey of the old credentials remains, and none ever signs in (its generation is
/// refused at sign-in from the moment it was stored).
async fn keep_only_if_credentials_stand<S: Stores>(
    state: &State<S>,
    user: &shared::identity::users::User,
    passkey: &Passkey,
) -> Result<(), ApiError> {
    use shared::identity::users::UserStore as _;
    let store = |error: shared::platform::database::StoreError| ApiError::from_store(&error);
    let now = state
        .stores
        .users()
        .find_by_id(&user.id)
        .await
        .map_err(store)?;
    let stands = now.is_some_and(|now| {
        !now.disabled
            && now.token_version == user.token_version
            && now.passkey_generation == user.passkey_generation
    });
    if stands {
        return Ok(());
    }
    state
        .stores
        .passkeys()
        .remove(&user.id, &passkey.id)
        .await
        .map_err(store)?;
    tracing::info!(username = %user.username, "passkey registration lost a race with a change of the account's credentials");
    Err(ApiError::Unauthenticated)
}

/// How long a registration may hold its account's passkey lease (it releases it at once).
const PASSKEYS_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(10);

/// Stores `passkey` unless its account has [`MAX_PASSKEYS_PER_ACCOUNT`]: the count and the
/// insert run under the account's `passkeys:<id>` lease, so parallel registrations cannot
/// all see room for one more.
async fn add_within_limit<S: Stores>(state: &State<S>, passkey: &Passkey) -> Result<(), ApiError> {
    let store = |error: shared::platform::database::StoreError| ApiError::from_store(&error);
    let leases = state.stores.leases();
    let lease = format!("passkeys:{}", passkey.account.as_str());
    let holder = uuid::Uuid::new_v4().to_string();
    if !leases
        .acquire(&lease, &holder, state.clock.now(), PASSKEYS_LEASE_TTL)
        .await
        .map_err(store)?
    {
        return Err(ApiError::Conflict {
            code: "passkeys_changing",
            message: "another passkey is being registered to this account; start again in a moment",
        });
    }
    let outcome = async {
        let passkeys = state.stores.passkeys();
        let existing = passkeys.list(&passkey.account).await.map_err(store)?;
        if existing.len() >= MAX_PASSKEYS_PER_ACCOUNT {
            return Err(too_many());
        }
        if passkeys.add(passkey).await.map_err(store)? {
            Ok(())
        } else {
            Err(ApiError::Conflict {
                code: "passkey_exists",
                message: "this passkey is already registered",
            })
        }
    }
    .await;
    if let Err(error) = leases.release(&lease, &holder).await {
        tracing::warn!(%error, "passkeys lease not released (it runs out on its own)");
    }
    outcome
}

/// `DELETE /users/me/passkeys/{id}`: deletes one of the caller's passkeys. With TOTP on,
/// the request carries a code (`otp` or `recovery_code` in a JSON body).
pub(crate) async fn remove<S: Stores>(state: &State<S>, request: &Request) -> Result<(), ApiError> {
    let (caller, id) = reauthentication::removal(state, request, not_found()).await?;
    let user = &caller.user;
    let removed = crate::identities::unless_the_last(state, user, || {
        state.stores.passkeys().remove(&user.id, &id)
    })
    .await?;
    if !removed {
        return Err(not_found());
    }
    record(state, &user.id, EventKind::PasskeyRemoved, request).await;
    tracing::info!(username = %user.username, passkey = %id, "passkey deleted");
    let what = "A passkey was deleted from your account. If this was not you, sign in and change your password.";
    notify(state, user, what).await;
    Ok(())
}

/// Mails `what` to the account's verified address, if it has one.
async fn notify<S: Stores>(state: &State<S>, user: &shared::identity::users::User, what: &str) {
    if let Some(address) = &user.email {
        let to = shared::mail::flows::Recipient {
            account: &user.id,
            username: &user.username,
            address,
        };
        state.outgoing().send_notice(&to, what).await;
    }
}

fn relying_party<S>(state: &State<S>, request: &Request) -> Result<RelyingParty, ApiError> {
    state
        .passkeys
        .relying_party(request)
        .ok_or_else(|| internal("no relying party: set PASSKEY_RP_ID, or call through API Gateway"))
}

fn refused(caller: &RecentCaller, error: &PasskeyError) -> ApiError {
    match error {
        PasskeyError::State(_) => internal(error),
        _ => {
            tracing::info!(username = %caller.user.username, %error, "passkey registration refused");
            ApiError::InvalidPasskey
        }
    }
}

fn malformed(error: PasskeyError) -> ApiError {
    ApiError::InvalidField {
        field: "credential",
        message: error.to_string(),
    }
}

fn too_many() -> ApiError {
    ApiError::Conflict {
        code: "too_many_passkeys",
        message: "this account has the most passkeys it may have (20): delete one first",
    }
}

fn not_found() -> ApiError {
    ApiError::NoSuchResource {
        code: "passkey_not_found",
        message: "you have no passkey with this id",
    }
}
