//! The ids of clients: a machine client's is `cl_` and 24 characters of `a-z2-7`, a relying
//! party's `rp_` and the same, so neither is ever an account id or the other kind. A machine
//! client's tokens carry its id as `sub` and `client_id`; a user's tokens from a relying
//! party carry the account as `sub` and the relying party as `client_id`.

const ID_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A client's id: `cl_` and 24 characters of `a-z2-7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// The id written as `text`, when it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        parse_prefixed("cl_", text).map(Self)
    }

    /// A new random id; `None` when the system has no randomness to give.
    pub fn generate() -> Option<Self> {
        generate_prefixed("cl_").map(Self)
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

/// A relying party's id (its OAuth `client_id`): `rp_` and 24 characters of `a-z2-7`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelyingPartyId(String);

impl RelyingPartyId {
    /// The id written as `text`, when it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        parse_prefixed("rp_", text).map(Self)
    }

    /// A new random id; `None` when the system has no randomness to give.
    pub fn generate() -> Option<Self> {
        generate_prefixed("rp_").map(Self)
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RelyingPartyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn parse_prefixed(prefix: &str, text: &str) -> Option<String> {
    let random = text.strip_prefix(prefix)?;
    (random.len() == 24 && random.bytes().all(|b| ID_ALPHABET.contains(&b)))
        .then(|| text.to_owned())
}

fn generate_prefixed(prefix: &str) -> Option<String> {
    let mut bytes = [0_u8; 24];
    getrandom::fill(&mut bytes).ok()?;
    let random: String = bytes
        .iter()
        .map(|byte| char::from(ID_ALPHABET[usize::from(byte % 32)]))
        .collect();
    Some(format!("{prefix}{random}"))
}
