//! The redirect URIs a relying party registers, and the one rule an authorization request's
//! `redirect_uri` must pass: exact equality with a registered one (RFC 9700 §4.1.1, OAuth 2.1
//! §2.3.1), except that a native app's loopback URI may name any port (RFC 8252 §7.3).
//!
//! A registered URI is `https` (any host), or `http` on the loopback address literal
//! `127.0.0.1` or `[::1]`; never `localhost` (RFC 8252 §8.3: a name can be made to resolve
//! elsewhere), never with a fragment (RFC 6749 §3.1.2) or user information. It is kept in its
//! normal form (the form a URL parser writes back), so two spellings of one address cannot be
//! registered apart and the comparison is of one string with another. A host name is
//! letters, digits, hyphens and dots (IDNA's ASCII form), and the path and query hold none of
//! `'`, `` ` ``, `(` or `)`, which a parser leaves as they are: a URI shown in a page or an
//! attribute can then break out of neither.

use url::{Host, Url};

/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_BYTES: usize = 2000;

/// A redirect URI a relying party registered.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

/// Why a redirect URI cannot be registered; the message is safe to show the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URI, or longer than [`MAX_REDIRECT_URI_BYTES`].
    #[error("a redirect URI must be an absolute URI of at most 2000 bytes")]
    NotAbsolute,
    /// Neither `https` nor `http` on a loopback address literal.
    #[error("a redirect URI must use https, or http on 127.0.0.1 or [::1] for a native app")]
    Scheme,
    /// `localhost` instead of the loopback address literal.
    #[error("a native app's redirect URI names 127.0.0.1 or [::1], not localhost")]
    Localhost,
    /// A `#fragment`.
    #[error("a redirect URI must not have a fragment")]
    Fragment,
    /// `user:password@` before the host.
    #[error("a redirect URI must not carry user information")]
    UserInfo,
    /// A host name other than letters, digits, hyphens and dots, or a path or query with
    /// `'`, `` ` ``, `(` or `)`.
    #[error(
        "a redirect URI's host must be a DNS name or address, and its path and query free of ' ` ( )"
    )]
    Characters,
    /// Written otherwise than its normal form.
    #[error("write the redirect URI in its normal form: {0}")]
    NotNormal(String),
}

impl RedirectUri {
    /// `text` as a redirect URI to register, when it follows the rules above.
    pub fn register(text: &str) -> Result<Self, RedirectUriError> {
        if text.len() > MAX_REDIRECT_URI_BYTES {
            return Err(RedirectUriError::NotAbsolute);
        }
        let url = Url::parse(text).map_err(|_| RedirectUriError::NotAbsolute)?;
        if url.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo);
        }
        if let Some(Host::Domain(name)) = url.host()
            && !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return Err(RedirectUriError::Characters);
        }
        match (url.scheme(), url.host()) {
            ("https", Some(Host::Domain(_) | Host::Ipv4(_) | Host::Ipv6(_))) => {}
            ("http", Some(Host::Domain(name))) if name.eq_ignore_ascii_case("localhost") => {
                return Err(RedirectUriError::Localhost);
            }
            ("http", Some(_)) if is_loopback(&url) => {}
            _ => return Err(RedirectUriError::Scheme),
        }
        if url.as_str() != text {
            return Err(RedirectUriError::NotNormal(url.as_str().to_owned()));
        }
        if text.contains(['\'', '`', '(', ')']) {
            return Err(RedirectUriError::Characters);
        }
        Ok(Self(text.to_owned()))
    }

    /// A URI as stored, registered earlier.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }

    /// The URI.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a native app's loopback URI, which any port matches.
    pub fn is_loopback(&self) -> bool {
        Url::parse(&self.0).is_ok_and(|url| url.scheme() == "http" && is_loopback(&url))
    }

    /// Whether `presented` (an authorization request's `redirect_uri`) is this URI: the same
    /// string, or for a loopback URI the same string but for the port.
    pub fn matches(&self, presented: &str) -> bool {
        if presented == self.0 {
            return true;
        }
        if presented.len() > MAX_REDIRECT_URI_BYTES || !self.is_loopback() {
            return false;
        }
        let Ok(mut url) = Url::parse(presented) else {
            return false;
        };
        if url.as_str() != presented || url.scheme() != "http" || !is_loopback(&url) {
            return false;
        }
        if url.set_port(None).is_err() {
            return false;
        }
        let Ok(mut registered) = Url::parse(&self.0) else {
            return false;
        };
        registered.set_port(None).is_ok() && url == registered
    }
}

