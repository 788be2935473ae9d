//! Finding the FastAPI app's documents (no `username_canonical` yet) when
//! `LEGACY_USER_LOOKUP` is on, refusing names that match more than one account.
//!
//! A legacy document belongs to a name when its `username` has the same canonical form
//! ([`caseless_key`]: NFKC and full case folding). MongoDB's case-insensitive regex folds one
//! character at a time, so `jess` would not find a stored `jeß`, nor `ｊｅｓｓ`: sign-up would
//! then let a new name sit beside an old account it folds to. The pattern here therefore
//! lists, at each position, every character whose canonical form is the next one or more
//! characters of the name; the exact comparison of canonical forms then decides.
//!
//! Neither the pattern nor the comparison can use an index, so over the whole collection
//! every lookup would read every unmigrated document. Once `migrate --apply` has completed a
//! pass, it records when that pass began ([`MIGRATIONS_COLLECTION`]): every document created
//! before then has `username_canonical`, so a lookup only examines documents created since
//! (the FastAPI app's sign-ups during the switch-over), through the index on `created_date`.

use super::mongo::{MongoUserStore, UserDocument};
use crate::identity::credentials::{Username, caseless_key};
use crate::platform::database::StoreError;
use mongodb::bson::{DateTime, Document, doc};
use std::collections::HashMap;
use std::sync::LazyLock;

/// Where `migrate --apply` records, per users collection, when its last complete pass began.
pub const MIGRATIONS_COLLECTION: &str = "migrations";

/// The id of a collection's record in [`MIGRATIONS_COLLECTION`].
pub fn migration_id(collection: &str) -> String {
    format!("username_canonical:{collection}")
}

/// The most legacy documents one lookup examines; more than one match is already a refusal.
const LEGACY_CANDIDATES: i64 = 8;

/// Longest pattern sent to the server (MongoDB accepts up to 32 KiB). A name whose foldings
/// overlap many times over (a long run of `s`, each pair of which may be a stored `ß`) would
/// need a longer one: such a name cannot be checked against the unmigrated documents, so it
/// cannot sign up during the switch-over, and a login for it finds only migrated accounts.
/// A server that refuses a shorter pattern (the test server takes 1,000 bytes at most) gets
/// the canonical form of every unmigrated name compared instead.
const MAX_PATTERN_BYTES: usize = 16 * 1024;

/// Characters whose canonical form differs from the character itself, by that form:
/// `"ss"` → `ß`, `ẞ`; `"j"` → `ｊ`, `𝐣`, `ⓙ`, `J`… Built once, on the first legacy lookup.
static FOLDED_FROM: LazyLock<HashMap<String, Vec<char>>> = LazyLock::new(|| {
    let mut table: HashMap<String, Vec<char>> = HashMap::new();
    // Compatibility and case mappings end at the CJK compatibility ideographs (plane 2).
    for c in (0..0x3_0000).filter_map(char::from_u32) {
        let mut buffer = [0; 4];
        let key = caseless_key(c.encode_utf8(&mut buffer));
        // The regex's `i` option matches ASCII case variants on every server; other case
        // pairs (`İ` lowercases to two characters) are listed.
        let simple_case_variant = c.is_ascii() && c.to_ascii_lowercase().to_string() == key;
        if !key.is_empty() && key.chars().ne(std::iter::once(c)) && !simple_case_variant {
            table.entry(key).or_default().push(c);
        }
    }
    table
});

/// The longest canonical form in [`FOLDED_FROM`], in characters.
static LONGEST_FOLDING: LazyLock<usize> = LazyLock::new(|| {
    FOLDED_FROM
        .keys()
        .map(|key| key.chars().count())
        .max()
        .unwrap_or(1)
});

