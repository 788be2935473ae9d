//! The claims every token carries and every verifier insists on, and the lifetimes of tokens
//! and sessions, read from configuration.

use crate::platform::config::{ConfigError, Source, parsed_or};
use std::time::Duration;

/// Claims every token carries and every verifier insists on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The `iss` claim and RFC 8414 issuer (`JWT_ISSUER`, an https URL); empty means the
    /// API's own URL, read from each request ([`crate::tokens::issuer`]).
    pub issuer: String,
    /// The `aud` claim (`JWT_AUDIENCE`, default `lambda-auth-api`).
    pub audience: String,
    /// Lifetime of an access token (`ACCESS_TOKEN_TTL_SECONDS`, default 900).
    pub access_token_ttl: Duration,
    /// Lifetime of each refresh token from its issue (`REFRESH_TOKEN_TTL_SECONDS`, default
    /// 30 days): a session unused for this long ends. Every rotation issues a new one.
    pub refresh_token_ttl: Duration,
    /// Absolute lifetime of a session from its password login (`SESSION_TTL_SECONDS`,
    /// default 30 days): no refresh token of it works after that, however often it rotated.
    pub session_ttl: Duration,
}

impl TokenSettings {
    /// The issuer for a request whose API URL is `api` ([`crate::tokens::issuer`]): the configured
    /// one, or else the API's; `None` when neither is known.
    pub fn issuer_for(&self, api: Option<String>) -> Option<String> {
        if self.issuer.is_empty() {
            api
        } else {
            Some(self.issuer.clone())
        }
    }

    /// Reads `JWT_ISSUER`, `JWT_AUDIENCE`, `ACCESS_TOKEN_TTL_SECONDS`,
    /// `REFRESH_TOKEN_TTL_SECONDS` and `SESSION_TTL_SECONDS`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let session_seconds: u64 = parsed_or(source, "SESSION_TTL_SECONDS", 30 * 24 * 3600)?;
        if !(300..=365 * 24 * 3600).contains(&session_seconds) {
            return Err(ConfigError::Invalid {
                var: "SESSION_TTL_SECONDS",
                reason: "must be between 300 seconds and 365 days".to_owned(),
            });
        }
        let refresh_seconds: u64 = parsed_or(source, "REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600)?;
        if !(300..=365 * 24 * 3600).contains(&refresh_seconds) {
            return Err(ConfigError::Invalid {
                var: "REFRESH_TOKEN_TTL_SECONDS",
                reason: "must be between 300 seconds and 365 days".to_owned(),
            });
        }
        let ttl_seconds: u64 = parsed_or(source, "ACCESS_TOKEN_TTL_SECONDS", 900)?;
        if !(5..=86_400).contains(&ttl_seconds) {
            return Err(ConfigError::Invalid {
                var: "ACCESS_TOKEN_TTL_SECONDS",
                reason: "must be between 5 and 86400 seconds".to_owned(),
            });
        }
        Ok(Self {
            issuer: match source.get("JWT_ISSUER") {
                None => String::new(),
                Some(configured) => {
                    crate::tokens::issuer::checked(&configured).map_err(|reason| {
                        ConfigError::Invalid {
                            var: "JWT_ISSUER",
                            reason: reason.to_owned(),
                        }
                    })?
                }
            },
            audience: source
                .get("JWT_AUDIENCE")
                .unwrap_or_else(|| "lambda-auth-api".to_owned()),
            access_token_ttl: Duration::from_secs(ttl_seconds),
            refresh_token_ttl: Duration::from_secs(refresh_seconds),
            session_ttl: Duration::from_secs(session_seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_settings_have_documented_defaults() {
        let settings = TokenSettings::from_source(&[]).unwrap();
        assert_eq!(settings.issuer, "", "the API's own URL");
        assert_eq!(settings.audience, "lambda-auth-api");
        assert_eq!(settings.access_token_ttl, Duration::from_secs(900));
        assert_eq!(settings.refresh_token_ttl, Duration::from_secs(2_592_000));
        assert_eq!(settings.session_ttl, Duration::from_secs(2_592_000));
    }

    #[test]
    fn unparsable_numbers_are_refused_with_the_variable_name() {
        let error =
            TokenSettings::from_source(&[("ACCESS_TOKEN_TTL_SECONDS", "soon")]).unwrap_err();
        assert!(
            error.to_string().contains("ACCESS_TOKEN_TTL_SECONDS"),
            "{error}"
        );
    }
}
