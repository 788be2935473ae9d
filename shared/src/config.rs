//! Settings read once at cold start. Each function loads only the parts it needs, so the
//! authorizer never sees the database URI and only `token` ever sees the private key.

use crate::hashing::HashingParams;
use std::time::Duration;

/// A missing or unusable environment variable, named so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is not set (or is empty).
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    /// The secret named by `<var>_SECRET_ARN` could not be read.
    #[error("cannot read secret {secret} for {var}: {reason}")]
    Secret {
        /// The variable the secret provides.
        var: &'static str,
        /// The secret's ARN.
        secret: String,
        /// Why (from the Secrets Manager client; never the value).
        reason: String,
    },
    /// A variable is set to something that cannot be used.
    #[error("environment variable {var} is invalid: {reason}")]
    Invalid {
        /// The variable's name.
        var: &'static str,
        /// What is wrong with it (never its value).
        reason: String,
    },
}

/// Where configuration values come from: the process environment, or a map in tests.
pub trait Source {
    /// The value of `name`, if set and non-empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    }
}

impl<const N: usize> Source for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

pub(crate) fn required(source: &impl Source, var: &'static str) -> Result<String, ConfigError> {
    source.get(var).ok_or(ConfigError::Missing(var))
}

/// The switch `var`: `true` or `false`, `default` when unset; anything else is an error.
pub fn flag(source: &impl Source, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match source.get(var).as_deref().map(str::trim) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            var,
            reason: "must be true or false".to_owned(),
        }),
    }
}

/// The value of `var` parsed as `T`, `default` when unset; a value that does not parse is an
/// error naming the variable.
pub fn parsed_or<T: std::str::FromStr>(
    source: &impl Source,
    var: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match source.get(var) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|error: T::Err| ConfigError::Invalid {
                var,
                reason: error.to_string(),
            }),
    }
}

/// Where the user and product collections live.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A MongoDB connection string (`MONGODB_URI`); a real MongoDB, Atlas or a compatible server.
    pub uri: String,
    /// The database name (`DB_NAME`, default `lambda_auth`).
    pub name: String,
}

impl DatabaseSettings {
    /// Reads `MONGODB_URI` (required) and `DB_NAME`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Ok(Self {
            uri: required(source, "MONGODB_URI")?,
            name: source
                .get("DB_NAME")
                .unwrap_or_else(|| "lambda_auth".to_owned()),
        })
    }
}

/// Claims every token carries and every verifier insists on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The `iss` claim and RFC 8414 issuer (`JWT_ISSUER`, an https URL); empty means the
    /// API's own URL, read from each request ([`crate::issuer`]).
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
    /// The issuer for a request whose API URL is `api` ([`crate::issuer`]): the configured
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
                    crate::issuer::checked(&configured).map_err(|reason| ConfigError::Invalid {
                        var: "JWT_ISSUER",
                        reason: reason.to_owned(),
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

impl HashingParams {
    /// Reads `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS` and `ARGON2_PARALLELISM`; the defaults
    /// are OWASP's argon2id recommendation (19 MiB, 2 iterations, 1 lane).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let params = Self {
            memory_kib: parsed_or(source, "ARGON2_MEMORY_KIB", defaults.memory_kib)?,
            iterations: parsed_or(source, "ARGON2_ITERATIONS", defaults.iterations)?,
            parallelism: parsed_or(source, "ARGON2_PARALLELISM", defaults.parallelism)?,
        };
        params.validate().map_err(|reason| ConfigError::Invalid {
            var: "ARGON2_MEMORY_KIB/ARGON2_ITERATIONS/ARGON2_PARALLELISM",
            reason,
        })?;
        Ok(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_database_uri_is_named() {
        let error = DatabaseSettings::from_source(&[("DB_NAME", "x")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable MONGODB_URI is required but not set"
        );
    }

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
        let error = HashingParams::from_source(&[("ARGON2_MEMORY_KIB", "1")]).unwrap_err();
        assert!(error.to_string().contains("ARGON2_MEMORY_KIB"), "{error}");
    }
}
