//! Accounts in a MongoDB collection, unique by an index on the canonical username. Document
//! field names follow the FastAPI app's, so both can share one collection.

use super::{
    AccountQuery, EmailVerification, Insertion, Renaming, Revocation, User, UserCollectionSettings,
    UserStore,
};
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::options::{IndexOptions, ReturnDocument};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// A user document. Field names follow the FastAPI app's `UserModel` (`password` holds the
/// hash, `created_date`, `modified_date`) so both can share one collection during a switch-over.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct UserDocument {
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    pub(super) id: Option<ObjectId>,
    pub(super) username: String,
    /// Missing on documents written by the FastAPI app and not yet migrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) username_canonical: Option<String>,
    /// The name's look-alike key ([`Username::skeleton_key`]), unique (a sparse index) among
    /// documents that have one; missing on the FastAPI app's documents until `migrate`, and
    /// on the later of two accounts that already looked alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) username_skeleton: Option<String>,
    pub(super) password: String,
    #[serde(default)]
    pub(super) disabled: bool,
    pub(super) created_date: DateTime,
    pub(super) modified_date: DateTime,
    /// Missing on documents written by the FastAPI app: version 0.
    #[serde(default)]
    pub(super) token_version: i64,
    /// Missing until the first password reset or second-factor reset: generation 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(super) passkey_generation: i64,
    /// The verified address; unique (a sparse index) among documents that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<EmailDocument>,
    /// The address waiting for its verification code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email_pending: Option<EmailDocument>,
    /// The roles the account holds ([`crate::access::roles`]); missing means none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) roles: Vec<String>,
    /// Present (true) while the name is the one proposed at a first sign-in through another
    /// provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) username_provisional: bool,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// The update every token-version bump makes: the version moves (and with
/// [`Revocation::SessionsAndPasskeys`] the passkey generation), the waiting address goes, and
/// `set` is applied, all in one write.
fn revoking(revocation: Revocation, set: mongodb::bson::Document) -> mongodb::bson::Document {
    let mut increments = doc! { "token_version": 1_i64 };
    if revocation == Revocation::SessionsAndPasskeys {
        increments.insert("passkey_generation", 1_i64);
    }
    doc! {
        "$set": set,
        "$inc": increments,
        "$unset": { "email_pending": "" },
    }
}

/// The filter part that matches the token version `version` (a document of the FastAPI app
/// has none: version 0 matches it too).
fn at_version(version: u64) -> mongodb::bson::Document {
    match i64::try_from(version) {
        Ok(0) => doc! { "token_version": { "$in": [0_i64, null] } },
        Ok(version) => doc! { "token_version": version },
        Err(_) => doc! { "token_version": -1_i64 },
    }
}

/// An address as stored: as shown, and the key it is compared and indexed by.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EmailDocument {
    pub(super) address: String,
    pub(super) key: String,
    pub(super) since: DateTime,
    /// Verified on a hook's word ([`User::email_vouched`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) vouched: bool,
}

impl EmailDocument {
    fn new(address: &EmailAddress, now: DateTime) -> Self {
        Self {
            address: address.as_str().to_owned(),
            key: address.key().to_owned(),
            since: now,
            vouched: false,
        }
    }

    fn address(&self) -> Option<EmailAddress> {
        EmailAddress::parse(&self.address).ok()
    }
}

impl From<UserDocument> for User {
    fn from(document: UserDocument) -> Self {
        Self {
            // MongoDB gives every stored document an `_id`; only a document built here to be
            // inserted has none, and it is never turned into a `User`.
            id: document
                .id
                .map_or_else(AccountId::generate, AccountId::from),
            username: Username::from_stored(document.username, document.username_canonical),
            password_hash: document.password,
            disabled: document.disabled,
            created_at: document.created_date.to_system_time(),
            token_version: u64::try_from(document.token_version).unwrap_or(0),
            passkey_generation: u64::try_from(document.passkey_generation).unwrap_or(0),
            email: document.email.as_ref().and_then(EmailDocument::address),
            pending_email: document
                .email_pending
                .as_ref()
                .and_then(EmailDocument::address),
            roles: document.roles,
            username_provisional: document.username_provisional,
            email_vouched: document.email.as_ref().is_some_and(|email| email.vouched),
        }
    }
}

/// Accounts in a MongoDB collection with a unique index on the canonical username.
#[derive(Debug, Clone)]
pub struct MongoUserStore {
    pub(super) users: Collection<UserDocument>,
    pub(super) legacy_lookup: bool,
}

