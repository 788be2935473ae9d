//! Everything the Lambda functions share.
//!
//! # Layout
//!
//! The modules form four layers; each uses only the layers above it.
//!
//! - **Start-up**: [`config`] (every setting, read through [`config::Source`]),
//!   [`secrets`] (values from AWS Secrets Manager), [`telemetry`] (JSON logs), [`startup`]
//!   (the cold start every function shares), [`serve`] (the Lambda event loop and CORS) and
//!   [`metrics`] (security events as CloudWatch metrics).
//! - **Auth primitives**, no I/O: [`account_id`] (the immutable id tokens name),
//!   [`credentials`] (usernames and password rules), [`email_address`] (addresses as stored
//!   and compared), [`mail`] (message templates and the local outbox), [`hashing`] (argon2id and the FastAPI
//!   app's legacy hashes), [`tokens`] and [`keys`] (EdDSA JWTs), [`totp`] and
//!   [`recovery_codes`] (second-factor codes), [`secret_box`] (secrets encrypted at rest),
//!   `webauthn` (passkey ceremonies, feature `passkeys`), [`clock`].
//! - **Stores**, one module per collection, each a trait with its MongoDB implementation:
//!   [`users`], [`login_failures`], [`refresh`], [`second_factors`], [`mfa_challenges`],
//!   [`account_events`], [`products`], [`passkeys`], [`passkey_ceremonies`]; [`stores`] bundles them behind one type parameter, [`db`] holds the connection and the store error;
//!   [`revocation`] ends what was started under credentials that changed, [`administrators`]
//!   keeps one enabled administrator.
//! - **HTTP edge**: [`http`] (responses, the JSON error shape, request parsing, routing) and
//!   [`principal`] (the caller the authorizer established).
//!
//! [`testing`] (feature `test-support`) has in-memory stores, fixtures and database helpers
//! for the workspace's tests.

//!
//! # Features
//!
//! - `database` (default): the stores, [`principal`], [`startup::with_database`], and the
//!   second factor's [`totp`] codes and [`secret_box`] encryption at rest, [`email_address`]
//!   and [`mail`].
//! - `passkeys`: WebAuthn ceremonies (the `webauthn_rp` crate), for `token` and `account`.
//! - `breach-check`: [`breached_passwords`], the k-anonymity range check of new passwords,
//!   for `signup`, `account` and `recovery`.
//! - `aws-secrets` (default): `NAME_SECRET_ARN` values fetched from AWS Secrets Manager;
//!   without it a function refuses to start when one is set.
//!
//! `docs` uses neither, `authorizer` and `jwks` only `aws-secrets`: built alone (as `sam
//! build` builds each function), they compile neither the MongoDB driver nor the AWS SDK
//! they do not use.

#[cfg(feature = "database")]
pub mod account_events;
pub mod account_id;
#[cfg(feature = "database")]
pub mod account_removal;
#[cfg(feature = "database")]
pub mod administrators;
#[cfg(feature = "breach-check")]
pub mod breached_passwords;
pub mod client_id;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod hashing;
pub mod http;
pub mod issuer;
pub mod keys;
pub mod metrics;
pub mod roles;
pub mod scopes;
pub mod secrets;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod tokens;

#[cfg(feature = "database")]
pub mod clients;
#[cfg(feature = "database")]
pub mod db;
#[cfg(feature = "database")]
pub mod email_address;
#[cfg(feature = "database")]
pub mod email_codes;
#[cfg(feature = "database")]
pub mod email_flows;
#[cfg(feature = "database")]
pub mod leases;
#[cfg(feature = "database")]
pub mod login_failures;
#[cfg(feature = "database")]
pub mod mail;
#[cfg(feature = "database")]
pub mod mailer;
#[cfg(feature = "database")]
pub mod mfa;
#[cfg(feature = "database")]
pub mod mfa_challenges;
#[cfg(feature = "database")]
pub mod passkey_ceremonies;
#[cfg(feature = "database")]
pub mod passkeys;
#[cfg(feature = "database")]
pub mod principal;
#[cfg(feature = "database")]
pub mod products;
#[cfg(feature = "database")]
pub mod rate_limits;
#[cfg(feature = "database")]
pub mod recovery_codes;
#[cfg(feature = "database")]
pub mod refresh;
#[cfg(feature = "database")]
pub mod revocation;
#[cfg(feature = "database")]
pub mod second_factors;
#[cfg(feature = "database")]
pub mod secret_box;
#[cfg(feature = "database")]
pub mod stores;
#[cfg(feature = "database")]
pub mod totp;
#[cfg(feature = "database")]
pub mod users;
#[cfg(feature = "passkeys")]
pub mod webauthn;

#[cfg(all(feature = "database", any(test, feature = "test-support")))]
pub mod testing;
