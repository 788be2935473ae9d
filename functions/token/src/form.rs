//! The `application/x-www-form-urlencoded` bodies of `POST /token` (as FastAPI's
//! `OAuth2PasswordRequestForm` sends them, plus the refresh and second-factor grants) and
//! `POST /revoke`.

use crate::oauth::OAuthError;
use shared::factors::mfa::PresentedFactor;
use std::collections::HashMap;

/// The extension grant (RFC 6749 section 4.5) that completes a login answered with
/// `mfa_required`: `mfa_token` plus `otp` or `recovery_code`.
pub const MFA_GRANT_TYPE: &str = "urn:lambda-auth:params:oauth:grant-type:mfa";

/// The extension grant that signs in with a passkey alone: `credential`, the JSON of what
/// `navigator.credentials.get` answered to the options of `POST /passkeys/authentication-options`.
pub const PASSKEY_GRANT_TYPE: &str = "urn:lambda-auth:params:oauth:grant-type:passkey";

/// RFC 8693 token exchange: a native app's upstream id_token for this service's tokens.
pub const TOKEN_EXCHANGE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693's token type of an OpenID Connect id_token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// What completes a login answered with `mfa_required`.
#[derive(Debug, PartialEq, Eq)]
pub enum SecondFactorProof {
    /// An authenticator code or a recovery code.
    Code(PresentedFactor),
    /// A passkey assertion (`passkey`, JSON) answering second-factor options.
    Passkey(String),
}

/// A token request, before any credential check.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRequest {
    /// `grant_type=password` (or no `grant_type`, as FastAPI's form allows).
    Password {
        /// The `username` parameter.
        username: String,
        /// The `password` parameter.
        password: String,
    },
    /// `grant_type=authorization_code` (RFC 6749 section 4.1.3, with RFC 7636's verifier).
    AuthorizationCode {
        /// The `code` parameter.
        code: String,
        /// The `redirect_uri` parameter: the authorization request's, repeated.
        redirect_uri: String,
        /// The `code_verifier` parameter (refused when absent, as a wrong one is).
        code_verifier: Option<String>,
        /// The `client_id` parameter (a public client's only credential).
        client_id: Option<String>,
        /// The `client_secret` parameter, unless the secret comes in an HTTP Basic header.
        client_secret: Option<String>,
    },
    /// `grant_type=refresh_token`.
    Refresh {
        /// The `refresh_token` parameter.
        refresh_token: String,
        /// The `client_id` parameter: a relying party's session refreshes only for it.
        client_id: Option<String>,
        /// The `client_secret` parameter of a confidential relying party.
        client_secret: Option<String>,
    },
    /// `grant_type=client_credentials` (RFC 6749 section 4.4), with the client's credentials
    /// in the form (section 2.3.1) unless they come in an HTTP Basic header.
    ClientCredentials {
        /// The `client_id` parameter.
        client_id: Option<String>,
        /// The `client_secret` parameter.
        client_secret: Option<String>,
        /// The `scope` parameter: the scopes asked for (all the client's when absent).
        scope: Option<String>,
    },
    /// `grant_type` [`MFA_GRANT_TYPE`].
    SecondFactor {
        /// The `mfa_token` from the `mfa_required` answer.
        mfa_token: String,
        /// The `otp`, `recovery_code` or `passkey` parameter.
        factor: SecondFactorProof,
    },
    /// `grant_type` [`PASSKEY_GRANT_TYPE`].
    Passkey {
        /// The `credential` parameter: an `AuthenticationResponseJSON`.
        credential: String,
    },
    /// `grant_type` [`TOKEN_EXCHANGE_GRANT_TYPE`] (RFC 8693).
    TokenExchange {
        /// The `subject_token` parameter: the upstream id_token.
        subject_token: String,
        /// The `subject_token_type` parameter ([`ID_TOKEN_TYPE`]).
        subject_token_type: String,
        /// The `nonce` parameter: the value the app gave the platform's SDK (or whose
        /// SHA-256 it gave, as Sign in with Apple takes it).
        nonce: Option<String>,
        /// The `scope` parameter.
        scope: Option<String>,
        /// The `client_id` parameter (a public client's only credential).
        client_id: Option<String>,
        /// The `client_secret` parameter, unless the secret comes in an HTTP Basic header.
        client_secret: Option<String>,
    },
}