impl MongoUserStore {
    /// Inserts a new, enabled account (see [`UserStore::insert`]); `provisional` marks a
    /// name proposed for it rather than chosen.
    async fn insert_document(
        &self,
        username: &Username,
        password_hash: &str,
        provisional: bool,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        match self.legacy_matches(username).await? {
            Some(matches) if matches.is_empty() => {}
            Some(_) => return Ok(Insertion::UsernameTaken),
            None => {
                tracing::warn!(username = %username, "sign-up refused: the name folds too many ways to check against unmigrated accounts");
                return Ok(Insertion::UsernameTaken);
            }
        }
        let now = DateTime::from_system_time(now);
        let document = UserDocument {
            id: None,
            username: username.as_str().to_owned(),
            username_canonical: Some(username.canonical().to_owned()),
            username_skeleton: Some(username.skeleton_key()),
            password: password_hash.to_owned(),
            disabled: false,
            created_date: now,
            modified_date: now,
            token_version: 0,
            passkey_generation: 0,
            email: None,
            email_pending: None,
            roles: Vec::new(),
            username_provisional: provisional,
        };
        match self.users.insert_one(document).await {
            Ok(inserted) => match inserted.inserted_id.as_object_id() {
                Some(id) => Ok(Insertion::Created(AccountId::from(id))),
                None => Err(StoreError(mongodb::error::Error::custom(
                    "the server gave the new account no ObjectId",
                ))),
            },
            Err(error) if is_duplicate_key(&error) => Ok(Insertion::UsernameTaken),
            Err(error) => Err(error.into()),
        }
    }

    /// The store on `database`'s `users` collection. The deploy step (`setup-database`) calls
    /// [`MongoUserStore::ensure_indexes`]; sign-up checks the index at cold start.
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
    /// is sparse (documents without `username_canonical` are left out), so a collection that
    /// still holds unmigrated FastAPI documents accepts it, and an equality on the name is
    /// one index lookup (a partial index with a `$type` filter was not used for it: every
    /// login read the whole collection, 40 ms at 100,000 accounts on the test server). An existing index of the same name
    /// with other options (a full unique index from before) is kept when it is unique on
    /// `username_canonical`, so it enforces the same rule; any other is an error, since
    /// sign-ups would then not be unique.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder()
            .unique(true)
            .sparse(true)
            .name(UNIQUE_INDEX.to_owned())
            .build();
        let index = IndexModel::builder()
            .keys(doc! { "username_canonical": 1 })
            .options(unique)
            .build();
        match self.users.create_index(index).await {
            Ok(_) => {}
            Err(error) if is_index_options_conflict(&error) => {
                self.existing_index_is_unique().await?;
            }
            Err(error) => return Err(error.into()),
        }
        self.users
            .create_index(sparse_unique(SKELETON_INDEX, "username_skeleton"))
            .await?;
        self.users
            .create_index(sparse_unique(EMAIL_INDEX, "email.key"))
            .await?;
        // The legacy lookup's window (documents created since the last migration pass).
        let created = IndexModel::builder()
            .keys(doc! { "created_date": 1 })
            .build();
        self.users.create_index(created).await?;
        Ok(())
    }
}

impl MongoUserStore {
    /// Sets `new_hash` and bumps the token version in one update of the document `filter`
    /// still matches. Returns whether it changed.
    async fn replace_password(
        &self,
        filter: mongodb::bson::Document,
        new_hash: &str,
        revocation: Revocation,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let set = doc! { "password": new_hash, "modified_date": DateTime::from_system_time(now) };
        let result = self
            .users
            .update_one(filter, revoking(revocation, set))
            .await?;
        Ok(result.modified_count == 1)
    }
}

/// What the collection holds under the unique index's name.
enum UniqueIndex {
    /// A unique index on `username_canonical`: sign-ups stay unique.
    Present,
    /// No index of that name (or no collection yet).
    Missing,
    /// An index of that name that does not keep sign-ups unique.
    Different,
}

impl MongoUserStore {
    async fn unique_index(&self) -> Result<UniqueIndex, StoreError> {
        self.unique_index_named(UNIQUE_INDEX, doc! { "username_canonical": 1 })
            .await
    }

