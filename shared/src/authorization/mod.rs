//! The authorization-code flow: Proof Key for Code Exchange ([`pkce`]), what binds an
//! authorization code to the client that asked for it.
//!
//! Builds on every folder before [`crate::stores`].

pub mod pkce;
