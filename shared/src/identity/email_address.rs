//! Email addresses as this service stores and compares them: NFC, the domain in its
//! canonical form (IDNA: lower case, Unicode for display, ASCII for sending), and one
//! comparison key for the whole address without regard to case, so `Alice@Example.COM` and
//! `alice@example.com` are one address for uniqueness. Quoted local parts, comments and IP
//! literals are refused: they are legal but no mailbox a user types needs them.

use unicode_normalization::UnicodeNormalization as _;

/// The longest address (RFC 5321 section 4.5.3.1.3, a path's 256 octets less the brackets).
pub const MAX_LENGTH: usize = 254;
/// The longest local part (RFC 5321 section 4.5.3.1.1).
pub const MAX_LOCAL_LENGTH: usize = 64;

/// A valid address in its stored form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    display: String,
    ascii: String,
    key: String,
}

/// Why text is not an address this service accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Empty after trimming.
    #[error("email address is required")]
    Empty,
    /// Longer than [`MAX_LENGTH`], or its local part than [`MAX_LOCAL_LENGTH`].
    #[error("email address is too long")]
    TooLong,
    /// No `@`, or more than one, or nothing on either side.
    #[error("email address must be one local part, @, and a domain")]
    Shape,
    /// Whitespace, control characters, quotes or other characters no plain mailbox has.
    #[error("email address has characters a mailbox name cannot have")]
    Characters,
    /// The domain is not a valid (internationalised) host name with a dot.
    #[error("email address has no valid domain")]
    Domain,
}

impl EmailAddress {
    /// Checks and normalises what a user typed.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let text: String = raw.trim().nfc().collect();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        if text.chars().count() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = text.split_once('@').ok_or(EmailError::Shape)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(EmailError::Shape);
        }
        if local.chars().count() > MAX_LOCAL_LENGTH {
            return Err(EmailError::TooLong);
        }
        let plain_local = local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"\"(),:;<>[\\]".contains(c));
        if !plain_local || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(EmailError::Characters);
        }
        let ascii_domain = idna::domain_to_ascii_strict(domain).map_err(|_| EmailError::Domain)?;
        let labels_ok = ascii_domain.contains('.')
            && ascii_domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(EmailError::Domain);
        }
        let (unicode_domain, unicode_errors) = idna::domain_to_unicode(&ascii_domain);
        if unicode_errors.is_err() {
            return Err(EmailError::Domain);
        }
        Ok(Self {
            display: format!("{local}@{unicode_domain}"),
            ascii: format!("{local}@{ascii_domain}"),
            key: format!("{}@{ascii_domain}", local.to_lowercase()),
        })
    }

    /// The address as stored and shown: NFC, the domain in Unicode, lower case.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The address to send to: the domain in ASCII (punycode).
    pub fn for_sending(&self) -> &str {
        &self.ascii
    }

    /// The key two addresses are the same by: the whole address without regard to case.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_differing_only_in_case_share_a_key_and_keep_their_local_part() {
        let typed = EmailAddress::parse("  Alice.Smith+news@Example.COM ").unwrap();
        assert_eq!(typed.as_str(), "Alice.Smith+news@example.com");
        assert_eq!(typed.key(), "alice.smith+news@example.com");
        assert_eq!(
            EmailAddress::parse("alice.smith+NEWS@example.com")
                .unwrap()
                .key(),
            typed.key()
        );
    }

    #[test]
    fn international_domains_are_shown_in_unicode_and_sent_in_ascii() {
        let address = EmailAddress::parse("josé@Bücher.Example").unwrap();
        assert_eq!(address.as_str(), "josé@bücher.example");
        assert_eq!(address.for_sending(), "josé@xn--bcher-kva.example");
        let composed = EmailAddress::parse("jose\u{301}@bücher.example").unwrap();
        assert_eq!(composed.key(), address.key(), "NFC before comparing");
    }

    #[test]
    fn what_no_mailbox_looks_like_is_refused_with_its_reason() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long = format!("a@{}.com", "b".repeat(250));
        for (raw, expected) in [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("alice", EmailError::Shape),
            ("@example.com", EmailError::Shape),
            ("alice@", EmailError::Shape),
            ("a@b@example.com", EmailError::Shape),
            ("al ice@example.com", EmailError::Characters),
            ("\"alice\"@example.com", EmailError::Characters),
            ("alice.@example.com", EmailError::Characters),
            ("al..ice@example.com", EmailError::Characters),
            ("alice@localhost", EmailError::Domain),
            ("alice@-example.com", EmailError::Domain),
            ("alice@exa_mple.com", EmailError::Domain),
            ("alice@[127.0.0.1]", EmailError::Domain),
            (long_local.as_str(), EmailError::TooLong),
            (long.as_str(), EmailError::TooLong),
        ] {
            assert_eq!(EmailAddress::parse(raw), Err(expected), "{raw:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_is_refused_and_a_parse_is_stable(raw in "\\PC{0,80}") {
            if let Ok(address) = EmailAddress::parse(&raw) {
                let again = EmailAddress::parse(address.as_str()).unwrap();
                proptest::prop_assert_eq!(again.key(), address.key());
                proptest::prop_assert_eq!(again.as_str(), address.as_str());
            }
        }
    }
}
