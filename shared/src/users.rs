//! The user store: accounts keyed by their canonical username, unique by index.

use crate::config::{ConfigError, Source};
use crate::credentials::{Username, caseless_key};
use crate::db::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, Document, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::SystemTime;

/// The default collection that holds users (`USERS_COLLECTION` changes it).
pub const USERS_COLLECTION: &str = "users";

/// Which collection holds the users and whether it may hold the FastAPI app's documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCollectionSettings {
    /// `USERS_COLLECTION`, default `users`; `user_model` is the FastAPI app's.
    pub collection: String,
    /// `LEGACY_USER_LOOKUP` (`true`/`false`, default `false`): also find documents without
    /// `username_canonical` (written by the FastAPI app, not yet migrated) by a
    /// case-insensitive match on `username`, refusing names that match more than one.
    pub legacy_lookup: bool,
}

impl Default for UserCollectionSettings {
    fn default() -> Self {
        Self {
            collection: USERS_COLLECTION.to_owned(),
            legacy_lookup: false,
        }
    }
}

impl UserCollectionSettings {
    /// Reads `USERS_COLLECTION` and `LEGACY_USER_LOOKUP`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let legacy_lookup = match source.get("LEGACY_USER_LOOKUP").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    var: "LEGACY_USER_LOOKUP",
                    reason: "must be true or false".to_owned(),
                });
            }
        };
        let collection = source
            .get("USERS_COLLECTION")
            .unwrap_or_else(|| USERS_COLLECTION.to_owned());
        if collection.is_empty() || collection.contains('$') || collection.contains('\0') {
            return Err(ConfigError::Invalid {
                var: "USERS_COLLECTION",
                reason: "not a valid collection name".to_owned(),
            });
        }
        Ok(Self {
            collection,
            legacy_lookup,
        })
    }
}

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

    /// Replaces a legacy hash by its argon2id upgrade after a successful login, only if the
    /// stored hash is still `legacy_hash`; the token version stays. Returns whether it
    /// changed (false when a concurrent login or password change came first).
    fn upgrade_hash(
        &self,
        username: &Username,
        legacy_hash: &str,
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
    /// Missing on documents written by the FastAPI app and not yet migrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username_canonical: Option<String>,
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

/// The most legacy documents one lookup examines; more than one match is already a refusal.
const LEGACY_CANDIDATES: i64 = 8;

/// Accounts in a MongoDB collection with a unique index on the canonical username.
#[derive(Debug, Clone)]
pub struct MongoUserStore {
    users: Collection<UserDocument>,
    legacy_lookup: bool,
}

impl MongoUserStore {
    /// The store on `database`'s `users` collection. Call [`MongoUserStore::ensure_indexes`]
    /// before accepting sign-ups.
    pub fn new(database: &Database) -> Self {
        Self::with_settings(database, &UserCollectionSettings::default())
    }

    /// The store on the configured collection.
    pub fn with_settings(database: &Database, settings: &UserCollectionSettings) -> Self {
        Self {
            users: database.collection(&settings.collection),
            legacy_lookup: settings.legacy_lookup,
        }
    }

    /// Creates the unique index on the canonical username if it is missing (idempotent). It
    /// is partial (documents with a string `username_canonical` only), so a collection that
    /// still holds unmigrated FastAPI documents accepts it. An existing index of the same name
    /// with other options (a full unique index from before) is kept: it enforces the same rule.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder()
            .unique(true)
            .name(UNIQUE_INDEX.to_owned())
            .partial_filter_expression(doc! { "username_canonical": { "$type": "string" } })
            .build();
        let index = IndexModel::builder()
            .keys(doc! { "username_canonical": 1 })
            .options(unique)
            .build();
        match self.users.create_index(index).await {
            Ok(_) => Ok(()),
            Err(error) if is_index_options_conflict(&error) => {
                tracing::info!("keeping the existing {UNIQUE_INDEX} index");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Documents without `username_canonical` whose `username` has `username`'s canonical
    /// form: a case-insensitive regex narrows them down, the exact comparison decides.
    async fn legacy_matches(&self, username: &Username) -> Result<Vec<UserDocument>, StoreError> {
        if !self.legacy_lookup {
            return Ok(Vec::new());
        }
        let pattern = format!("^{}$", escape_regex(username.as_str()));
        let mut cursor = self
            .users
            .find(doc! {
                "username_canonical": { "$exists": false },
                "username": { "$regex": pattern, "$options": "i" },
            })
            .limit(LEGACY_CANDIDATES)
            .await?;
        let mut matches = Vec::new();
        while cursor.advance().await? {
            let document = cursor.deserialize_current()?;
            if caseless_key(&document.username) == username.canonical() {
                matches.push(document);
            }
        }
        Ok(matches)
    }

    /// The filter that selects `username`'s document: by canonical name, or (legacy lookup)
    /// by its exact stored name when it has no canonical name yet.
    fn identity(&self, username: &Username) -> Document {
        if self.legacy_lookup {
            doc! { "$or": [
                { "username_canonical": username.canonical() },
                { "username_canonical": { "$exists": false }, "username": username.as_str() },
            ] }
        } else {
            doc! { "username_canonical": username.canonical() }
        }
    }
}

/// The name of the unique index on `username_canonical`.
pub const UNIQUE_INDEX: &str = "username_canonical_unique";

/// Usernames hold letters, digits, `.`, `_` and `-`; only `.` and `-` mean something in a regex.
fn escape_regex(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = !c.is_alphanumeric() && c != '_';
            escape.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

fn is_index_options_conflict(error: &mongodb::error::Error) -> bool {
    const INDEX_OPTIONS_CONFLICT: i32 = 85;
    const INDEX_KEY_SPECS_CONFLICT: i32 = 86;
    matches!(
        error.kind.as_ref(),
        mongodb::error::ErrorKind::Command(command)
            if command.code == INDEX_OPTIONS_CONFLICT || command.code == INDEX_KEY_SPECS_CONFLICT
    )
}

impl UserStore for MongoUserStore {
    async fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        if !self.legacy_matches(username).await?.is_empty() {
            return Ok(Insertion::UsernameTaken);
        }
        let now = DateTime::from_system_time(now);
        let document = UserDocument {
            id: None,
            username: username.as_str().to_owned(),
            username_canonical: Some(username.canonical().to_owned()),
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
        let mut legacy = self.legacy_matches(username).await?;
        let candidates = legacy.len() + usize::from(found.is_some());
        if candidates > 1 {
            tracing::warn!(
                username = %username,
                accounts = candidates,
                "username matches several accounts case-insensitively: refused until resolved (run migrate)"
            );
            return Ok(None);
        }
        Ok(found.or_else(|| legacy.pop()).map(User::from))
    }

    async fn bump_token_version(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        let updated = self
            .users
            .find_one_and_update(
                self.identity(username),
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
        let mut filter = self.identity(username);
        filter.insert("password", current_hash);
        let result = self
            .users
            .update_one(
                filter,
                doc! {
                    "$set": { "password": new_hash, "modified_date": DateTime::from_system_time(now) },
                    "$inc": { "token_version": 1_i64 },
                },
            )
            .await?;
        Ok(result.modified_count == 1)
    }

    async fn upgrade_hash(
        &self,
        username: &Username,
        legacy_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut filter = self.identity(username);
        filter.insert("password", legacy_hash);
        let update = doc! { "$set": {
            "password": new_hash,
            "modified_date": DateTime::from_system_time(now),
            "username_canonical": username.canonical(),
        } };
        match self.users.update_one(filter, update).await {
            Ok(result) => Ok(result.modified_count == 1),
            // Another account already holds this canonical name: leave the legacy hash.
            Err(error) if is_duplicate_key(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_escaping_covers_every_username_character() {
        assert_eq!(escape_regex("a.b-c_d"), "a\\.b\\-c_d");
        assert_eq!(escape_regex("Zoë42"), "Zoë42");
    }

    #[test]
    fn collection_settings_are_read_and_checked() {
        let default = UserCollectionSettings::from_source(&[]).unwrap();
        assert_eq!(default, UserCollectionSettings::default());
        let legacy = UserCollectionSettings::from_source(&[
            ("USERS_COLLECTION", "user_model"),
            ("LEGACY_USER_LOOKUP", "true"),
        ])
        .unwrap();
        assert_eq!(
            (legacy.collection.as_str(), legacy.legacy_lookup),
            ("user_model", true)
        );
        assert!(UserCollectionSettings::from_source(&[("LEGACY_USER_LOOKUP", "yes")]).is_err());
        assert!(UserCollectionSettings::from_source(&[("USERS_COLLECTION", "$cmd")]).is_err());
    }
}
