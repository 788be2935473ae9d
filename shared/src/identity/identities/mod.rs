//! Identities at other providers linked to accounts: each is keyed by its issuer and its
//! subject there (never by an email address), belongs to one account at most, and records
//! the address the provider asserted and whether it said it verified it. Linking is one
//! insert that a second account's link of the same identity cannot also win.

#[cfg(test)]
mod contract;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoIdentityStore;

use crate::identity::account_id::AccountId;
use crate::identity::email_address::EmailAddress;
use crate::platform::database::StoreError;
use std::future::Future;
use std::time::SystemTime;

/// The collection identities live in.
pub const IDENTITIES_COLLECTION: &str = "identities";

/// An identity at another provider, linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's issuer (for a plain OAuth 2 provider, its fixed name such as
    /// `https://github.com`).
    pub issuer: String,
    /// The user's subject at the provider: stable and unique per issuer.
    pub subject: String,
    /// The account it signs in to.
    pub account: AccountId,
    /// The address the provider asserted, as it asserted it.
    pub email: Option<EmailAddress>,
    /// Whether the provider said it verified that address.
    pub email_verified: bool,
    /// When it was linked.
    pub linked_at: SystemTime,
    /// When it last signed in.
    pub last_used_at: SystemTime,
}

impl Identity {
    /// The identity's id in URLs (`DELETE /users/me/identities/{id}`): the first 24 hex
    /// digits of the SHA-256 of its key, stable and opaque.
    pub fn id(&self) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(key(&self.issuer, &self.subject).as_bytes())
            .iter()
            .take(12)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// The identity as the account's owner and the operator see it.
    pub fn view(&self) -> serde_json::Value {
        let at = |time: SystemTime| humantime::format_rfc3339_millis(time).to_string();
        serde_json::json!({
            "id": self.id(),
            "issuer": self.issuer,
            "subject": self.subject,
            "email": self.email.as_ref().map(EmailAddress::as_str),
            "email_verified": self.email_verified,
            "linked_at": at(self.linked_at),
            "last_used_at": at(self.last_used_at),
        })
    }
}

/// What a link came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Linked to the account.
    Linked,
    /// The identity is already linked, to this account or another: nothing changed.
    AlreadyLinked(AccountId),
}

/// Where identities live.
pub trait IdentityStore: Send + Sync {
    /// Links `identity` to its account in one insert, unless the identity is linked already.
    fn link(&self, identity: &Identity) -> impl Future<Output = Result<Link, StoreError>> + Send;

    /// The identity `subject` at `issuer`, if linked.
    fn find(
        &self,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = Result<Option<Identity>, StoreError>> + Send;

    /// The identities linked to `account`, oldest link first.
    fn list(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<Identity>, StoreError>> + Send;

    /// Records a sign-in with the identity at `now`.
    fn touch(
        &self,
        issuer: &str,
        subject: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Unlinks the identity from `account`. Returns whether it was linked to it.
    fn unlink(
        &self,
        account: &AccountId,
        issuer: &str,
        subject: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Unlinks every identity of `account` (the account is being deleted).
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The key an identity is stored under: its issuer and subject, which cannot run into each
/// other (an issuer is a URL without a space).
fn key(issuer: &str, subject: &str) -> String {
    format!("{issuer} {subject}")
}
