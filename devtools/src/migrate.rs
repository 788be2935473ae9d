//! `migrate`: prepares a users collection written by the FastAPI tutorial app for this
//! project. It computes every document's canonical username, reports names that collide
//! case-insensitively (that app accepted them), and, only when there are none and `--apply`
//! is given, creates the indexes, writes `username_canonical` (many updates in flight, with
//! progress) and records when the pass began, so the legacy lookup only examines documents
//! created since; then it gives the accounts their look-alike keys and lists the accounts
//! whose names look alike ([`shared::identity::users::look_alikes`]), as `setup-database` does. An interrupted run leaves no record; running it again finishes the work
//! (documents already carrying their canonical name are skipped) and changes nothing once
//! done.

use futures_util::{StreamExt as _, TryStreamExt as _};
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::{Collection, Database};
use shared::identity::credentials::Username;
use shared::identity::users::{MongoUserStore, UserCollectionSettings};
use std::collections::BTreeMap;
use std::fmt;

/// One document as the report names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// The document's `_id`, as its extended-JSON text (`ObjectId("…")`).
    pub id: String,
    /// The stored username.
    pub username: String,
    /// `created_date`, when the document has one.
    pub created: Option<DateTime>,
}

/// What a run found and did.
#[derive(Debug, Default)]
pub struct Report {
    /// Documents scanned.
    pub scanned: usize,
    /// Documents whose `username_canonical` is missing or stale.
    pub to_update: usize,
    /// Canonical names held by more than one document, with those documents.
    pub collisions: BTreeMap<String, Vec<Account>>,
    /// Documents whose username this project cannot accept (they cannot log in here).
    pub invalid: Vec<Account>,
    /// Documents updated (with `--apply`).
    pub updated: usize,
    /// Whether the unique index was created or confirmed (with `--apply`).
    pub indexed: bool,
    /// When the applied pass began, now recorded for the legacy lookup (with `--apply`).
    pub pass_started_at: Option<DateTime>,
    /// The look-alike keys given and the groups of accounts whose names look alike (with
    /// `--apply`).
    pub look_alikes: Option<shared::identity::users::look_alikes::LookAlikeReport>,
}

/// Updates in flight at once during `--apply`.
const UPDATES_IN_FLIGHT: usize = 32;

impl Report {
    /// Whether the collection can be taken over as it is.
    pub fn is_clean(&self) -> bool {
        self.collisions.is_empty()
    }
}

/// Scans the configured users collection; with `apply` and no collisions, creates the
/// indexes, writes the canonical names and records the pass. `progress` gets a line now and
/// then (scanned and updated counts).
pub async fn run(
    database: &Database,
    settings: &UserCollectionSettings,
    apply: bool,
    progress: impl Fn(&str) + Sync,
) -> Result<Report, Box<dyn std::error::Error + Send + Sync>> {
    let users: Collection<Document> = database.collection(&settings.collection);
    let pass_started_at = DateTime::now();
    let total = users.estimated_document_count().await.unwrap_or(0);
    let step = progress_step(total);
    let mut report = Report::default();
    let mut groups: BTreeMap<String, Vec<Account>> = BTreeMap::new();
    let mut updates = Vec::new();
    let mut cursor = users
        .find(doc! {})
        .projection(doc! { "username": 1, "username_canonical": 1, "created_date": 1 })
        .await?;
    while cursor.advance().await? {
        let document = cursor.deserialize_current()?;
        report.scanned += 1;
        if report.scanned % step == 0 {
            progress(&format!("scanned {} of about {total}", report.scanned));
        }
        let id = document.get("_id").cloned().unwrap_or(Bson::Null);
        let account = Account {
            id: id.to_string(),
            username: document.get_str("username").unwrap_or_default().to_owned(),
            created: document.get_datetime("created_date").ok().copied(),
        };
        let Ok(username) = Username::parse(&account.username) else {
            report.invalid.push(account);
            continue;
        };
        let canonical = username.canonical().to_owned();
        if document.get_str("username_canonical").ok() != Some(canonical.as_str()) {
            updates.push((id, canonical.clone()));
        }
        groups.entry(canonical).or_default().push(account);
    }
    report.to_update = updates.len();
    report.collisions = groups
        .into_iter()
        .filter(|(_, accounts)| accounts.len() > 1)
        .collect();
    if !apply || !report.is_clean() {
        return Ok(report);
    }
    // The unique index first: it covers only documents with the field, so it can be built
    // now, and from here on a name that came to collide since the scan fails its update
    // instead of being written twice.
    MongoUserStore::with_settings(database, settings)
        .ensure_indexes()
        .await?;
    report.indexed = true;
    let to_write = updates.len();
    let step = progress_step(u64::try_from(to_write).unwrap_or(u64::MAX));
    let mut written = futures_util::stream::iter(updates)
        .map(|(id, canonical)| {
            let users = users.clone();
            async move {
                users
                    .update_one(
                        doc! { "_id": id },
                        doc! { "$set": { "username_canonical": canonical } },
                    )
                    .await
            }
        })
        .buffer_unordered(UPDATES_IN_FLIGHT);
    while let Some(result) = written.try_next().await.map_err(|error| {
        format!(
            "{error}: a name may have come to collide since the scan; nothing is lost, run \
             migrate again"
        )
    })? {
        report.updated += usize::try_from(result.modified_count).unwrap_or(0);
        if report.updated % step == 0 {
            progress(&format!("updated {} of {to_write}", report.updated));
        }
    }
    database
        .collection::<Document>(shared::identity::users::legacy::MIGRATIONS_COLLECTION)
        .replace_one(
            doc! { "_id": shared::identity::users::legacy::migration_id(&settings.collection) },
            doc! {
                "pass_started_at": pass_started_at,
                "completed_at": DateTime::now(),
                "scanned": i64::try_from(report.scanned).unwrap_or(i64::MAX),
            },
        )
        .upsert(true)
        .await?;
    report.pass_started_at = Some(pass_started_at);
    report.look_alikes = Some(
        MongoUserStore::with_settings(database, settings)
            .fill_look_alike_keys()
            .await?,
    );
    Ok(report)
}

