//! Single-use records of federated sign-ins under way: the `state` of a sign-in sent to a
//! provider (its nonce, PKCE verifier and where it goes on), an identity waiting for its
//! owner's sign-in to be linked, and assertions already used (an id_token presented twice).
//! Each is taken at most once, in one atomic operation, and expires.

#[cfg(test)]
mod contract;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoPendingStore;

use crate::platform::database::StoreError;
use std::future::Future;
use std::time::SystemTime;

/// The collection the records live in.
pub const PENDING_COLLECTION: &str = "federation_pending";

/// Where the records live.
pub trait PendingStore: Send + Sync {
    /// Stores `record` (JSON) under `key` until `expires_at`.
    fn put(
        &self,
        key: &str,
        record: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes and returns the record under `key` if it has not expired at `now`: of
    /// parallel takes, one gets it.
    fn take(
        &self,
        key: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Marks `key` used until `expires_at`. Returns false when it was used already (and has
    /// not expired): of parallel marks, one returns true.
    fn use_once(
        &self,
        key: &str,
        now: SystemTime,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}
