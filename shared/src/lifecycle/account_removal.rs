//! Deleting an account and everything keyed to it, for its owner (`DELETE /users/me`) and
//! for an administrator (`DELETE /admin/users/{id}`).

use crate::abuse::login_failures::{LoginFailureStore, SecondFactorFailures};
use crate::authorization::codes::AuthorizationCodeStore;
use crate::authorization::consents::ConsentStore;
use crate::factors::mfa_challenges::MfaChallengeStore;
use crate::factors::passkey_ceremonies::PasskeyCeremonyStore;
use crate::factors::passkeys::PasskeyStore;
use crate::factors::second_factors::SecondFactorStore;
use crate::identity::account_events::{self, AccountEvent, AccountEventStore, EventKind};
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::identities::IdentityStore;
use crate::identity::users::{User, UserStore};
use crate::mail::email_codes::EmailCodeStore;
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use crate::sessions::SessionStore;
use crate::stores::Stores;
use std::time::SystemTime;

/// Deletes `user`: first what is keyed to it except the second factor (sessions, passkeys, pending
/// second-factor logins and passkey ceremonies, failure counters, emailed codes, security history), so a failure
/// leaves an account, still guarded by its second factor, that can be deleted again; then
/// the account, which every protected function refuses from then on; then everything keyed
/// to it, the second factor included, once more (a login racing the deletion may have added
/// some). Only the `account_deleted` event stays, under [`account_events::pseudonym`], with
/// `actor` when an administrator deleted it.
pub async fn delete_account<S: Stores>(
    stores: &S,
    user: &User,
    actor: Option<&AccountId>,
    now: SystemTime,
) -> Result<(), StoreError> {
    remove_keyed_to(stores, &user.id, &user.username).await?;
    stores.users().delete(&user.id).await?;
    let (again, factor) = tokio::join!(
        remove_keyed_to(stores, &user.id, &user.username),
        stores.second_factors().remove(&user.id)
    );
    if let Err(error) = again.and(factor.map(|_| ())) {
        tracing::warn!(%error, "account deleted; the second pass over its data failed (TTLs remove most of the rest)");
    }
    let pseudonym = account_events::pseudonym(&user.id);
    let mut event = AccountEvent::new(
        &pseudonym,
        EventKind::AccountDeleted,
        now,
        &RequestSource::default(),
    );
    event.actor = actor.cloned();
    account_events::record(stores.events(), &event).await;
    Ok(())
}

/// Removes what is keyed to the account, its second factor aside.
async fn remove_keyed_to<S: Stores>(
    stores: &S,
    account: &AccountId,
    username: &Username,
) -> Result<(), StoreError> {
    let codes_key = SecondFactorFailures(account);
    let (
        sessions,
        challenges,
        events,
        passwords,
        codes,
        emailed,
        passkeys,
        ceremonies,
        grants,
        consents,
        identities,
    ) = tokio::join!(
        stores.sessions().delete_account(account),
        stores.mfa_challenges().delete_account(account),
        stores.events().delete_account(account),
        stores.login_failures().reset(username),
        stores.login_failures().reset(&codes_key),
        stores.email_codes().delete_account(account, None),
        stores.passkeys().delete_account(account),
        stores.passkey_ceremonies().delete_account(account),
        stores.authorization_codes().delete_account(account),
        stores.consents().delete_account(account),
        stores.identities().delete_account(account),
    );
    grants?;
    consents?;
    identities?;
    passkeys?;
    ceremonies?;
    emailed?;
    sessions?;
    challenges?;
    events?;
    passwords?;
    codes?;
    Ok(())
}
