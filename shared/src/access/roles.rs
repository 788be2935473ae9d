//! Roles: named sets of scopes that accounts carry. The operator defines them in one place,
//! `ROLES` (the template's `Roles` parameter): `role=scope,scope;role=scope`. A login's
//! access token carries the union of the scopes of the account's roles.

use crate::access::scopes::Scopes;
use crate::platform::config::{ConfigError, Source};
use std::collections::BTreeMap;

/// The role that administers accounts and clients; `grant-role` gives the first one.
pub const ADMIN: &str = "admin";

/// The roles when `ROLES` is not set: `admin` with every administrative scope.
pub const DEFAULT_ROLES: &str = "admin=users:admin,clients:admin,products:write";

/// The scope that makes an account an administrator of other accounts.
pub const USERS_ADMIN_SCOPE: &str = "users:admin";

/// Whether `name` can be a role: 1 to 32 characters of `a-z`, `0-9`, `_` and `-`,
/// starting with a letter.
pub fn is_role_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=32).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

/// The defined roles and the scopes each grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles(BTreeMap<String, Scopes>);

impl Default for Roles {
    fn default() -> Self {
        Self::parse(DEFAULT_ROLES).expect("the default roles parse")
    }
}

impl Roles {
    /// Parses `role=scope,scope;role=scope`: each role named once, each scope one the API
    /// defines ([`crate::access::scopes::SCOPES`]).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut roles = BTreeMap::new();
        for definition in text.split(';').map(str::trim).filter(|d| !d.is_empty()) {
            let Some((name, scopes)) = definition.split_once('=') else {
                return Err(format!("{definition:?} is not role=scope,scope"));
            };
            let name = name.trim();
            if !is_role_name(name) {
                return Err(format!(
                    "{name:?} is not a role name (a-z, 0-9, _ and -, starting with a letter)"
                ));
            }
            let scopes: Scopes = scopes
                .split(',')
                .map(str::trim)
                .filter(|scope| !scope.is_empty())
                .collect();
            if let Some(unknown) = scopes.unknown().first() {
                return Err(format!(
                    "role {name} grants {unknown:?}, which is not a scope of the API"
                ));
            }
            if roles.insert(name.to_owned(), scopes).is_some() {
                return Err(format!("role {name} is defined twice"));
            }
        }
        Ok(Self(roles))
    }

    /// Reads `ROLES`, [`DEFAULT_ROLES`] when unset.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        match source.get("ROLES") {
            None => Ok(Self::default()),
            Some(text) => Self::parse(&text).map_err(|reason| ConfigError::Invalid {
                var: "ROLES",
                reason,
            }),
        }
    }

    /// Whether `role` is defined.
    pub fn is_defined(&self, role: &str) -> bool {
        self.0.contains_key(role)
    }

    /// The defined role names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The scopes the roles `held` grant together. A role no longer defined grants nothing.
    pub fn scopes_for<R: AsRef<str>>(&self, held: &[R]) -> Scopes {
        let mut scopes = Scopes::none();
        for role in held {
            if let Some(granted) = self.0.get(role.as_ref()) {
                scopes.extend(granted.iter().map(str::to_owned));
            }
        }
        scopes
    }

    /// The roles that grant `scope`.
    pub fn granting(&self, scope: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, scopes)| scopes.contains(scope))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_admin_role_grants_every_administrative_scope() {
        let roles = Roles::default();
        assert_eq!(
            roles.scopes_for(&[ADMIN]).to_string(),
            "clients:admin products:write users:admin"
        );
        assert!(roles.scopes_for::<&str>(&[]).is_empty());
        assert_eq!(roles.granting(USERS_ADMIN_SCOPE), [ADMIN]);
    }

    #[test]
    fn operators_define_roles_in_one_value() {
        let roles =
            Roles::parse("admin=users:admin, clients:admin,products:write; editor=products:write;")
                .unwrap();
        assert!(roles.is_defined("editor"));
        assert_eq!(
            roles.scopes_for(&["editor", "gone"]).to_string(),
            "products:write",
            "a role no longer defined grants nothing"
        );
        assert_eq!(roles.names().collect::<Vec<_>>(), ["admin", "editor"]);
    }

    #[test]
    fn invalid_role_definitions_are_refused_with_the_reason() {
        for (text, reason) in [
            ("editor", "not role=scope"),
            ("Editor=products:write", "not a role name"),
            ("editor=products:delete", "not a scope of the API"),
            ("a=products:write;a=users:admin", "defined twice"),
        ] {
            let error = Roles::parse(text).unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