/// An RFC 7009 revocation request.
#[derive(Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The `token` parameter.
    pub token: String,
}

/// Parses a token request: each parameter at most once (RFC 6749 section 3.2), `scope`
/// ignored.
pub fn parse(body: &str) -> Result<TokenRequest, OAuthError> {
    let mut params = Params::parse(body)?;
    match params.optional("grant_type").as_deref() {
        None | Some("password") => Ok(TokenRequest::Password {
            username: params.required("username")?,
            password: params.required("password")?,
        }),
        Some("client_credentials") => Ok(TokenRequest::ClientCredentials {
            client_id: params.optional("client_id").filter(|id| !id.is_empty()),
            client_secret: params
                .optional("client_secret")
                .filter(|secret| !secret.is_empty()),
            scope: params.optional("scope"),
        }),
        Some("authorization_code") => Ok(TokenRequest::AuthorizationCode {
            code: params.required("code")?,
            redirect_uri: params.required("redirect_uri")?,
            code_verifier: params.optional("code_verifier"),
            client_id: params.optional("client_id").filter(|id| !id.is_empty()),
            client_secret: params
                .optional("client_secret")
                .filter(|secret| !secret.is_empty()),
        }),
        Some("refresh_token") => Ok(TokenRequest::Refresh {
            refresh_token: params.required("refresh_token")?,
            client_id: params.optional("client_id").filter(|id| !id.is_empty()),
            client_secret: params
                .optional("client_secret")
                .filter(|secret| !secret.is_empty()),
        }),
        Some(MFA_GRANT_TYPE) => {
            let mfa_token = params.required("mfa_token")?;
            let code = PresentedFactor::from_fields(
                params.optional("otp"),
                params.optional("recovery_code"),
            )
            .map_err(|message| OAuthError::InvalidRequest(message.to_owned()))?;
            let factor = match (code, params.optional("passkey")) {
                (Some(code), None) => SecondFactorProof::Code(code),
                (None, Some(passkey)) => SecondFactorProof::Passkey(passkey),
                (Some(_), Some(_)) => {
                    return Err(OAuthError::InvalidRequest(
                        "send one of otp, recovery_code and passkey".to_owned(),
                    ));
                }
                (None, None) => {
                    return Err(OAuthError::InvalidRequest(
                        "otp, recovery_code or passkey is required".to_owned(),
                    ));
                }
            };
            Ok(TokenRequest::SecondFactor { mfa_token, factor })
        }
        Some(PASSKEY_GRANT_TYPE) => Ok(TokenRequest::Passkey {
            credential: params.required("credential")?,
        }),
        Some(TOKEN_EXCHANGE_GRANT_TYPE) => Ok(TokenRequest::TokenExchange {
            subject_token: params.required("subject_token")?,
            subject_token_type: params.required("subject_token_type")?,
            nonce: params.optional("nonce").filter(|nonce| !nonce.is_empty()),
            scope: params.optional("scope").filter(|scope| !scope.is_empty()),
            client_id: params.optional("client_id").filter(|id| !id.is_empty()),
            client_secret: params
                .optional("client_secret")
                .filter(|secret| !secret.is_empty()),
        }),
        Some(_) => Err(OAuthError::UnsupportedGrantType),
    }
}

/// Parses a revocation request: `token` required, `token_type_hint` accepted and ignored
/// (RFC 7009 section 2.1 lets the server search every type it supports).
pub fn parse_revocation(body: &str) -> Result<Revocation, OAuthError> {
    let mut params = Params::parse(body)?;
    Ok(Revocation {
        token: params.required("token")?,
    })
}

struct Params(HashMap<String, String>);

