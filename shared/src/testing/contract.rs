//! What the store contract cases share: the macro that runs each case against the in-memory
//! stores and against MongoDB, and small builders of valid values.

use crate::factors::passkeys::Passkey;
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::identity::users::{Insertion, UserStore};
use crate::stores::Stores;
use std::time::{Duration, SystemTime};

/// Generates two tests per case: `in_memory::<case>` on [`crate::testing::MemoryStores`] and
/// `live::<case>` on MongoDB stores in a fresh database of the server in `MONGODB_TEST_URI`.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::testing::MemoryStores::default()).await;
                }
            )*
        }
        mod live {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::testing::mongo_stores().await.1).await;
                }
            )*
        }
    };
}
pub(crate) use contract;

/// A valid username.
pub fn name(raw: &str) -> Username {
    Username::parse(raw).unwrap()
}

/// A time with whole milliseconds, as BSON dates store them.
pub fn now() -> SystemTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap())
}

pub use crate::testing::{fresh_database, mongo_stores};

/// A bundle of stores the cases can share between spawned tasks.
pub trait Shared: Stores + Clone + 'static {}

impl<S: Stores + Clone + 'static> Shared for S {}

/// A day.
pub const DAY: Duration = Duration::from_secs(86_400);

/// A valid address.
pub fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

/// Creates the account `username` and returns its id.
pub async fn created(stores: &impl Shared, username: &str) -> AccountId {
    match stores
        .users()
        .insert(&name(username), "$argon2id$hash", now())
        .await
        .unwrap()
    {
        Insertion::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

/// The account id numbered `n`.
pub fn account(n: u8) -> AccountId {
    AccountId::parse(&format!("{n:024x}")).unwrap()
}

/// A passkey `id` of account `owner`.
pub fn passkey(id: &str, owner: u8, created_at: SystemTime) -> Passkey {
    Passkey {
        id: id.to_owned(),
        account: account(owner),
        name: format!("key {id}"),
        transports: vec!["usb".to_owned()],
        public_key: vec![9; 40],
        state: vec![0, 0, 0, 0, 0, 0, 1],
        sign_count: 1,
        backup_eligible: false,
        created_at,
        last_used_at: None,
        generation: 0,
    }
}
