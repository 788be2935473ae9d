//! The workspace as a whole: its files agree with each other, the local gateway and Runtime
//! API emulator work, and (under [`live`]) the real function binaries and a real database.
//!
//! `make quick` runs everything but `live::`; `make integration` runs `live::`.

mod book;
mod layout;
mod least_privilege;
mod openapi;
mod routes;
mod runtime_emulator;
mod sam_local;
mod scopes;
mod support;

/// Tests that need a MongoDB-compatible server (`MONGODB_TEST_URI`, `SECANTUSD`) and the
/// function binaries (`cargo build --workspace --bins`); `make integration` provides them.
mod live {
    mod admin;
    mod breached;
    mod crash;
    mod database_server;
    mod email;
    mod fastapi_coexistence;
    mod fastapi_takeover;
    mod federation;
    mod flow;
    mod hooks;
    mod local_api;
    mod login_timing;
    mod make_dev;
    mod openid_connect;
    mod outage;
    mod parallel_attacks;
    mod passkeys;
    mod roles;
    mod self_service;
    mod spraying;
    mod takeover;
    mod translated_template;
    mod two_factor;
}
