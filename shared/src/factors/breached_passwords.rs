//! Refusing passwords known from data breaches (NIST SP 800-63B 3.1.1.2: "SHALL compare the
//! prospective secret against a list that contains values known to be commonly used,
//! expected, or compromised") at sign-up, password change and reset, never at login.
//!
//! The check is a k-anonymity range query in the format of the Pwned Passwords range API:
//! only the first 5 hexadecimal digits of the password's SHA-1 leave the function, the answer
//! lists every known suffix under that prefix (`SUFFIX:COUNT` lines), and `Add-Padding: true`
//! asks for decoy lines (count 0) so the answer's size does not tell the prefix either. The
//! endpoint is a setting: the public API by default, a mirror, or `off`. When it cannot be
//! reached within its short timeout (a function in a VPC without egress), the check fails
//! open: the password is accepted, the failure is logged and counted
//! ([`SecurityEvent::BreachCheckUnavailable`]), and the bundled common-password list
//! ([`crate::identity::credentials`]) still applies.

use crate::identity::credentials::Password;
use crate::platform::config::{ConfigError, Source};
use crate::platform::metrics::{Metrics, SecurityEvent};
use sha1::{Digest as _, Sha1};
use std::time::Duration;

/// The public range API (Have I Been Pwned's Pwned Passwords), the default endpoint.
pub const PUBLIC_RANGE_API: &str = "https://api.pwnedpasswords.com/range/";

/// How long a check may take by default before it is given up (and the password accepted).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password appears in the list this many times.
    Breached(u64),
    /// The password is not in the list.
    NotFound,
    /// No check was made: turned off, or the endpoint failed (logged and counted).
    Unchecked,
}

/// The range client: where to ask, and how long to wait.
#[derive(Debug, Clone)]
pub struct BreachedPasswords {
    endpoint: Option<String>,
    client: reqwest::Client,
}

impl BreachedPasswords {
    /// A client of the range endpoint `endpoint` (the prefix is appended to it), or none.
    pub fn new(endpoint: Option<String>, timeout: Duration) -> Result<Self, ConfigError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("lambda-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ConfigError::Invalid {
                var: "BREACHED_PASSWORDS_RANGE_URL",
                reason: error.to_string(),
            })?;
        Ok(Self { endpoint, client })
    }

    /// No check at all (for tests of other things).
    pub fn off() -> Self {
        Self {
            endpoint: None,
            client: reqwest::Client::new(),
        }
    }

    /// Reads `BREACHED_PASSWORDS_RANGE_URL` (an `http(s)://` URL the 5-digit prefix is
    /// appended to; [`PUBLIC_RANGE_API`] when unset; `off` for no check) and
    /// `BREACHED_PASSWORDS_TIMEOUT_MS` (100–10000, default 1500).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let endpoint = match source.get("BREACHED_PASSWORDS_RANGE_URL") {
            None => Some(PUBLIC_RANGE_API.to_owned()),
            Some(value) if value.trim() == "off" => None,
            Some(value) => {
                let value = value.trim().to_owned();
                let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
                if !scheme_ok || value.contains(char::is_whitespace) {
                    return Err(ConfigError::Invalid {
                        var: "BREACHED_PASSWORDS_RANGE_URL",
                        reason: "must be an http(s):// URL the prefix is appended to, or off"
                            .to_owned(),
                    });
                }
                Some(value)
            }
        };
        let millis: u64 = crate::platform::config::parsed_or(
            source,
            "BREACHED_PASSWORDS_TIMEOUT_MS",
            u64::try_from(DEFAULT_TIMEOUT.as_millis()).unwrap_or(1500),
        )?;
        if !(100..=10_000).contains(&millis) {
            return Err(ConfigError::Invalid {
                var: "BREACHED_PASSWORDS_TIMEOUT_MS",
                reason: "must be between 100 and 10000".to_owned(),
            });
        }
        Self::new(endpoint, Duration::from_millis(millis))
    }

    /// Whether the check is on.
    pub fn is_on(&self) -> bool {
        self.endpoint.is_some()
    }

    /// Looks `password` up. Never an error: a failed lookup is [`Verdict::Unchecked`],
    /// logged and counted on `metrics`.
    pub async fn check(&self, password: &Password, metrics: &Metrics) -> Verdict {
        let Some(endpoint) = &self.endpoint else {
            return Verdict::Unchecked;
        };
        let digest = hex_upper(&Sha1::digest(password.expose_bytes()));
        let (prefix, suffix) = digest.split_at(5);
        match self.range(endpoint, prefix).await {
            Ok(body) => match count_of(&body, suffix) {
                Some(count) => Verdict::Breached(count),
                None => Verdict::NotFound,
            },
            Err(error) => {
                tracing::warn!(%error, "breached-password check unavailable: the password was accepted unchecked");
                metrics.record(SecurityEvent::BreachCheckUnavailable);
                Verdict::Unchecked
            }
        }
    }

    async fn range(&self, endpoint: &str, prefix: &str) -> Result<String, reqwest::Error> {
        self.client
            .get(format!("{endpoint}{prefix}"))
            .header("Add-Padding", "true")
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
    }
}

