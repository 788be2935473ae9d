//! Short leases that serialise one kind of change across every function instance: the
//! holder of a named lease is the only one making that change until it releases the lease
//! or the lease runs out (a holder that dies mid-way blocks the others for at most that
//! long). The admin API holds `administrators` while it counts the administrators and
//! removes one, so two such changes cannot both see "another one is left".

#[cfg(test)]
mod contract;

#[cfg(any(test, feature = "test-support"))]
pub mod fake;
mod mongo;

pub use mongo::MongoLeaseStore;

use crate::platform::database::StoreError;
use mongodb::bson::doc;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The collection that holds the leases.
pub const LEASES_COLLECTION: &str = "leases";

/// Where leases live.
pub trait LeaseStore: Send + Sync {
    /// Takes the lease `name` for `holder` until `now + ttl`, unless someone else holds it
    /// and it has not run out. Returns whether `holder` has it now.
    fn acquire(
        &self,
        name: &str,
        holder: &str,
        now: SystemTime,
        ttl: Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the lease back, if `holder` still holds it.
    fn release(
        &self,
        name: &str,
        holder: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
