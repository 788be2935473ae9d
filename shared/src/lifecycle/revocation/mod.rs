//! What ends when an account's credentials change. A password change or reset, a sign-out
//! everywhere, and an administrator's disable, sign-out, second-factor reset or role change
//! each bump the account's token version in one conditional update that also clears the
//! address waiting for verification ([`crate::identity::users::UserStore`]). Everything started under
//! the old credentials is bound to the version it began under and refused from then on: access
//! and refresh tokens, emailed and administrator-issued codes, pending second-factor logins,
//! passkey registrations. [`end_started_before`] then deletes what is stored of it, so nothing
//! outlives the change even where a store is read without its version.

#[cfg(test)]
mod contract;

use crate::authorization::codes::AuthorizationCodeStore;
use crate::factors::mfa_challenges::MfaChallengeStore;
use crate::factors::passkey_ceremonies::PasskeyCeremonyStore;
use crate::identity::account_id::AccountId;
use crate::mail::email_codes;
use crate::platform::database::StoreError;
use crate::sessions::SessionStore;
use crate::stores::Stores;

/// After the account's token version moved: revokes every session (an error: a session the
/// version check would refuse anyway, but the owner's list must not show it), and deletes
/// every emailed or issued code, pending second-factor login, passkey ceremony and
/// authorization code of `account` (failures logged: each is refused by its version, and expires on its own).
pub async fn end_started_before<S: Stores>(
    stores: &S,
    account: &AccountId,
) -> Result<(), StoreError> {
    let (sessions, (), challenges, ceremonies, codes) = tokio::join!(
        stores.sessions().revoke_account(account),
        email_codes::delete_all_codes(stores.email_codes(), account),
        stores.mfa_challenges().delete_account(account),
        stores.passkey_ceremonies().delete_account(account),
        stores.authorization_codes().delete_account(account),
    );
    if let Err(error) = challenges.and(ceremonies).and(codes) {
        tracing::warn!(%error, "pending logins, ceremonies or authorization codes not deleted (refused by version; they expire on their own)");
    }
    sessions.map(|_| ())
}