/// Every how many documents a progress line is printed: about every 10 %, at least 1,000.
fn progress_step(total: u64) -> usize {
    usize::try_from((total / 10).max(1_000)).unwrap_or(usize::MAX)
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "scanned {} documents", self.scanned)?;
        writeln!(
            f,
            "{} need username_canonical (missing or stale)",
            self.to_update
        )?;
        if !self.invalid.is_empty() {
            writeln!(
                f,
                "{} usernames this project cannot accept (3-64 letters, digits, '.', '_', '-'); \
                 those accounts cannot log in here until renamed:",
                self.invalid.len()
            )?;
            for account in &self.invalid {
                writeln!(f, "  {}  {:?}", account.id, account.username)?;
            }
        }
        if self.collisions.is_empty() {
            writeln!(f, "no usernames collide case-insensitively")?;
        } else {
            writeln!(
                f,
                "{} usernames collide case-insensitively; nothing was changed:",
                self.collisions.len()
            )?;
            for (canonical, accounts) in &self.collisions {
                writeln!(f, "  {canonical}")?;
                for account in accounts {
                    let created = account
                        .created
                        .map(|date| date.try_to_rfc3339_string().unwrap_or_default())
                        .unwrap_or_else(|| "no created_date".to_owned());
                    writeln!(
                        f,
                        "    {}  {:?}  created {created}",
                        account.id, account.username
                    )?;
                }
            }
            writeln!(
                f,
                "Resolve each collision, then run migrate again. Either rename all but one \
                 account (tell those users their new name), for example\n  \
                 db.user_model.updateOne({{_id: ObjectId(\"…\")}}, {{$set: {{username: \"bob-2\"}}}})\n\
                 or delete the accounts nobody uses (the FastAPI app could never log them in:\n  \
                 its lookup failed for duplicated names), for example\n  \
                 db.user_model.deleteOne({{_id: ObjectId(\"…\")}})\n\
                 Until then, logins for these names are refused, except for an account that \
                 already carries its canonical name: it keeps the name and signs in."
            )?;
        }
        if self.indexed {
            writeln!(
                f,
                "applied: {} documents updated; unique index {} in place",
                self.updated,
                shared::identity::users::UNIQUE_INDEX
            )?;
            if let Some(look_alikes) = &self.look_alikes {
                writeln!(
                    f,
                    "look-alike keys given to {} accounts",
                    look_alikes.filled
                )?;
                for (key, accounts) in &look_alikes.groups {
                    writeln!(
                        f,
                        "accounts whose names look alike ({key}); the first holds the name, \
                         all keep signing in:"
                    )?;
                    for account in accounts {
                        writeln!(f, "  {}  {:?}", account.id, account.username)?;
                    }
                }
            }
            if let Some(started) = self.pass_started_at {
                writeln!(
                    f,
                    "recorded: documents created before {} carry their canonical name; the \
                     legacy lookup now reads only those created since",
                    started.try_to_rfc3339_string().unwrap_or_default()
                )?;
            }
        } else if self.collisions.is_empty() {
            writeln!(
                f,
                "dry run: nothing written; run again with --apply to write"
            )?;
        }
        Ok(())
    }
}
