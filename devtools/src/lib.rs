//! Local development tools for this workspace: `keygen` writes a development Ed25519 key
//! pair, `seed-products` loads the sample catalogue. The cross-function integration tests
//! live in `tests/`. Nothing here is deployed.
