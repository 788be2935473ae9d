//! The authorization-code flow: the codes the authorization endpoint issues and the token
//! endpoint redeems once ([`codes`], a store), what users allowed third-party applications
//! ([`consents`], a store), the sign-ins under way at upstream providers
//! ([`federation_pending`], a store), and Proof Key for Code Exchange ([`pkce`]), what binds a code to
//! the client that asked for it.
//!
//! Builds on every folder before [`crate::stores`].

#[cfg(feature = "database")]
pub mod codes;
#[cfg(feature = "database")]
pub mod consents;
#[cfg(feature = "database")]
pub mod federation_pending;
pub mod pkce;