impl Params {
    fn parse(body: &str) -> Result<Self, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).map_err(|_| {
            OAuthError::InvalidRequest("body is not valid form encoding".to_owned())
        })?;
        let mut params = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if params.contains_key(&name) {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {name} is repeated"
                )));
            }
            params.insert(name, value);
        }
        Ok(Self(params))
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    fn required(&mut self, name: &str) -> Result<String, OAuthError> {
        self.0
            .remove(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is required")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password_of(request: TokenRequest) -> (String, String) {
        match request {
            TokenRequest::Password { username, password } => (username, password),
            other => panic!("expected a password grant, got {other:?}"),
        }
    }

    #[test]
    fn fastapi_style_forms_are_accepted() {
        for body in [
            "username=alice&password=s3cret-pass",
            "grant_type=password&username=alice&password=s3cret-pass&scope=",
            "username=alice&password=s3cret%20pass&scope=me+products",
        ] {
            let (username, _) = password_of(parse(body).unwrap());
            assert_eq!(username, "alice", "{body}");
        }
        let (_, password) = password_of(parse("username=a&password=s3cret%20pass").unwrap());
        assert_eq!(password, "s3cret pass");
    }

    #[test]
    fn the_refresh_grant_takes_one_refresh_token() {
        assert_eq!(
            parse("grant_type=refresh_token&refresh_token=abc").unwrap(),
            TokenRequest::Refresh {
                refresh_token: "abc".to_owned(),
                client_id: None,
                client_secret: None,
            }
        );
    }

    #[test]
    fn the_code_grant_needs_a_code_and_the_redirect_uri() {
        assert_eq!(
            parse("grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier=v&client_id=rp").unwrap(),
            TokenRequest::AuthorizationCode {
                code: "c".to_owned(),
                redirect_uri: "https://a.example/cb".to_owned(),
                code_verifier: Some("v".to_owned()),
                client_id: Some("rp".to_owned()),
                client_secret: None,
            }
        );
        for missing in [
            "grant_type=authorization_code&redirect_uri=x",
            "grant_type=authorization_code&code=c",
        ] {
            assert!(
                matches!(parse(missing), Err(OAuthError::InvalidRequest(_))),
                "{missing}"
            );
        }
    }

    #[test]
    fn the_mfa_grant_takes_its_token_and_one_factor() {
        let grant = format!("grant_type={}", MFA_GRANT_TYPE.replace(':', "%3A"));
        assert_eq!(
            parse(&format!("{grant}&mfa_token=t&otp=123456")).unwrap(),
            TokenRequest::SecondFactor {
                mfa_token: "t".to_owned(),
                factor: SecondFactorProof::Code(PresentedFactor::Otp("123456".to_owned()))
            }
        );
        assert_eq!(
            parse(&format!("{grant}&mfa_token=t&recovery_code=ABCDE-FGHJK")).unwrap(),
            TokenRequest::SecondFactor {
                mfa_token: "t".to_owned(),
                factor: SecondFactorProof::Code(PresentedFactor::RecoveryCode(
                    "ABCDE-FGHJK".to_owned()
                ))
            }
        );
        let invalid = |text: &str| OAuthError::InvalidRequest(text.to_owned());
        for (rest, expected) in [
            ("&otp=1", invalid("mfa_token is required")),
            (
                "&mfa_token=t",
                invalid("otp, recovery_code or passkey is required"),
            ),
            (
                "&mfa_token=t&otp=1&recovery_code=2",
                invalid("give either otp or recovery_code, not both"),
            ),
            (
                "&mfa_token=t&otp=1&passkey=%7B%7D",
                invalid("send one of otp, recovery_code and passkey"),
            ),
        ] {
            assert_eq!(parse(&format!("{grant}{rest}")).unwrap_err(), expected);
        }
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
                "grant_type=implicit&code=a",
                OAuthError::UnsupportedGrantType,
            ),
            (
                "grant_type=refresh_token",
                invalid("refresh_token is required"),
            ),
            (
                "grant_type=refresh_token&refresh_token=a&refresh_token=b",
                invalid("parameter refresh_token is repeated"),
            ),
            (
                "grant_type=password&grant_type=refresh_token&refresh_token=a",
                invalid("parameter grant_type is repeated"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body).unwrap_err(), expected, "{body}");
        }
    }

    #[test]
    fn revocation_needs_exactly_one_token() {
        assert_eq!(
            parse_revocation("token=abc&token_type_hint=refresh_token").unwrap(),
            Revocation {
                token: "abc".to_owned()
            }
        );
        for body in [
            "",
            "token=",
            "token_type_hint=refresh_token",
            "token=a&token=b",
        ] {
            assert!(
                matches!(parse_revocation(body), Err(OAuthError::InvalidRequest(_))),
                "{body}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn any_body_parses_or_is_refused_without_panicking(body in "\\PC{0,200}") {
            let _ = parse(&body);
            let _ = parse_revocation(&body);
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
            let parsed = password_of(parse(&body).unwrap());
            proptest::prop_assert_eq!(parsed, (username, password));
        }
    }
}
