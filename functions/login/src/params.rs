//! The parameters of an authorization request or a page's form: each at most once (RFC 6749
//! §3.1), read from the query of a GET or the form body of a POST.

use lambda_http::{Request, RequestExt as _};
use shared::platform::http::{BodyError, body_text, has_content_type};
use std::collections::HashMap;

/// The longest value looked at; longer ones are refused.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Parameters by name.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

/// Why parameters could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A parameter appears twice (its name is logged, never shown).
    #[error("a parameter is repeated")]
    Repeated(String),
    /// A value is longer than [`MAX_VALUE_BYTES`].
    #[error("a parameter is too long")]
    TooLong(String),
    /// The body is not a form.
    #[error("the form could not be read")]
    NotAForm,
}

impl Params {
    /// The query parameters of `request`.
    pub fn of_query(request: &Request) -> Result<Self, ParamsError> {
        let pairs = request
            .query_string_parameters_ref()
            .map(|query| {
                query
                    .iter()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self::from_pairs(pairs)
    }

    /// The form body of `request` (`application/x-www-form-urlencoded`).
    pub fn of_form(request: &Request) -> Result<Self, ParamsError> {
        if !has_content_type(request, "application/x-www-form-urlencoded") {
            return Err(ParamsError::NotAForm);
        }
        let text = body_text(request).map_err(|_: BodyError| ParamsError::NotAForm)?;
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(text).map_err(|_| ParamsError::NotAForm)?;
        Self::from_pairs(pairs)
    }

    /// Parameters from name and value pairs (those a sign-in under way carried).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, ParamsError> {
        let mut params = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if value.len() > MAX_VALUE_BYTES {
                return Err(ParamsError::TooLong(name));
            }
            if params.contains_key(&name) {
                return Err(ParamsError::Repeated(name));
            }
            params.insert(name, value);
        }
        Ok(Self(params))
    }

    /// The value of `name`, unless absent or empty (RFC 6749 §3.1: an empty parameter is
    /// omitted).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }
}
