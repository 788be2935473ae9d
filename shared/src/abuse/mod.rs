//! Abuse controls, each a store whose every decision is one atomic write: the per-username
//! and per-address password lockout ([`login_failures`]), fixed-window limits on mail and
//! code redemption ([`rate_limits`]), and leases that serialise one kind of change across
//! every function instance ([`leases`]).
//!
//! Builds on [`crate::platform`] and [`crate::identity`].

pub mod leases;
pub mod login_failures;
pub mod rate_limits;
