//! What each user allowed each third-party application: the scopes, remembered per account
//! and relying party, so the consent page is shown again only for a scope not allowed
//! before (or when the application asks with `prompt=consent`). The user reads and revokes
//! them through the account API; deleting the account deletes them.
//!
//! A grant adds the allowed scopes to what the account allowed that application before, in
//! one write, so two consent pages answered at once both count.

#[cfg(test)]
mod contract;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoConsentStore;

use crate::access::client_id::RelyingPartyId;
use crate::access::scopes::Scopes;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::future::Future;
use std::time::SystemTime;

/// The collection consents live in.
pub const CONSENTS_COLLECTION: &str = "consents";

/// What one account allowed one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The account.
    pub account: AccountId,
    /// The application.
    pub client: RelyingPartyId,
    /// Every scope allowed so far.
    pub scopes: Scopes,
    /// When a scope was last allowed.
    pub granted_at: SystemTime,
}

impl Consent {
    /// Whether these scopes were all allowed already.
    pub fn covers(&self, scopes: &Scopes) -> bool {
        scopes.is_subset(&self.scopes)
    }
}

/// Where consents live.
pub trait ConsentStore: Send + Sync {
    /// Adds `scopes` to what `account` allowed `client`, at `now`, in one write.
    fn grant(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
        scopes: &Scopes,
        now: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// What `account` allowed `client`, if anything.
    fn find(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> impl Future<Output = Result<Option<Consent>, StoreError>> + Send;

    /// Everything `account` allowed, by application id.
    fn list(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<Consent>, StoreError>> + Send;

    /// Forgets what `account` allowed `client`. Returns whether there was anything.
    fn revoke(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets everything `account` allowed (the account is being deleted).
    fn delete_account(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
