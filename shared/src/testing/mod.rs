//! Test helpers for this workspace's crates (feature `test-support`): every store in memory,
//! a manual clock and a recording mailer ([`memory`]; each fake lives in its store's folder),
//! keys, settings and sample requests ([`fixtures`]), databases on a real server
//! ([`database`]), and what the store contract cases share (`contract`, this crate's tests).

#[cfg(test)]
pub(crate) mod contract;
pub mod database;
pub mod fixtures;
pub mod memory;
#[cfg(feature = "test-passkeys")]
pub mod soft_passkey;

pub use crate::abuse::leases::fake::MemoryLeaseStore;
pub use crate::abuse::login_failures::fake::MemoryLoginFailureStore;
pub use crate::abuse::rate_limits::fake::MemoryRateLimitStore;
pub use crate::access::clients::fake::MemoryClientStore;
pub use crate::access::relying_parties::fake::MemoryRelyingPartyStore;
pub use crate::authorization::codes::fake::MemoryAuthorizationCodeStore;
pub use crate::factors::mfa_challenges::fake::MemoryMfaChallengeStore;
pub use crate::factors::passkey_ceremonies::fake::MemoryPasskeyCeremonyStore;
pub use crate::factors::passkeys::fake::MemoryPasskeyStore;
pub use crate::factors::second_factors::fake::MemorySecondFactorStore;
pub use crate::identity::account_events::fake::MemoryAccountEventStore;
pub use crate::identity::users::fake::MemoryUserStore;
pub use crate::mail::email_codes::fake::MemoryEmailCodeStore;
pub use crate::products::fake::MemoryProductStore;
pub use crate::sessions::fake::MemorySessionStore;
pub use database::{all_documents, fresh_database, index_on, mongo_stores, test_database_settings};
pub use fixtures::{
    data_key, event_for_route, event_json, event_with_body, event_with_json, from_source_ip,
    id_token_key, id_token_key_pems, mfa_settings, request_from, response_json, response_text,
    seeded_account_id, token_pair, token_settings, with_body, with_json_body, with_query,
};
pub use memory::{ManualClock, MemoryStores, RecordingMailer};
