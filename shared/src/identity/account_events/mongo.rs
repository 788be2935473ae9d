//! The MongoDB implementation of [`super::AccountEventStore`].

use super::*;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use crate::platform::http::RequestSource;
use mongodb::bson::{DateTime, doc, oid::ObjectId};
use mongodb::{Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Serialize, Deserialize)]
struct EventDocument {
    #[serde(rename = "_id")]
    id: ObjectId,
    account: String,
    kind: EventKind,
    at: DateTime,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locked_for_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    expires_at: DateTime,
}

impl EventDocument {
    fn event(self) -> Option<AccountEvent> {
        Some(AccountEvent {
            id: self.id,
            account: AccountId::parse(&self.account)?,
            kind: self.kind,
            at: self.at.to_system_time(),
            client: RequestSource {
                ip: self.ip,
                user_agent: self.user_agent,
            },
            locked_for_seconds: self
                .locked_for_seconds
                .and_then(|seconds| u64::try_from(seconds).ok()),
            actor: self.actor.as_deref().and_then(AccountId::parse),
        })
    }
}

/// Events in MongoDB, expired by a TTL index on `expires_at`.
#[derive(Debug, Clone)]
pub struct MongoAccountEventStore {
    events: Collection<EventDocument>,
    retention: Duration,
}

impl MongoAccountEventStore {
    /// The store on `database`'s `security_events` collection, keeping events for
    /// [`DEFAULT_RETENTION`] until [`Self::with_retention`] says otherwise.
    pub fn new(database: &Database) -> Self {
        Self {
            events: database.collection(ACCOUNT_EVENTS_COLLECTION),
            retention: DEFAULT_RETENTION,
        }
    }

    /// The same store keeping new events for `retention`.
    #[must_use]
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The TTL index and the index pages are read by (account, newest first).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let ttl = crate::platform::database::expiry_index();
        let by_account = IndexModel::builder()
            .keys(doc! { "account": 1, "at": -1, "_id": -1 })
            .build();
        self.events.create_indexes([ttl, by_account]).await?;
        Ok(())
    }
}

impl AccountEventStore for MongoAccountEventStore {
    async fn append(&self, event: &AccountEvent) -> Result<(), StoreError> {
        let document = EventDocument {
            id: event.id,
            account: event.account.as_str().to_owned(),
            kind: event.kind,
            at: DateTime::from_system_time(event.at),
            ip: event.client.ip.clone(),
            user_agent: event.client.user_agent.clone(),
            locked_for_seconds: event
                .locked_for_seconds
                .map(|seconds| i64::try_from(seconds).unwrap_or(i64::MAX)),
            actor: event.actor.as_ref().map(|actor| actor.as_str().to_owned()),
            expires_at: DateTime::from_system_time(event.at + self.retention),
        };
        self.events.insert_one(document).await?;
        Ok(())
    }

    async fn amend(
        &self,
        account: &AccountId,
        id: ObjectId,
        kind: EventKind,
    ) -> Result<(), StoreError> {
        let kind = mongodb::bson::to_bson(&kind).map_err(mongodb::error::Error::from)?;
        self.events
            .update_one(
                doc! { "_id": id, "account": account.as_str() },
                doc! { "$set": { "kind": kind }, "$unset": { "locked_for_seconds": "" } },
            )
            .await?;
        Ok(())
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let result = self
            .events
            .delete_many(doc! { "account": account.as_str() })
            .await?;
        Ok(result.deleted_count)
    }

    async fn page(
        &self,
        account: &AccountId,
        cursor: Option<&Cursor>,
        limit: u32,
    ) -> Result<Vec<AccountEvent>, StoreError> {
        use futures_util::TryStreamExt as _;
        let mut filter = doc! { "account": account.as_str() };
        if let Some(cursor) = cursor {
            let at = DateTime::from_millis(cursor.at_millis);
            filter.insert(
                "$or",
                vec![
                    doc! { "at": { "$lt": at } },
                    doc! { "at": at, "_id": { "$lt": cursor.id } },
                ],
            );
        }
        let documents: Vec<EventDocument> = self
            .events
            .find(filter)
            .sort(doc! { "at": -1, "_id": -1 })
            .limit(i64::from(limit.min(MAX_PAGE)))
            .await?
            .try_collect()
            .await?;
        Ok(documents
            .into_iter()
            .filter_map(EventDocument::event)
            .collect())
    }
}
