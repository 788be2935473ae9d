//! Test helpers for this workspace's crates (feature `test-support`): in-memory stores and a
//! manual clock ([`fakes`]), keys, settings and sample requests ([`fixtures`]), and
//! databases on a real server ([`database`]).

pub mod database;
pub mod fakes;
pub mod fixtures;
#[cfg(feature = "test-passkeys")]
pub mod soft_passkey;

pub use database::{all_documents, fresh_database, index_on, mongo_stores, test_database_settings};
pub use fakes::{
    ManualClock, MemoryAccountEventStore, MemoryClientStore, MemoryEmailCodeStore,
    MemoryLeaseStore, MemoryLoginFailureStore, MemoryMfaChallengeStore, MemoryPasskeyCeremonyStore,
    MemoryPasskeyStore, MemoryProductStore, MemoryRateLimitStore, MemorySecondFactorStore,
    MemorySessionStore, MemoryStores, MemoryUserStore, RecordingMailer,
};
pub use fixtures::{
    data_key, event_for_route, event_json, mfa_settings, request_from, response_json,
    response_text, seeded_account_id, token_pair, token_settings,
};
