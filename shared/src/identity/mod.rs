//! Who an account is: its immutable id ([`account_id`]), the username and password as typed
//! ([`credentials`]), its address ([`email_address`]), the accounts themselves ([`users`],
//! a store), each account's security history ([`account_events`], a store) and its
//! identities at other providers ([`identities`], a store).
//!
//! Builds on [`crate::platform`] only.

pub mod account_id;
pub mod credentials;

#[cfg(feature = "database")]
pub mod account_events;
#[cfg(feature = "database")]
pub mod email_address;
#[cfg(feature = "database")]
pub mod identities;
#[cfg(feature = "database")]
pub mod users;
