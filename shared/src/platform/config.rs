//! Settings read once at cold start. Each function loads only the parts it needs, so the
//! authorizer never sees the database URI and only `token` ever sees the private key.

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
