//! The authorization-code flow: the codes the authorization endpoint issues and the token
//! endpoint redeems once ([`codes`], a store), what users allowed third-party applications
//! ([`consents`], a store), and Proof Key for Code Exchange ([`pkce`]), what binds a code to
//! the client that asked for it.
//!
//! Builds on every folder before [`crate::stores`].

#[cfg(feature = "database")]
pub mod codes;
#[cfg(feature = "database")]
pub mod consents;
pub mod pkce;
