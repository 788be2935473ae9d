//! What a caller may do: OAuth scopes and the routes that require them ([`scopes`]), the
//! operator's roles that grant scopes to accounts ([`roles`]), the machine clients of the
//! client-credentials grant ([`client_id`], [`clients`], a store), the relying parties users
//! sign in to through the authorization endpoint ([`relying_parties`], a store) and the
//! redirect URIs they may send users back to ([`redirect_uris`]).
//!
//! Builds on [`crate::platform`] and [`crate::identity`].

pub mod client_id;
pub mod roles;
pub mod scopes;

#[cfg(feature = "database")]
pub mod clients;
#[cfg(feature = "database")]
pub mod redirect_uris;
#[cfg(feature = "database")]
pub mod relying_parties;
