//! The user store: accounts keyed by their canonical username, unique by index.

use crate::credentials::Username;
use crate::db::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::SystemTime;

/// The collection that holds users.
pub const USERS_COLLECTION: &str = "users";

/// A stored account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The username as chosen at sign-up.
    pub username: String,
    /// The argon2id PHC string of the password.
    pub password_hash: String,
    /// Whether the account may log in and use the API.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: SystemTime,
}

/// The outcome of adding a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insertion {
    /// The account was stored.
    Created,
    /// An account with the same canonical username already exists; nothing was stored.
    UsernameTaken,
}

/// Where accounts live. Implemented for MongoDB and, for handler tests, in memory.
pub trait UserStore: Send + Sync {
    /// Stores a new, enabled account unless its canonical username is taken.
    fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Insertion, StoreError>> + Send;

    /// The account whose canonical username matches `username`'s.
    fn find(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;
}

/// A user document. Field names follow the FastAPI app's `UserModel` (`password` holds the
/// hash, `created_date`, `modified_date`) so both can share one collection during a switch-over.
#[derive(Debug, Serialize, Deserialize)]
struct UserDocument {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    id: Option<ObjectId>,
    username: String,
    username_canonical: String,
    password: String,
    #[serde(default)]
    disabled: bool,
    created_date: DateTime,
    modified_date: DateTime,
}

/// Accounts in a MongoDB collection with a unique index on the canonical username.
#[derive(Debug, Clone)]
pub struct MongoUserStore {
    users: Collection<UserDocument>,
}

impl MongoUserStore {
    /// The store on `database`'s `users` collection. Call [`MongoUserStore::ensure_indexes`]
    /// before accepting sign-ups.
    pub fn new(database: &Database) -> Self {
        Self {
            users: database.collection(USERS_COLLECTION),
        }
    }

    /// Creates the unique index on the canonical username if it is missing (idempotent).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder()
            .unique(true)
            .name("username_canonical_unique".to_owned())
            .build();
        let index = IndexModel::builder()
            .keys(doc! { "username_canonical": 1 })
            .options(unique)
            .build();
        self.users.create_index(index).await?;
        Ok(())
    }
}

impl UserStore for MongoUserStore {
    async fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        let now = DateTime::from_system_time(now);
        let document = UserDocument {
            id: None,
            username: username.as_str().to_owned(),
            username_canonical: username.canonical().to_owned(),
            password: password_hash.to_owned(),
            disabled: false,
            created_date: now,
            modified_date: now,
        };
        match self.users.insert_one(document).await {
            Ok(_) => Ok(Insertion::Created),
            Err(error) if is_duplicate_key(&error) => Ok(Insertion::UsernameTaken),
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let found = self
            .users
            .find_one(doc! { "username_canonical": username.canonical() })
            .await?;
        Ok(found.map(|document| User {
            username: document.username,
            password_hash: document.password,
            disabled: document.disabled,
            created_at: document.created_date.to_system_time(),
        }))
    }
}