impl MongoUserStore {
    /// Documents without `username_canonical` whose `username` has `username`'s canonical
    /// form; `None` when the name folds too many ways to be looked up (see
    /// [`MAX_PATTERN_BYTES`]).
    pub(super) async fn legacy_matches(
        &self,
        username: &Username,
    ) -> Result<Option<Vec<UserDocument>>, StoreError> {
        if !self.legacy_lookup {
            return Ok(Some(Vec::new()));
        }
        let canonical = username.canonical();
        let Some(pattern) = folding_pattern(canonical) else {
            return Ok(None);
        };
        let unmigrated = self.unmigrated().await?;
        let mut filter = unmigrated.filter.clone();
        filter.insert("username", doc! { "$regex": pattern, "$options": "i" });
        match self.users.find(filter).limit(LEGACY_CANDIDATES).await {
            Ok(cursor) => same_canonical_form(cursor, canonical).await.map(Some),
            Err(error) if is_refused_pattern(&error) => {
                tracing::warn!(username = %username, "the server refused the legacy lookup pattern: comparing every unmigrated name");
                self.legacy_matches_by_scan(canonical, &unmigrated)
                    .await
                    .map(Some)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Every unmigrated document whose name has the canonical form `canonical`, comparing
    /// all of their names (only the names travel; the matches are read in full after).
    async fn legacy_matches_by_scan(
        &self,
        canonical: &str,
        unmigrated: &Unmigrated,
    ) -> Result<Vec<UserDocument>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Name {
            #[serde(rename = "_id")]
            id: mongodb::bson::Bson,
            #[serde(default)]
            username: String,
        }
        let names = self.users.clone_with_type::<Name>();
        let mut cursor = names
            .find(unmigrated.filter.clone())
            .projection(doc! { "username": 1 })
            .await?;
        let mut ids = Vec::new();
        while cursor.advance().await? {
            let name = cursor.deserialize_current()?;
            if caseless_key(&name.username) == canonical {
                ids.push(name.id);
            }
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let cursor = self.users.find(doc! { "_id": { "$in": ids } }).await?;
        same_canonical_form(cursor, canonical).await
    }
}

/// Which documents may still lack `username_canonical`, as a filter (bounded by the last
/// migration when there was one, which the `created_date` index serves).
struct Unmigrated {
    filter: Document,
}

impl MongoUserStore {
    /// The documents a legacy lookup must examine: those without `username_canonical`,
    /// created since the last complete `migrate --apply` pass began when there was one
    /// (else all of them, which reads the whole collection: the order in docs/src/fastapi.md avoids
    /// it).
    async fn unmigrated(&self) -> Result<Unmigrated, StoreError> {
        let database = self
            .users
            .client()
            .database(self.users.namespace().db.as_str());
        let since = migrated_since(&database, self.users.name()).await?;
        let mut filter = doc! { "username_canonical": { "$exists": false } };
        if let Some(since) = since {
            filter.insert("created_date", doc! { "$gte": since });
        } else {
            tracing::warn!(
                "legacy lookup without a completed migrate --apply: every unmigrated document is read"
            );
        }
        Ok(Unmigrated { filter })
    }
}

/// When `migrate --apply`'s last complete pass over `collection` began, if one completed.
pub async fn migrated_since(
    database: &mongodb::Database,
    collection: &str,
) -> Result<Option<DateTime>, StoreError> {
    let record = database
        .collection::<Document>(MIGRATIONS_COLLECTION)
        .find_one(doc! { "_id": migration_id(collection) })
        .await?;
    Ok(record.and_then(|record| record.get_datetime("pass_started_at").ok().copied()))
}

/// The documents of `cursor` whose name has the canonical form `canonical`.
async fn same_canonical_form(
    mut cursor: mongodb::Cursor<UserDocument>,
    canonical: &str,
) -> Result<Vec<UserDocument>, StoreError> {
    let mut matches = Vec::new();
    while cursor.advance().await? {
        let document = cursor.deserialize_current()?;
        if caseless_key(&document.username) == canonical {
            matches.push(document);
        }
    }
    Ok(matches)
}

/// Whether the server refused the pattern itself (too long or a construct it lacks).
fn is_refused_pattern(error: &mongodb::error::Error) -> bool {
    const BAD_VALUE: i32 = 2;
    const INVALID_REGEX: i32 = 51091;
    matches!(
        error.kind.as_ref(),
        mongodb::error::ErrorKind::Command(command)
            if command.code == BAD_VALUE || command.code == INVALID_REGEX
    )
}

/// An anchored pattern matching every string whose canonical form is `canonical` (and, with
/// the `i` option, a few more, which the exact comparison removes); `None` when it would be
/// longer than [`MAX_PATTERN_BYTES`].
fn folding_pattern(canonical: &str) -> Option<String> {
    let chars: Vec<char> = canonical.chars().collect();
    let mut pattern = String::from("^");
    pattern_from(&chars, 0, &mut pattern)?;
    pattern.push('$');
    Some(pattern)
}

/// Appends to `out` the pattern for `chars[at..]`; `None` once `out` is too long.
fn pattern_from(chars: &[char], at: usize, out: &mut String) -> Option<()> {
    if at == chars.len() {
        return Some(());
    }
    let longer: Vec<(usize, &Vec<char>)> = (2..=*LONGEST_FOLDING)
        .filter(|length| at + length <= chars.len())
        .filter_map(|length| {
            let folded: String = chars[at..at + length].iter().collect();
            FOLDED_FROM.get(&folded).map(|sources| (length, sources))
        })
        .collect();
    let single = single_position(chars[at]);
    if longer.is_empty() {
        out.push_str(&single);
        return pattern_from(chars, at + 1, out).filter(|()| out.len() <= MAX_PATTERN_BYTES);
    }
    out.push_str("(?:");
    out.push_str(&single);
    pattern_from(chars, at + 1, out)?;
    for (length, sources) in longer {
        out.push('|');
        out.push_str(&class(sources.iter().copied()));
        pattern_from(chars, at + length, out)?;
    }
    out.push(')');
    (out.len() <= MAX_PATTERN_BYTES).then_some(())
}

/// The class of characters whose canonical form is `c` alone, `c` included, and the
/// decomposed spellings of each (`e` and a combining acute for `é`), which the FastAPI app
/// stored as they were typed.
fn single_position(c: char) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let sources = FOLDED_FROM.get(c.encode_utf8(&mut [0; 4]) as &str);
    let spellings: Vec<char> = std::iter::once(c)
        .chain(sources.into_iter().flatten().copied())
        .collect();
    let mut decomposed: Vec<String> = spellings
        .iter()
        .map(|spelling| spelling.nfd().collect::<String>())
        .filter(|nfd| nfd.chars().count() > 1)
        .collect();
    decomposed.sort();
    decomposed.dedup();
    let single = class(spellings.into_iter());
    if decomposed.is_empty() {
        return single;
    }
    let mut alternatives = format!("(?:{single}");
    for sequence in decomposed {
        alternatives.push('|');
        for c in sequence.chars() {
            if c.is_ascii_punctuation() {
                alternatives.push('\\');
            }
            alternatives.push(c);
        }
    }
    alternatives.push(')');
    alternatives
}

/// A character class of `chars`: each as itself, except ASCII punctuation, which is escaped
/// so no character means anything to the regex engine.
fn class(chars: impl Iterator<Item = char>) -> String {
    let mut class = String::from("[");
    for c in chars {
        if c.is_ascii_punctuation() {
            class.push('\\');
        }
        class.push(c);
    }
    class.push(']');
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_lists_every_character_that_folds_into_each_position() {
        let pattern = folding_pattern(&caseless_key("jeß")).unwrap();
        for spelling in ['ß', 'ẞ', 'ｊ', '𝐣', 'ⓙ', 'ｓ'] {
            assert!(pattern.contains(spelling), "{spelling} in {pattern}");
        }
        assert!(
            pattern.starts_with("^[j") && pattern.ends_with(")$"),
            "{pattern}"
        );
        assert!(
            pattern.len() < 1000,
            "short names fit the test server: {}",
            pattern.len()
        );
        assert_eq!(class("a.-".chars()), r"[a\.\-]");
    }

    #[test]
    fn the_pattern_matches_decomposed_spellings_of_each_position() {
        let pattern = folding_pattern(&caseless_key("renée")).unwrap();
        assert!(pattern.contains("e\u{301}"), "{pattern}");
        let plain = folding_pattern(&caseless_key("rene")).unwrap();
        assert!(!plain.contains("(?:"), "{plain}");
    }

    #[test]
    fn a_name_that_folds_too_many_ways_gets_no_pattern() {
        assert!(folding_pattern(&"s".repeat(6)).is_some());
        assert_eq!(folding_pattern(&"s".repeat(64)), None);
    }
}
