//! OAuth scopes (RFC 6749 section 3.3) and the routes that require them.
//!
//! `openapi.yaml` declares, for each protected operation, which kinds of token may call it
//! (`OAuth2PasswordBearer`: a user's; `OAuth2ClientCredentials`: a machine client's) and the
//! scopes that token must carry. The build turns that into [`PROTECTED_ROUTES`], from which the
//! authorizer writes its policies, so no handler repeats a route's requirement.

use std::collections::BTreeSet;
use std::fmt;

/// One protected route of the API and what a token needs to call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtectedRoute {
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path template, with `{name}` parameters, as `template.yaml` and `openapi.yaml` write it.
    pub path: &'static str,
    /// The route as the tail of an `execute-api` ARN: `METHOD/path`, each `{parameter}`
    /// segment a `*` wildcard (`DELETE/products/*`).
    pub resource: &'static str,
    /// The scopes a user's token must carry, or `None` when users' tokens may not call it.
    pub users: Option<&'static [&'static str]>,
    /// The scopes a machine client's token must carry, or `None` when clients may not call it.
    pub clients: Option<&'static [&'static str]>,
}

include!(concat!(env!("OUT_DIR"), "/protected_routes.rs"));

/// Who a token was issued to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// An account, after a login.
    User,
    /// A machine client, with the client-credentials grant.
    Client,
}

impl ProtectedRoute {
    /// Whether a token of `caller` carrying `scopes` may call this route: every scope of the
    /// route's requirement for that kind of token is granted.
    pub fn allows(&self, caller: Caller, scopes: &Scopes) -> bool {
        let requirement = match caller {
            Caller::User => self.users,
            Caller::Client => self.clients,
        };
        requirement.is_some_and(|required| required.iter().all(|scope| scopes.contains(scope)))
    }
}

/// Whether `scope` is one the API defines.
pub fn is_known(scope: &str) -> bool {
    SCOPES.iter().any(|(known, _)| *known == scope)
}

/// A set of scopes, written space-separated and sorted (the `scope` claim and parameter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// No scope at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// The scopes of a space-separated `scope` value; repeated ones count once.
    pub fn parse(text: &str) -> Self {
        Self(text.split_whitespace().map(str::to_owned).collect())
    }

    /// Whether `scope` is in the set.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every scope of this set is also in `other`.
    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scopes that are not [`is_known`].
    pub fn unknown(&self) -> Vec<&str> {
        self.iter().filter(|scope| !is_known(scope)).collect()
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Self(iter.into_iter().map(Into::into).collect())
    }
}

impl Extend<String> for Scopes {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for scope in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(scope)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_values_parse_and_print_sorted_without_repeats() {
        let scopes = Scopes::parse("  products:write users:admin\tproducts:write ");
        assert_eq!(scopes.to_string(), "products:write users:admin");
        assert!(scopes.contains("users:admin"));
        assert!(Scopes::parse("").is_empty());
        assert!(Scopes::parse("users:admin").is_subset(&scopes));
        assert!(!scopes.is_subset(&Scopes::parse("users:admin")));
        assert_eq!(Scopes::parse("users:admin nope").unknown(), ["nope"]);
    }

    #[test]
    fn parameters_become_wildcards_in_resources() {
        let route = PROTECTED_ROUTES
            .iter()
            .find(|route| route.path == "/users/me/sessions/{id}")
            .unwrap();
        assert_eq!(route.resource, "DELETE/users/me/sessions/*");
        for route in PROTECTED_ROUTES {
            assert!(
                route.resource.starts_with(route.method),
                "{}",
                route.resource
            );
            assert!(!route.resource.contains('{'), "{}", route.resource);
        }
    }

    #[test]
    fn a_route_allows_the_kinds_of_token_it_names_with_all_its_scopes() {
        let route = ProtectedRoute {
            method: "POST",
            path: "/products",
            resource: "POST/products",
            users: Some(&["products:write"]),
            clients: Some(&["products:write"]),
        };
        let writer = Scopes::parse("products:write");
        assert!(route.allows(Caller::User, &writer));
        assert!(route.allows(Caller::Client, &writer));
        assert!(!route.allows(Caller::User, &Scopes::none()));
        let users_only = ProtectedRoute {
            clients: None,
            ..route
        };
        assert!(!users_only.allows(Caller::Client, &writer));
    }

    #[test]
    fn every_required_scope_is_in_the_catalogue() {
        for route in PROTECTED_ROUTES {
            for scope in route.users.into_iter().chain(route.clients).flatten() {
                assert!(is_known(scope), "{} {}: {scope}", route.method, route.path);
            }
        }
    }
}
