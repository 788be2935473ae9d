//! The id of a machine client: `cl_` and 24 characters of `a-z2-7`, so it is never an
//! account id. Its tokens carry it as `sub` and `client_id`.

const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A client's id: `cl_` and 24 characters of `a-z2-7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// The id written as `text`, when it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        let random = text.strip_prefix("cl_")?;
        (random.len() == 24 && random.bytes().all(|b| ID_ALPHABET.contains(&b)))
            .then(|| Self(text.to_owned()))
    }

    /// A new random id; `None` when the system has no randomness to give.
    pub fn generate() -> Option<Self> {
        let mut bytes = [0_u8; 24];
        getrandom::fill(&mut bytes).ok()?;
        let random: String = bytes
            .iter()
            .map(|byte| char::from(ID_ALPHABET[usize::from(byte % 32)]))
            .collect();
        Some(Self(format!("cl_{random}")))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
