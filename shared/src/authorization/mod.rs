//! The authorization-code flow: the codes the authorization endpoint issues and the token
//! endpoint redeems once ([`codes`], a store), and Proof Key for Code Exchange ([`pkce`]),
//! what binds a code to the client that asked for it.
//!
//! Builds on every folder before [`crate::stores`].

#[cfg(feature = "database")]
pub mod codes;
pub mod pkce;
