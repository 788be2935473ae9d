//! The immutable identity of an account: the hex form of its MongoDB `_id`. Access tokens
//! carry it as `sub` and sessions key on it, so a name deleted and registered again never
//! inherits the old account's tokens (RFC 7519 4.1.2: a subject is never reassigned).

use std::fmt;

/// An account's id: 24 lowercase hexadecimal digits (a MongoDB ObjectId).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// The id written as `text`, when it is 24 lowercase hexadecimal digits.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        (text.len() == 24 && text.bytes().all(hex)).then(|| Self(text.to_owned()))
    }

    /// The 24 hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "database")]
impl AccountId {
    /// A new, unique id (as MongoDB would assign), for accounts kept outside MongoDB.
    pub fn generate() -> Self {
        Self::from(mongodb::bson::oid::ObjectId::new())
    }

    /// The id as the ObjectId it was read from.
    pub fn object_id(&self) -> mongodb::bson::oid::ObjectId {
        mongodb::bson::oid::ObjectId::parse_str(&self.0).expect("checked when parsed")
    }
}

#[cfg(feature = "database")]
impl From<mongodb::bson::oid::ObjectId> for AccountId {
    fn from(id: mongodb::bson::oid::ObjectId) -> Self {
        Self(id.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_24_lowercase_hex_digits_are_an_account_id() {
        assert!(AccountId::parse("65f0c0ffee0123456789abcd").is_some());
        for text in [
            "",
            "alice",
            "65F0C0FFEE0123456789ABCD",
            "65f0c0ffee0123456789abc",
            "65f0c0ffee0123456789abcde",
            "65f0c0ffee0123456789abcg",
        ] {
            assert_eq!(AccountId::parse(text), None, "{text}");
        }
    }
}
