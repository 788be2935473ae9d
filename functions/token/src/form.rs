//! The `application/x-www-form-urlencoded` body of a token request, as FastAPI's
//! `OAuth2PasswordRequestForm` sends it.

use crate::oauth::OAuthError;
use std::collections::HashMap;

/// A password-grant request, before credential checks.
#[derive(Debug)]
pub struct PasswordGrant {
    /// The `username` parameter.
    pub username: String,
    /// The `password` parameter.
    pub password: String,
}

/// Parses the form: each parameter at most once (RFC 6749 section 3.2), `grant_type`
/// optional but `password` when present, `username` and `password` required, `scope` ignored.
pub fn parse(body: &str) -> Result<PasswordGrant, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body)
        .map_err(|_| OAuthError::InvalidRequest("body is not valid form encoding".to_owned()))?;
    let mut params = HashMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if params.contains_key(&name) {
            return Err(OAuthError::InvalidRequest(format!(
                "parameter {name} is repeated"
            )));
        }
        params.insert(name, value);
    }
    match params.get("grant_type").map(String::as_str) {
        None | Some("password") => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
    }
    let mut required = |name: &str| {
        params
            .remove(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")))
    };
    Ok(PasswordGrant {
        username: required("username")?,
        password: required("password")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastapi_style_forms_are_accepted() {
        for body in [
            "username=alice&password=s3cret-pass",
            "grant_type=password&username=alice&password=s3cret-pass&scope=",
            "username=alice&password=s3cret%20pass&scope=me+products",
        ] {
            let grant = parse(body).unwrap();
            assert_eq!(grant.username, "alice", "{body}");
        }
        assert_eq!(
            parse("username=a&password=s3cret%20pass").unwrap().password,
            "s3cret pass"
        );
    }

    #[test]
    fn bad_forms_get_their_rfc6749_error() {
        let invalid = |text: &str| OAuthError::InvalidRequest(text.to_owned());
        let cases = [
            ("password=x", invalid("username is required")),
            ("username=alice", invalid("password is required")),
            ("username=&password=x", invalid("username is required")),
            (
                "username=a&username=b&password=x",
                invalid("parameter username is repeated"),
            ),
            (
                "grant_type=client_credentials&username=a&password=x",
                OAuthError::UnsupportedGrantType,
            ),
            (
                "grant_type=refresh_token&refresh_token=x",
                OAuthError::UnsupportedGrantType,
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body).unwrap_err(), expected, "{body}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_body_parses_or_is_refused_without_panicking(body in "\\PC{0,200}") {
            let _ = parse(&body);
        }

        #[test]
        fn any_credentials_round_trip_through_form_encoding(
            username in "\\PC{1,40}",
            password in "\\PC{1,40}",
        ) {
            let body = serde_urlencoded::to_string([
                ("grant_type", "password"),
                ("username", username.as_str()),
                ("password", password.as_str()),
            ])
            .unwrap();
            let grant = parse(&body).unwrap();
            proptest::prop_assert_eq!(grant.username, username);
            proptest::prop_assert_eq!(grant.password, password);
        }
    }
}