/// `422` naming `field` when `password` is in the breach list; otherwise (found nowhere,
/// check off or unavailable) nothing.
pub async fn refuse_if_breached(
    checker: &BreachedPasswords,
    password: &Password,
    metrics: &Metrics,
    field: &'static str,
) -> Result<(), crate::platform::http::ApiError> {
    match checker.check(password, metrics).await {
        Verdict::Breached(count) => {
            tracing::info!(count, "a new password from a known data breach was refused");
            Err(crate::platform::http::ApiError::InvalidField {
                field,
                message: format!(
                    "this password appears in {count} known data breaches, so attackers try it \
                     first; choose another"
                ),
            })
        }
        Verdict::NotFound | Verdict::Unchecked => Ok(()),
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

/// The count of `suffix` in a range answer (`SUFFIX:COUNT` lines); padding lines (count 0)
/// and malformed lines count as absent.
fn count_of(body: &str, suffix: &str) -> Option<u64> {
    body.lines().find_map(|line| {
        let (listed, count) = line.trim().split_once(':')?;
        let count: u64 = count.trim().parse().ok()?;
        (count > 0 && listed.eq_ignore_ascii_case(suffix)).then_some(count)
    })
}

/// The SHA-1 of `password` as the range API spells it (upper-case hexadecimal): for
/// fixtures and test servers.
pub fn sha1_hex(password: &str) -> String {
    hex_upper(&Sha1::digest(password.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_answer_is_read_by_suffix_and_padding_counts_as_absent() {
        let digest = sha1_hex("password");
        assert_eq!(digest, "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8");
        let (_, suffix) = digest.split_at(5);
        let body = format!(
            "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{}:9545824\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n",
            suffix.to_lowercase()
        );
        assert_eq!(count_of(&body, suffix), Some(9_545_824));
        assert_eq!(count_of(&body, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC"), None);
        assert_eq!(count_of("garbage\nmore:garbage", suffix), None);
    }

    #[test]
    fn the_endpoint_is_the_public_api_by_default_a_url_or_off() {
        assert!(BreachedPasswords::from_source(&[]).unwrap().is_on());
        let off = BreachedPasswords::from_source(&[("BREACHED_PASSWORDS_RANGE_URL", "off")]);
        assert!(!off.unwrap().is_on());
        let mirror = BreachedPasswords::from_source(&[(
            "BREACHED_PASSWORDS_RANGE_URL",
            "http://127.0.0.1:9000/range/",
        )]);
        assert!(mirror.unwrap().is_on());
        for bad in [
            ("BREACHED_PASSWORDS_RANGE_URL", "ftp://example.com/"),
            ("BREACHED_PASSWORDS_TIMEOUT_MS", "5"),
        ] {
            assert!(BreachedPasswords::from_source(&[bad]).is_err(), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_fails_open_and_is_counted() {
        let checker = BreachedPasswords::new(
            Some("http://127.0.0.1:9/range/".to_owned()),
            Duration::from_millis(200),
        )
        .unwrap();
        let metrics = Metrics::capturing();
        let password = Password::parse("a perfectly fine passphrase").unwrap();
        assert_eq!(checker.check(&password, &metrics).await, Verdict::Unchecked);
        let lines = metrics.lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains("\"event\":\"BreachCheckUnavailable\""),
            "{lines:?}"
        );
    }
}