/// Where to send the user back: `presented` when it matches one of `registered` (for a
/// loopback URI, with the port the request named, not the registered one), else `None`.
pub fn redirect_target<'a>(registered: &[RedirectUri], presented: &'a str) -> Option<&'a str> {
    registered
        .iter()
        .any(|uri| uri.matches(presented))
        .then_some(presented)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(address)) => address == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(address)) => address == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn registered(text: &str) -> RedirectUri {
        RedirectUri::register(text).unwrap()
    }

    #[test]
    fn https_and_loopback_http_are_registered() {
        for text in [
            "https://app.example.com/callback",
            "https://app.example.com/callback?tenant=a",
            "https://app.example.com:8443/cb",
            "https://203.0.113.7/cb",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:51004/callback",
            "http://[::1]/callback",
        ] {
            assert_eq!(registered(text).as_str(), text);
        }
    }

    #[test]
    fn everything_else_is_refused_with_its_reason() {
        let cases = [
            ("/callback", RedirectUriError::NotAbsolute),
            ("", RedirectUriError::NotAbsolute),
            ("http://app.example.com/cb", RedirectUriError::Scheme),
            ("http://10.0.0.1/cb", RedirectUriError::Scheme),
            ("http://127.0.0.2/cb", RedirectUriError::Scheme),
            ("javascript:alert(1)", RedirectUriError::Scheme),
            ("data:text/html,hi", RedirectUriError::Scheme),
            ("com.example.app:/oauth2redirect", RedirectUriError::Scheme),
            ("ftp://app.example.com/cb", RedirectUriError::Scheme),
            ("http://localhost:8080/cb", RedirectUriError::Localhost),
            ("http://LOCALHOST/cb", RedirectUriError::Localhost),
            ("https://app.example.com/cb#top", RedirectUriError::Fragment),
            ("https://app.example.com/cb#", RedirectUriError::Fragment),
            (
                "https://user@app.example.com/cb",
                RedirectUriError::UserInfo,
            ),
            ("https://u:p@app.example.com/cb", RedirectUriError::UserInfo),
            (
                "https://App.Example.com/cb",
                RedirectUriError::NotNormal("https://app.example.com/cb".to_owned()),
            ),
            (
                "https://app.example.com",
                RedirectUriError::NotNormal("https://app.example.com/".to_owned()),
            ),
            (
                "https://app.example.com:443/cb",
                RedirectUriError::NotNormal("https://app.example.com/cb".to_owned()),
            ),
            (
                "https://app.example.com/a/../cb",
                RedirectUriError::NotNormal("https://app.example.com/cb".to_owned()),
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(RedirectUri::register(text), Err(reason), "{text}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(2000));
        assert_eq!(
            RedirectUri::register(&long),
            Err(RedirectUriError::NotAbsolute)
        );
    }

    #[test]
    fn an_https_uri_matches_only_itself() {
        let uri = registered("https://app.example.com/callback?tenant=a");
        assert!(uri.matches("https://app.example.com/callback?tenant=a"));
        for other in [
            "https://app.example.com/callback",
            "https://app.example.com/callback?tenant=a&x=1",
            "https://app.example.com/callback?tenant=ab",
            "https://app.example.com/callback/?tenant=a",
            "https://app.example.com/callbackx?tenant=a",
            "https://app.example.com/callback?tenant=a#frag",
            "https://app.example.com:8443/callback?tenant=a",
            "http://app.example.com/callback?tenant=a",
            "https://APP.example.com/callback?tenant=a",
            "https://app.example.com.evil.example/callback?tenant=a",
            "https://evil.example/https://app.example.com/callback?tenant=a",
            "https://app.example.com@evil.example/callback?tenant=a",
            "https://app.example.com/Callback?tenant=a",
            "https://app.example.com/callback%3Ftenant=a",
            "",
        ] {
            assert!(!uri.matches(other), "{other}");
        }
    }

    #[test]
    fn a_loopback_uri_matches_any_port_and_nothing_else() {
        for registered_text in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8400/callback",
        ] {
            let uri = registered(registered_text);
            assert!(uri.is_loopback());
            for port in ["", ":1", ":8400", ":51004", ":65535"] {
                let presented = format!("http://127.0.0.1{port}/callback");
                assert!(uri.matches(&presented), "{registered_text} ~ {presented}");
            }
            for other in [
                "http://127.0.0.1:51004/callback/",
                "http://127.0.0.1:51004/callbacks",
                "http://127.0.0.1:51004/callback?x=1",
                "http://127.0.0.1:51004/callback#x",
                "https://127.0.0.1:51004/callback",
                "http://[::1]:51004/callback",
                "http://localhost:51004/callback",
                "http://127.0.0.2:51004/callback",
                "http://127.0.0.1.evil.example:51004/callback",
                "http://evil@127.0.0.1:51004/callback",
                "http://127.0.0.1:051004/callback",
                "http://127.1:51004/callback",
            ] {
                assert!(!uri.matches(other), "{registered_text} !~ {other}");
            }
        }
        let six = registered("http://[::1]/cb");
        assert!(six.matches("http://[::1]:49152/cb"));
        assert!(!six.matches("http://127.0.0.1:49152/cb"));
        assert!(!registered("https://app.example.com/cb").is_loopback());
    }

    #[test]
    fn the_target_is_the_presented_uri_with_its_own_port() {
        let uris = [
            registered("https://app.example.com/a"),
            registered("http://127.0.0.1:8400/b"),
        ];
        assert_eq!(
            redirect_target(&uris, "http://127.0.0.1:7000/b"),
            Some("http://127.0.0.1:7000/b")
        );
        assert_eq!(
            redirect_target(&uris, "https://app.example.com/a"),
            Some("https://app.example.com/a")
        );
        assert_eq!(redirect_target(&uris, "https://app.example.com/b"), None);
        let long = format!("http://127.0.0.1:7000/b?{}", "a".repeat(2000));
        assert_eq!(redirect_target(&uris, &long), None);
    }

    #[test]
    fn characters_that_break_out_of_a_page_are_refused() {
        for text in [
            "https://x\"onmouseover=alert(1)\"y.example/cb",
            "https://x'y.example/cb",
            "https://a_b.example/cb",
            "https://app.example/cb'onfocus='alert(1)",
            "https://app.example/cb?x=`1`",
            "https://app.example/cb(1)",
            "http://127.0.0.1/cb?q=)",
        ] {
            assert_eq!(
                RedirectUri::register(text),
                Err(RedirectUriError::Characters),
                "{text}"
            );
        }
        assert_eq!(
            registered("https://xn--bcher-kva.example/cb").as_str(),
            "https://xn--bcher-kva.example/cb"
        );
    }

    proptest! {
        /// Whatever is added around or inside a registered https URI, the result never matches
        /// it unless it is the same string.
        #[test]
        fn no_edit_of_an_https_uri_matches_it(
            prefix in "[a-zA-Z0-9:/@.?#%-]{0,8}",
            suffix in "[a-zA-Z0-9:/@.?#%-]{0,8}",
            cut in 0_usize..40,
        ) {
            let uri = registered("https://app.example.com/callback?state=1");
            let text = uri.as_str();
            let edited = format!("{prefix}{}{suffix}", &text[..text.len().saturating_sub(cut % 5)]);
            prop_assert_eq!(uri.matches(&edited), edited == text);
        }
    }
}
