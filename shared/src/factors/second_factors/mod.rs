//! Second factors (TOTP), one document per account: the secret sealed at rest
//! ([`crate::factors::secret_box`]), whether the enrolment was confirmed with a first code, the step of
//! the last code accepted (so a code is never accepted twice), and the SHA-256 hashes of the
//! unused recovery codes. Accepting a code and spending a recovery code are each one
//! conditional update, so concurrent uses of one code succeed at most once.

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoSecondFactorStore;

use crate::factors::secret_box::Sealed;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use mongodb::bson::doc;
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds second factors.
pub const SECOND_FACTORS_COLLECTION: &str = "second_factors";

/// An account's second factor as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactor {
    /// The TOTP secret, sealed with the account id as context.
    pub secret: Sealed,
    /// Whether a first code confirmed it; only then does it guard logins.
    pub confirmed: bool,
    /// The step of the last code accepted.
    pub last_step: Option<u64>,
    /// Hashes of the recovery codes not yet used.
    pub recovery_codes: Vec<String>,
}

/// Where second factors live. Implemented for MongoDB and, for handler tests, in memory.
pub trait SecondFactorStore: Send + Sync {
    /// Stores a new, unconfirmed enrolment for `account`, replacing an unconfirmed one.
    /// Returns `false` (and changes nothing) when the account has a confirmed factor.
    fn begin_enrolment(
        &self,
        account: &AccountId,
        secret: &Sealed,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The account's second factor, confirmed or not.
    fn find(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Option<SecondFactor>, StoreError>> + Send;

    /// Confirms the unconfirmed enrolment whose secret is `pending` (the one its first code
    /// was checked against: a restarted enrolment is not confirmed by the old one's code) with
    /// the step of that code and the hashes of its recovery codes. Returns whether it did.
    fn confirm(
        &self,
        account: &AccountId,
        pending: &Sealed,
        step: u64,
        recovery_codes: &[String],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `step` as accepted if it is later than the last accepted one, atomically: of
    /// concurrent uses of one code exactly one gets `true`.
    fn accept_step(
        &self,
        account: &AccountId,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends the recovery code with `hash`, atomically: `true` for exactly one of concurrent
    /// uses of one code, and never again.
    fn spend_recovery_code(
        &self,
        account: &AccountId,
        hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the sealed secret `old` with `new` (the same secret under the current data
    /// key), only if `old` is still the stored one. Returns whether it replaced it.
    fn reseal(
        &self,
        account: &AccountId,
        old: &Sealed,
        new: &Sealed,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the recovery codes of the confirmed factor with `hashes` (the old ones stop
    /// working). Returns whether the account has a confirmed factor.
    fn replace_recovery_codes(
        &self,
        account: &AccountId,
        hashes: &[String],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the account's second factor. Returns whether there was one.
    fn remove(&self, account: &AccountId) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
