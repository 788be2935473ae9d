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
    /// An account, after a login at `/token`.
    User,
    /// A machine client, with the client-credentials grant.
    Client,
    /// An account, through a relying party (the authorization-code flow): only what the user
    /// granted that application.
    RelyingParty,
}

/// The scope a relying party's token needs for the account's own routes (those a user's
/// token calls without any scope: the profile, sessions, history, security settings).
/// Without it an application the user signed in to reads only UserInfo and the API routes
/// whose scopes it was granted.
pub const ACCOUNT_SCOPE: &str = "account";

/// The scopes of OpenID Connect itself, which every relying party may ask for: the id_token
/// (`openid`), the profile and address claims, and a refresh token (`offline_access`).
pub const OPENID_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// The scopes the user grants a relying party rather than the account's roles: OpenID
/// Connect's and [`ACCOUNT_SCOPE`].
pub const USER_GRANTED_SCOPES: [&str; 5] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    ACCOUNT_SCOPE,
];

/// The routes any relying party's token with `openid` may call: OpenID Connect's UserInfo.
pub const OPENID_ROUTES: [(&str, &str); 2] = [("GET", "/userinfo"), ("POST", "/userinfo")];

impl ProtectedRoute {
    /// Whether a token of `caller` carrying `scopes` may call this route: every scope of the
    /// route's requirement for that kind of token is granted. A relying party's token
    /// follows the user's requirement, and a route that requires no scope of a user needs
    /// [`ACCOUNT_SCOPE`] of it (or `openid`, for [`OPENID_ROUTES`]).
    pub fn allows(&self, caller: Caller, scopes: &Scopes) -> bool {
        let requirement = match caller {
            Caller::User | Caller::RelyingParty => self.users,
            Caller::Client => self.clients,
        };
        let Some(required) = requirement else {
            return false;
        };
        if caller == Caller::RelyingParty && required.is_empty() {
            let userinfo = OPENID_ROUTES.contains(&(self.method, self.path));
            return scopes.contains(ACCOUNT_SCOPE) || (userinfo && scopes.contains("openid"));
        }
        required.iter().all(|scope| scopes.contains(scope))
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
        let own = PROTECTED_ROUTES
            .iter()
            .find(|route| route.method == "GET" && route.path == "/users/me")
            .unwrap();
        assert!(own.allows(Caller::User, &Scopes::none()));
        assert!(
            !own.allows(Caller::RelyingParty, &Scopes::parse("openid profile email")),
            "an application reads the account only with the account scope"
        );
        assert!(own.allows(Caller::RelyingParty, &Scopes::parse("openid account")));
        let userinfo = PROTECTED_ROUTES
            .iter()
            .find(|route| route.method == "GET" && route.path == "/userinfo")
            .unwrap();
        assert!(userinfo.allows(Caller::RelyingParty, &Scopes::parse("openid")));
        assert!(!userinfo.allows(Caller::RelyingParty, &Scopes::parse("profile")));
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
