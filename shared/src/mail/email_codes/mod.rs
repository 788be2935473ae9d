//! Single-use codes sent by email: one verifies an address, the other resets a password. A
//! code is 80 random bits (`7QK2-MXD9-TA4R-W8NP`, the recovery codes' alphabet); the store
//! keeps only its SHA-256 hash with the account, the address it was sent to and an expiry (a
//! TTL index removes it). Redeeming is one find-and-delete on the hash, purpose and expiry, so
//! of concurrent redemptions of one code at most one gets it, and a wrong, expired or spent
//! code all look alike: nothing is found.
//!
//! Every code carries the account's token version when it was issued, and acts only while
//! the account is still at that version: a password change or reset, a sign-out everywhere or
//! an administrator's change of the account ends every code issued before it, even one that
//! was being issued while it happened.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoEmailCodeStore;

use crate::identity::account_id::AccountId;
use crate::identity::email_address::EmailAddress;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds the codes.
pub const EMAIL_CODES_COLLECTION: &str = "email_codes";

/// What a code does when redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Makes the address it was sent to the account's verified address.
    Verify,
    /// Lets the holder set a new password.
    Reset,
    /// Lets the holder set a new password: issued by an administrator to pass on, not mailed.
    AdminReset,
}

/// The codes that let their holder set a new password: every one of them dies when the
/// account's password, sessions, address or roles change.
pub const RESET_PURPOSES: [Purpose; 2] = [Purpose::Reset, Purpose::AdminReset];

/// Deletes every reset code of `account` ([`RESET_PURPOSES`]), logging a failure: the codes
/// expire on their own.
pub async fn delete_reset_codes(store: &impl EmailCodeStore, account: &AccountId) {
    for purpose in RESET_PURPOSES {
        if let Err(error) = store.delete_account(account, Some(purpose)).await {
            tracing::warn!(%error, ?purpose, "reset codes not deleted (they expire on their own)");
        }
    }
}

/// Deletes every code of `account`, logging a failure: each is also bound to the token
/// version it was issued under, and expires on its own.
pub async fn delete_all_codes(store: &impl EmailCodeStore, account: &AccountId) {
    if let Err(error) = store.delete_account(account, None).await {
        tracing::warn!(%error, "codes not deleted (they are refused by version, and expire on their own)");
    }
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Reset => "reset",
            Self::AdminReset => "admin_reset",
        }
    }
}

/// A code as stored (without the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailCode {
    /// The account it acts on.
    pub account: AccountId,
    /// What it does.
    pub purpose: Purpose,
    /// Where it was sent: the address it verifies, or the verified address a reset went to;
    /// none for a code an administrator issued.
    pub address: Option<EmailAddress>,
    /// After this it is refused.
    pub expires_at: SystemTime,
    /// The account's token version when the code was issued: once the version moves, the
    /// code is refused.
    pub token_version: u64,
    /// For a code an administrator issued: who. It works only while they could still issue
    /// it.
    pub issued_by: Option<AccountId>,
}

/// A new code: the text to send, once, and the hash the store keys it by.
#[derive(Debug)]
pub struct NewCode {
    /// The code for the message.
    pub code: SecretString,
    /// Its hash.
    pub hash: String,
}

/// A new random code.
pub fn generate() -> Result<NewCode, crate::factors::recovery_codes::NoRandomness> {
    let code = crate::factors::recovery_codes::random_code()?;
    let hash = hash(&code).ok_or(crate::factors::recovery_codes::NoRandomness)?;
    Ok(NewCode {
        code: SecretString::from(code),
        hash,
    })
}

/// The stored hash of a presented code, after normalising what people type (case, spaces,
/// dashes, look-alikes). `None` when it cannot be a code, so nothing is looked up.
pub fn hash(presented: &str) -> Option<String> {
    crate::factors::recovery_codes::normalise(presented).map(|normal| {
        Sha256::digest(normal.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    })
}

/// Where the codes live.
pub trait EmailCodeStore: Send + Sync {
    /// Stores `code` under `hash`.
    fn create(
        &self,
        hash: &str,
        code: &EmailCode,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The unexpired code with this hash and purpose, left in place (to check what it is for
    /// before spending it).
    fn find(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<EmailCode>, StoreError>> + Send;

    /// Deletes and returns the unexpired code with this hash and purpose: `Some` for exactly
    /// one of concurrent calls, and never again.
    fn redeem(
        &self,
        hash: &str,
        purpose: Purpose,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<EmailCode>, StoreError>> + Send;

    /// Deletes every code of `account` with `purpose` (`None`: every code). Returns how many
    /// there were.
    fn delete_account(
        &self,
        account: &AccountId,
        purpose: Option<Purpose>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_hashes_the_same_however_it_is_typed_and_junk_hashes_to_nothing() {
        let new = generate().unwrap();
        use secrecy::ExposeSecret as _;
        let typed = new.code.expose_secret().to_lowercase().replace('-', " ");
        assert_eq!(hash(&typed).as_deref(), Some(new.hash.as_str()));
        assert_ne!(generate().unwrap().hash, new.hash);
        assert_eq!(hash("not-a-code"), None);
        assert_eq!(hash(""), None);
    }
}
