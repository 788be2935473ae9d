//! The stores: the contract every implementation keeps ([`contract`], in memory and on
//! MongoDB) and what only the MongoDB stores have ([`live`]).
//!
//! Tests under `live` (including `contract::live`) need a MongoDB-compatible server in
//! `MONGODB_TEST_URI`; `make integration` starts one. `make quick` runs the rest.

mod contract;
mod support;

/// MongoDB-only behaviour, on the server in `MONGODB_TEST_URI`.
mod live {
    mod account_events;
    mod login_failures;
    mod refresh_tokens;
    mod users;
}