    async fn unique_index_named(
        &self,
        name: &str,
        keys: mongodb::bson::Document,
    ) -> Result<UniqueIndex, StoreError> {
        const NAMESPACE_NOT_FOUND: i32 = 26;
        let mut cursor = match self.users.list_indexes().await {
            Ok(cursor) => cursor,
            Err(error)
                if matches!(error.kind.as_ref(), mongodb::error::ErrorKind::Command(command)
                    if command.code == NAMESPACE_NOT_FOUND) =>
            {
                return Ok(UniqueIndex::Missing);
            }
            Err(error) => return Err(error.into()),
        };
        while cursor.advance().await? {
            let index = cursor.deserialize_current()?;
            let named = index.options.as_ref().and_then(|o| o.name.as_deref());
            if named != Some(name) {
                continue;
            }
            let unique = index.options.as_ref().and_then(|o| o.unique) == Some(true);
            return Ok(if unique && index.keys == keys {
                UniqueIndex::Present
            } else {
                UniqueIndex::Different
            });
        }
        Ok(UniqueIndex::Missing)
    }

    async fn existing_index_is_unique(&self) -> Result<(), StoreError> {
        match self.unique_index().await? {
            UniqueIndex::Present => {
                tracing::info!("keeping the existing {UNIQUE_INDEX} index");
                Ok(())
            }
            UniqueIndex::Missing | UniqueIndex::Different => {
                Err(StoreError(mongodb::error::Error::custom(format!(
                    "an index named {UNIQUE_INDEX} exists but is not unique on \
                     username_canonical: drop it so sign-ups stay unique"
                ))))
            }
        }
    }

    /// Checks, without creating anything, that the unique indexes on the canonical username
    /// and on its look-alike key exist: without them concurrent sign-ups of one name, or of
    /// two names that look alike, could both succeed. The deploy step (`setup-database`)
    /// creates them, so the functions' database user needs no `createIndex`.
    pub async fn require_unique_index(&self) -> Result<(), StoreError> {
        self.require_unique(UNIQUE_INDEX, "username_canonical")
            .await?;
        self.require_unique(SKELETON_INDEX, "username_skeleton")
            .await
    }

    /// Checks, without creating anything, that the unique index on verified addresses
    /// exists: without it two accounts could verify one address.
    pub async fn require_email_index(&self) -> Result<(), StoreError> {
        self.require_unique(EMAIL_INDEX, "email.key").await
    }

    /// An error naming the deploy step unless the index `name` is unique on `field`.
    async fn require_unique(&self, name: &str, field: &str) -> Result<(), StoreError> {
        let problem = match self.unique_index_named(name, doc! { field: 1 }).await? {
            UniqueIndex::Present => return Ok(()),
            UniqueIndex::Missing => "is missing".to_owned(),
            UniqueIndex::Different => format!("is not unique on {field}"),
        };
        Err(StoreError(mongodb::error::Error::custom(format!(
            "the {name} index {problem}: run `cargo run -p devtools --bin \
             setup-database` against this database (a deploy step)"
        ))))
    }
}

/// The name of the unique index on the verified addresses' keys.
pub const EMAIL_INDEX: &str = "email_key_unique";

/// The name of the unique index on the look-alike keys of usernames.
pub const SKELETON_INDEX: &str = "username_skeleton_unique";

/// The name of the unique index on `username_canonical`.
pub const UNIQUE_INDEX: &str = "username_canonical_unique";

/// A unique index named `name` on `field` over the documents that have it.
fn sparse_unique(name: &str, field: &str) -> IndexModel {
    let options = IndexOptions::builder()
        .unique(true)
        .sparse(true)
        .name(name.to_owned())
        .build();
    IndexModel::builder()
        .keys(doc! { field: 1 })
        .options(options)
        .build()
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

impl MongoUserStore {
    /// Makes the waiting `address` the verified one in one conditional update
    /// ([`UserStore::verify_email`]), marked `vouched` when a hook vouched for it.
    async fn adopt_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
        vouched: bool,
    ) -> Result<EmailVerification, StoreError> {
        let now = DateTime::from_system_time(now);
        let mut document = EmailDocument::new(address, now);
        document.vouched = vouched;
        let verified =
            mongodb::bson::to_bson(&document).map_err(|error| StoreError(error.into()))?;

        let mut filter = at_version(issued_under);
        filter.insert("_id", id.object_id());
        filter.insert("email_pending.key", address.key());
        let before = self
            .users
            .find_one_and_update(
                filter,
                doc! {
                    "$set": { "email": verified, "modified_date": now },
                    "$unset": { "email_pending": "" },
                },
            )
            .return_document(ReturnDocument::Before)
            .await;
        match before {
            Ok(Some(document)) => Ok(EmailVerification::Verified {
                previous: document.email.as_ref().and_then(EmailDocument::address),
            }),
            Ok(None) => Ok(EmailVerification::NotPending),
            Err(error) if is_duplicate_key(&error) => Ok(EmailVerification::AddressTaken),
            Err(error) => Err(error.into()),
        }
    }
}

