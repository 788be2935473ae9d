//! The user store: accounts keyed by their canonical username, unique by index.

use crate::credentials::Username;
use crate::db::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
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
    /// Access and refresh tokens issued before this version are refused; bumped by
    /// logout-everywhere and by a password change.
    pub token_version: u64,
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

    /// Bumps the account's token version, so every token issued before is refused. Returns
    /// the new version, or `None` when the account does not exist.
    fn bump_token_version(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Replaces the password hash and bumps the token version in one update, only if the
    /// stored hash is still `current_hash` (a concurrent change wins). Returns whether it
    /// changed.
    fn change_password(
        &self,
        username: &Username,
        current_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
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
    /// Missing on documents written by the FastAPI app: version 0.
    #[serde(default)]
    token_version: i64,
}

impl From<UserDocument> for User {
    fn from(document: UserDocument) -> Self {
        Self {
            username: document.username,
            password_hash: document.password,
            disabled: document.disabled,
            created_at: document.created_date.to_system_time(),
            token_version: u64::try_from(document.token_version).unwrap_or(0),
        }
    }
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
            token_version: 0,
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
        Ok(found.map(User::from))
    }

    async fn bump_token_version(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        let updated = self
            .users
            .find_one_and_update(
                doc! { "username_canonical": username.canonical() },
                doc! {
                    "$inc": { "token_version": 1_i64 },
                    "$set": { "modified_date": DateTime::from_system_time(now) },
                },
            )
            .return_document(ReturnDocument::After)
            .await?;
        Ok(updated.map(|document| User::from(document).token_version))
    }

    async fn change_password(
        &self,
        username: &Username,
        current_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .users
            .update_one(
                doc! { "username_canonical": username.canonical(), "password": current_hash },
                doc! {
                    "$set": { "password": new_hash, "modified_date": DateTime::from_system_time(now) },
                    "$inc": { "token_version": 1_i64 },
                },
            )
            .await?;
        Ok(result.modified_count == 1)
    }
}
