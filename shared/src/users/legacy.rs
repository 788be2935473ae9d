//! Finding the FastAPI app's documents (no `username_canonical` yet) when
//! `LEGACY_USER_LOOKUP` is on: a case-insensitive match on `username`, refusing names that
//! match more than one account.

use super::mongo::{MongoUserStore, UserDocument};
use crate::credentials::{Username, caseless_key};
use crate::db::StoreError;
use mongodb::bson::{Document, doc};

/// The most legacy documents one lookup examines; more than one match is already a refusal.
const LEGACY_CANDIDATES: i64 = 8;

impl MongoUserStore {
    /// Documents without `username_canonical` whose `username` has `username`'s canonical
    /// form: a case-insensitive regex narrows them down, the exact comparison decides.
    pub(super) async fn legacy_matches(
        &self,
        username: &Username,
    ) -> Result<Vec<UserDocument>, StoreError> {
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
    pub(super) fn identity(&self, username: &Username) -> Document {
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

/// Usernames hold letters, digits, `.`, `_` and `-`; only `.` and `-` mean something in a regex.
fn escape_regex(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = !c.is_alphanumeric() && c != '_';
            escape.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_escaping_covers_every_username_character() {
        assert_eq!(escape_regex("a.b-c_d"), "a\\.b\\-c_d");
        assert_eq!(escape_regex("Zoë42"), "Zoë42");
    }
}