impl UserStore for MongoUserStore {
    async fn insert(
        &self,
        username: &Username,
        password_hash: &str,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        self.insert_document(username, password_hash, false, now)
            .await
    }

    async fn insert_provisional(
        &self,
        username: &Username,
        now: SystemTime,
    ) -> Result<Insertion, StoreError> {
        self.insert_document(username, super::NO_PASSWORD_HASH, true, now)
            .await
    }

    async fn rename_provisional(
        &self,
        id: &AccountId,
        username: &Username,
        now: SystemTime,
    ) -> Result<Renaming, StoreError> {
        match self.legacy_matches(username).await? {
            Some(matches) if matches.is_empty() => {}
            _ => return Ok(Renaming::UsernameTaken),
        }
        let renamed = self
            .users
            .update_one(
                doc! { "_id": id.object_id(), "username_provisional": true },
                doc! {
                    "$set": {
                        "username": username.as_str(),
                        "username_canonical": username.canonical(),
                        "username_skeleton": username.skeleton_key(),
                        "modified_date": DateTime::from_system_time(now),
                    },
                    "$unset": { "username_provisional": "" },
                },
            )
            .await;
        match renamed {
            Ok(result) if result.matched_count == 1 => Ok(Renaming::Renamed),
            Ok(_) => Ok(Renaming::NotProvisional),
            Err(error) if is_duplicate_key(&error) => Ok(Renaming::UsernameTaken),
            Err(error) => Err(error.into()),
        }
    }

    async fn find(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let found = self
            .users
            .find_one(doc! { "username_canonical": username.canonical() })
            .await?;
        let mut legacy = self.legacy_matches(username).await?.unwrap_or_else(|| {
            tracing::warn!(username = %username, "legacy lookup skipped: the name folds too many ways for one pattern");
            Vec::new()
        });
        if let Some(found) = found {
            // The account that holds the canonical name owns it: an unmigrated document the
            // FastAPI app made for a case variant since (its check is case-sensitive) never
            // signs in as it, nor locks it out.
            if !legacy.is_empty() {
                tracing::warn!(
                    username = %username,
                    variants = legacy.len(),
                    "unmigrated case variants of an existing account are ignored (run migrate to list them)"
                );
            }
            return Ok(Some(User::from(found)));
        }
        let candidates = legacy.len();
        if candidates > 1 {
            tracing::warn!(
                username = %username,
                accounts = candidates,
                "username matches several accounts case-insensitively: refused until resolved (run migrate)"
            );
            return Ok(None);
        }
        Ok(legacy.pop().map(User::from))
    }

    async fn find_by_id(&self, id: &AccountId) -> Result<Option<User>, StoreError> {
        let found = self.users.find_one(doc! { "_id": id.object_id() }).await?;
        Ok(found.map(User::from))
    }

    async fn set_disabled(
        &self,
        id: &AccountId,
        disabled: bool,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let set = doc! { "disabled": disabled, "modified_date": DateTime::from_system_time(now) };
        let update = if disabled {
            revoking(Revocation::Sessions, set)
        } else {
            doc! { "$set": set }
        };
        let updated = self
            .users
            .update_one(doc! { "_id": id.object_id() }, update)
            .await?;
        Ok(updated.matched_count == 1)
    }

    async fn list(&self, query: &AccountQuery) -> Result<Vec<User>, StoreError> {
        let mut name = doc! { "$type": "string" };
        if let Some(prefix) = &query.prefix {
            name.insert("$gte", prefix.as_str());
            name.insert("$lt", format!("{prefix}{}", char::MAX));
        }
        if let Some(after) = &query.after {
            name.insert("$gt", after.as_str());
        }
        let mut filter = doc! { "username_canonical": name };
        if let Some(role) = &query.role {
            filter.insert("roles", role.as_str());
        }
        match query.disabled {
            Some(true) => filter.insert("disabled", true),
            Some(false) => filter.insert("disabled", doc! { "$ne": true }),
            None => None,
        };
        let cursor = self
            .users
            .find(filter)
            .sort(doc! { "username_canonical": 1 })
            .limit(i64::from(query.limit))
            .await?;
        let documents: Vec<UserDocument> = futures_util::TryStreamExt::try_collect(cursor).await?;
        Ok(documents.into_iter().map(User::from).collect())
    }

