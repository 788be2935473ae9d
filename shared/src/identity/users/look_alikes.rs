//! Filling the look-alike key ([`Username::skeleton_key`]) of accounts stored before sign-up
//! kept it, and finding the accounts whose names already look alike. New sign-ups store the
//! key under a unique index; for existing accounts, `setup-database` (and `migrate --apply`)
//! give it to one account of each look-alike group (the one that already holds it, else the
//! oldest), so a new name that looks like any of them is refused, and report the groups. The
//! others keep signing in as before: logins never read the key.

use super::mongo::MongoUserStore;
use crate::identity::credentials::Username;
use crate::platform::database::{StoreError, is_duplicate_key};
use mongodb::bson::{Bson, DateTime, Document, doc};
use std::collections::BTreeMap;

/// An account as the look-alike report names it.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedAccount {
    /// The document's `_id`, as its extended-JSON text.
    pub id: String,
    /// The stored username.
    pub username: String,
}

/// What a fill found and did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LookAlikeReport {
    /// Accounts that got their key now.
    pub filled: usize,
    /// Groups of two or more accounts whose names share a key, by key; the first of each
    /// holds it.
    pub groups: BTreeMap<String, Vec<NamedAccount>>,
}

struct Scanned {
    id: Bson,
    account: NamedAccount,
    created: Option<DateTime>,
    holds_key: bool,
}

impl MongoUserStore {
    /// Gives every account without its look-alike key that is the first of its group the
    /// key, and reports the groups of accounts that look alike. Idempotent; a sign-up that
    /// took a key meanwhile keeps it (the fill skips that account).
    pub async fn fill_look_alike_keys(&self) -> Result<LookAlikeReport, StoreError> {
        let documents = self.users.clone_with_type::<Document>();
        let mut cursor = documents
            .find(doc! {})
            .projection(doc! { "username": 1, "username_skeleton": 1, "created_date": 1 })
            .await?;
        let mut groups: BTreeMap<String, Vec<Scanned>> = BTreeMap::new();
        while cursor.advance().await? {
            let document = cursor.deserialize_current()?;
            let raw = document.get_str("username").unwrap_or_default();
            let Ok(username) = Username::parse(raw) else {
                continue;
            };
            let key = username.skeleton_key();
            let holds_key = document.get_str("username_skeleton").ok() == Some(key.as_str());
            groups.entry(key).or_default().push(Scanned {
                id: document.get("_id").cloned().unwrap_or(Bson::Null),
                account: NamedAccount {
                    id: document
                        .get("_id")
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    username: raw.to_owned(),
                },
                created: document.get_datetime("created_date").ok().copied(),
                holds_key,
            });
        }
        let mut report = LookAlikeReport::default();
        for (key, mut group) in groups {
            group.sort_by_key(|scanned| (!scanned.holds_key, scanned.created));
            let first = &group[0];
            if !first.holds_key {
                let filled = documents
                    .update_one(
                        doc! { "_id": first.id.clone(), "username_skeleton": { "$exists": false } },
                        doc! { "$set": { "username_skeleton": &key } },
                    )
                    .await;
                match filled {
                    Ok(result) => {
                        report.filled += usize::try_from(result.modified_count).unwrap_or(0)
                    }
                    Err(error) if is_duplicate_key(&error) => {}
                    Err(error) => return Err(error.into()),
                }
            }
            if group.len() > 1 {
                let accounts = group.into_iter().map(|scanned| scanned.account).collect();
                report.groups.insert(key, accounts);
            }
        }
        Ok(report)
    }
}
