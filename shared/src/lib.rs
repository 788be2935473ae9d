//! Everything the Lambda functions share, in folders by domain. Each folder uses only the
//! folders listed before it here (`tests::imports_run_one_way` keeps it so; [`testing`] is
//! for tests and may use any).
//!
//! | folder | what it holds |
//! |---|---|
//! | [`platform`] | settings and secrets, logs and metrics, the clock, the MongoDB connection, the HTTP vocabulary, the Lambda event loop |
//! | [`identity`] | account ids, usernames and passwords as typed, addresses, the accounts, each account's security history |
//! | [`products`] | the product catalogue |
//! | [`access`] | scopes and the routes that need them, roles, machine clients |
//! | [`tokens`] | EdDSA access tokens, their keys, settings and issuer |
//! | [`sessions`] | sessions and their rotating refresh tokens |
//! | [`factors`] | password hashing and breach checks, TOTP, recovery codes, passkeys |
//! | [`abuse`] | login lockouts, rate limits, leases |
//! | [`mail`] | messages, the SES sender and local outbox, emailed codes |
//! | [`stores`] | every store behind one type parameter |
//! | [`lifecycle`] | revocation when credentials change, account removal, the last administrator |
//! | [`edge`] | the shared cold start, the caller the authorizer established |
//!
//! A store is a folder: its trait and MongoDB implementation in `mod.rs` (and files beside
//! it), its in-memory fake in `fake.rs` and the contract cases both must keep in
//! `contract.rs`. `CONTRIBUTING.md` walks through adding one.
//!
//! # Features
//!
//! - `database` (default): the stores, [`edge::principal`], [`edge::startup::with_database`],
//!   the second factor's codes and encryption at rest, addresses and mail.
//! - `passkeys`: WebAuthn ceremonies (the `webauthn_rp` crate), for `token` and `account`.
//! - `breach-check`: [`factors::breached_passwords`], the k-anonymity range check of new
//!   passwords, for `signup`, `account` and `recovery`.
//! - `aws-secrets` (default): `NAME_SECRET_ARN` values fetched from AWS Secrets Manager;
//!   without it a function refuses to start when one is set.
//!
//! `docs` uses neither, `authorizer` and `jwks` only `aws-secrets`: built alone (as `sam
//! build` builds each function), they compile neither the MongoDB driver nor the AWS SDK
//! they do not use.

pub mod access;
pub mod edge;
pub mod factors;
pub mod identity;
pub mod platform;
pub mod tokens;

#[cfg(feature = "database")]
pub mod abuse;
#[cfg(feature = "database")]
pub mod lifecycle;
#[cfg(feature = "database")]
pub mod mail;
#[cfg(feature = "database")]
pub mod products;
#[cfg(feature = "database")]
pub mod sessions;
#[cfg(feature = "database")]
pub mod stores;

#[cfg(all(feature = "database", any(test, feature = "test-support")))]
pub mod testing;