    async fn count_enabled_holding(&self, roles: &[String]) -> Result<u64, StoreError> {
        let filter = doc! { "roles": { "$in": roles }, "disabled": { "$ne": true } };
        Ok(self.users.count_documents(filter).await?)
    }

    async fn set_roles(
        &self,
        id: &AccountId,
        read_version: u64,
        roles: &[String],
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut filter = at_version(read_version);
        filter.insert("_id", id.object_id());
        let set = doc! { "roles": roles, "modified_date": DateTime::from_system_time(now) };
        let updated = self
            .users
            .update_one(filter, revoking(Revocation::Sessions, set))
            .await?;
        Ok(updated.matched_count == 1)
    }

    async fn bump_token_version(
        &self,
        id: &AccountId,
        revocation: Revocation,
        now: SystemTime,
    ) -> Result<Option<u64>, StoreError> {
        let set = doc! { "modified_date": DateTime::from_system_time(now) };
        let updated = self
            .users
            .find_one_and_update(doc! { "_id": id.object_id() }, revoking(revocation, set))
            .return_document(ReturnDocument::After)
            .await?;
        Ok(updated.map(|document| User::from(document).token_version))
    }

    async fn find_by_email(&self, address: &EmailAddress) -> Result<Option<User>, StoreError> {
        let found = self
            .users
            .find_one(doc! { "email.key": address.key() })
            .await?;
        Ok(found.map(User::from))
    }

    async fn set_pending_email(
        &self,
        id: &AccountId,
        address: Option<&EmailAddress>,
        read_version: u64,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let now = DateTime::from_system_time(now);
        let mut filter = at_version(read_version);
        filter.insert("_id", id.object_id());
        let update = match address {
            Some(address) => doc! { "$set": {
                "email_pending": mongodb::bson::to_bson(&EmailDocument::new(address, now))
                    .map_err(|error| StoreError(error.into()))?,
                "modified_date": now,
            } },
            None => doc! {
                "$unset": { "email_pending": "" },
                "$set": { "modified_date": now },
            },
        };
        let result = self.users.update_one(filter, update).await?;
        Ok(result.matched_count == 1)
    }

    async fn verify_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
    ) -> Result<EmailVerification, StoreError> {
        self.adopt_email(id, address, issued_under, now, false)
            .await
    }

    async fn vouch_email(
        &self,
        id: &AccountId,
        address: &EmailAddress,
        issued_under: u64,
        now: SystemTime,
    ) -> Result<EmailVerification, StoreError> {
        self.adopt_email(id, address, issued_under, now, true).await
    }

    async fn remove_email(
        &self,
        id: &AccountId,
        now: SystemTime,
    ) -> Result<Option<EmailAddress>, StoreError> {
        let before = self
            .users
            .find_one_and_update(
                doc! { "_id": id.object_id() },
                doc! {
                    "$unset": { "email": "", "email_pending": "" },
                    "$set": { "modified_date": DateTime::from_system_time(now) },
                },
            )
            .return_document(ReturnDocument::Before)
            .await?;
        Ok(before.and_then(|document| document.email.as_ref().and_then(EmailDocument::address)))
    }

    async fn delete(&self, id: &AccountId) -> Result<bool, StoreError> {
        let result = self
            .users
            .delete_one(doc! { "_id": id.object_id() })
            .await?;
        Ok(result.deleted_count == 1)
    }

    async fn change_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let filter = doc! { "_id": id.object_id(), "password": current_hash };
        self.replace_password(filter, new_hash, Revocation::Sessions, now)
            .await
    }

    async fn reset_password(
        &self,
        id: &AccountId,
        current_hash: &str,
        new_hash: &str,
        address: Option<&EmailAddress>,
        issued_under: u64,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let mut filter = at_version(issued_under);
        filter.insert("_id", id.object_id());
        filter.insert("password", current_hash);
        filter.insert("disabled", doc! { "$ne": true });
        if let Some(address) = address {
            filter.insert("email.key", address.key());
        }
        self.replace_password(filter, new_hash, Revocation::SessionsAndPasskeys, now)
            .await
    }

    async fn upgrade_hash(
        &self,
        id: &AccountId,
        username: &Username,
        legacy_hash: &str,
        new_hash: &str,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let filter = doc! { "_id": id.object_id(), "password": legacy_hash };
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
