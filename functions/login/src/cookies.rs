//! The cookies of the hosted pages. The login session's holds an opaque 256-bit id (never a
//! JWT); the CSRF cookie holds the token every form repeats (double submit); the federation
//! cookie binds sign-ins at upstream providers to the browser that started them. Over https
//! all are `Secure` with the `__Host-` prefix (no `Domain`, path `/`), so neither a sibling
//! domain nor plain http can set them; all are `HttpOnly`, and all but the federation cookie
//! `SameSite=Lax`.

use lambda_http::Request;
use lambda_http::http::header;
use std::time::Duration;

/// The names and flags for one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Whether the service is reached over https (its issuer URL's scheme).
    pub secure: bool,
}

const SESSION: &str = "lambda-auth-session";
const CSRF: &str = "lambda-auth-csrf";
const FEDERATION: &str = "lambda-auth-federation";

impl CookiePolicy {
    /// The policy for the issuer URL `issuer`.
    pub fn for_issuer(issuer: &str) -> Self {
        Self {
            secure: issuer.starts_with("https://"),
        }
    }

    fn name(self, base: &str) -> String {
        if self.secure {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// The login session cookie's value in `request`.
    pub fn session(self, request: &Request) -> Option<String> {
        cookie(request, &self.name(SESSION))
    }

    /// The CSRF cookie's value in `request`.
    pub fn csrf(self, request: &Request) -> Option<String> {
        cookie(request, &self.name(CSRF))
    }

    /// `Set-Cookie` for a login session lasting `lifetime`.
    pub fn set_session(self, value: &str, lifetime: Duration) -> String {
        self.set(SESSION, value, Some(lifetime.as_secs()))
    }

    /// `Set-Cookie` that removes the login session cookie.
    pub fn clear_session(self) -> String {
        self.set(SESSION, "", Some(0))
    }

    /// `Set-Cookie` for the CSRF token (for the browser session).
    pub fn set_csrf(self, value: &str) -> String {
        self.set(CSRF, value, None)
    }

    /// The value binding sign-ins at upstream providers to this browser, in `request`.
    pub fn federation(self, request: &Request) -> Option<String> {
        cookie(request, &self.name(FEDERATION))
    }

    /// `Set-Cookie` binding sign-ins at upstream providers to this browser for `lifetime`.
    /// Over https it is `SameSite=None`: Apple answers with a cross-site form post, which
    /// carries no `Lax` cookie; the sign-in it binds is single-use and expires anyway.
    pub fn set_federation(self, value: &str, lifetime: Duration) -> String {
        let same_site = if self.secure { "None" } else { "Lax" };
        self.set_with(FEDERATION, value, Some(lifetime.as_secs()), same_site)
    }

    fn set(self, base: &str, value: &str, max_age: Option<u64>) -> String {
        self.set_with(base, value, max_age, "Lax")
    }

    fn set_with(self, base: &str, value: &str, max_age: Option<u64>, same_site: &str) -> String {
        let mut cookie = format!(
            "{}={value}; Path=/; HttpOnly; SameSite={same_site}",
            self.name(base)
        );
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| shared::sessions::well_formed(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_https_the_cookies_are_host_prefixed_and_secure() {
        let policy = CookiePolicy::for_issuer("https://auth.example");
        let set = policy.set_session("v", Duration::from_secs(60));
        assert_eq!(
            set,
            "__Host-lambda-auth-session=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert!(!set.contains("Domain"));
        let local = CookiePolicy::for_issuer("http://127.0.0.1:3000");
        assert_eq!(
            local.set_csrf("t"),
            "lambda-auth-csrf=t; Path=/; HttpOnly; SameSite=Lax"
        );
    }
}
