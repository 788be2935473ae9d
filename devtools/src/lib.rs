//! Local development tools for this workspace: the local API (`local-api`: API Gateway
//! routing, the TOKEN authorizer and a Lambda Runtime API emulator running the real function
//! binaries, all driven by `template.yaml`), `keygen` for a development Ed25519 key pair and
//! `seed-products` for the sample catalogue, `setup-database` (the deploy step that creates
//! the indexes), `migrate` for taking over the FastAPI app's users collection, `grant-role` for the first
//! administrator, and `env-json` for `sam local`'s `--env-vars` file; `range_server` serves a
//! breached-password fixture to the tests. The cross-function tests live in `tests/`.
//! Nothing here is deployed.

pub mod dev_keys;
pub mod example_app;
pub mod gateway;
pub mod hooks;
pub mod migrate;
pub mod outbox;
pub mod range_server;
pub mod relying_parties;
pub mod roles;
pub mod runtime;
pub mod sam_local;
pub mod stack;
pub mod template;
pub mod upstream;
