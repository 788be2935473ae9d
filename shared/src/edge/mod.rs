//! Where a function meets Lambda: the cold start every function shares ([`startup`]) and the
//! caller the authorizer established, loaded with its current state ([`principal`]).
//!
//! The top of the crate: it may use every other folder, and none uses it.

#[cfg(feature = "database")]
pub mod principal;
pub mod startup;
