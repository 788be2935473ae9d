//! Signing in through other providers ("Sign in with Google"): the configured upstream
//! [`providers`], the HTTP calls to them ([`upstream`]), their id_tokens ([`id_tokens`]) and the rules that decide
//! which account an upstream identity signs in to ([`linking`]).

pub mod id_tokens;
pub mod linking;
pub mod providers;
pub mod upstream;

// The single-use records of sign-ins under way are a store: crate::authorization::federation_pending.
