//! The rule that an installation always keeps one enabled administrator (an account whose
//! roles grant `users:admin`): no disable, demotion or deletion, by an administrator or by
//! the account's owner, may remove the last one.

use crate::abuse::leases::LeaseStore;
use crate::access::roles::{Roles, USERS_ADMIN_SCOPE};
use crate::identity::users::{User, UserStore};
use crate::platform::http::ApiError;
use crate::stores::Stores;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The lease that serialises changes which may remove an administrator.
const ADMINISTRATORS_LEASE: &str = "administrators";
/// How long a change may hold it: far above one update's time, short enough that a crashed
/// holder blocks the others only briefly.
const ADMINISTRATORS_LEASE_TTL: Duration = Duration::from_secs(10);

/// The answer when a change would leave no enabled administrator.
pub const LAST_ADMINISTRATOR: ApiError = ApiError::Conflict {
    code: "last_administrator",
    message: "this is the last enabled administrator: make another one first (or use grant-role)",
};

/// Runs `change`, which leaves `target` with only `remaining` of its roles (or none, or
/// disabled, or deleted), refused with `409 last_administrator` when it would leave no
/// enabled administrator. A change that removes an administrator holds the
/// `administrators` lease from its count to its write, so two of them (two administrators
/// disabling each other at once) cannot both count the other; the second answers `409
/// administrators_changing` and can be retried.
pub async fn keeping_one<S: Stores, T>(
    stores: &S,
    roles: &Roles,
    now: SystemTime,
    target: &User,
    remaining: &[String],
    change: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let store = |error: crate::platform::database::StoreError| ApiError::from_store(&error);
    let granting = roles.granting(USERS_ADMIN_SCOPE);
    let is_admin = |roles: &[String]| roles.iter().any(|role| granting.contains(role));
    if target.disabled || !is_admin(&target.roles) || is_admin(remaining) {
        return change.await;
    }
    let leases = stores.leases();
    let holder = uuid::Uuid::new_v4().to_string();
    if !leases
        .acquire(ADMINISTRATORS_LEASE, &holder, now, ADMINISTRATORS_LEASE_TTL)
        .await
        .map_err(store)?
    {
        return Err(ApiError::Conflict {
            code: "administrators_changing",
            message: "another change to the administrators is under way; retry in a moment",
        });
    }
    let outcome = async {
        let admins = stores
            .users()
            .count_enabled_holding(&granting)
            .await
            .map_err(store)?;
        if admins <= 1 {
            tracing::info!(target = %target.id, "refused: the last enabled administrator");
            return Err(LAST_ADMINISTRATOR);
        }
        change.await
    }
    .await;
    if let Err(error) = leases.release(ADMINISTRATORS_LEASE, &holder).await {
        tracing::warn!(%error, "administrators lease not released (it runs out on its own)");
    }
    outcome
}
