//! Talking to the upstream providers: their discovery documents and keys (fetched once per
//! execution environment and kept for an hour; keys again when a token names an unknown
//! one), the authorization URL a browser is sent to, the code exchange with PKCE, and
//! GitHub's user API.

use crate::federation::id_tokens::{self, ExpectedIssuer, IdTokenError};
use crate::federation::providers::{Preset, Provider, Providers};
use crate::platform::config::{ConfigError, Source};
use jsonwebtoken::jwk::JwkSet;
use secrecy::ExposeSecret as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a discovery document or key set is kept.
const CACHE_LIFETIME: Duration = Duration::from_secs(3600);
/// The shortest time between two fetches of a key set for an unknown key id.
const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
/// How long one call to a provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A provider's endpoints, discovered or configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The issuer it names itself by (for Microsoft's shared endpoints, with `{tenantid}`).
    pub issuer: String,
    /// Where the browser signs in.
    pub authorization: String,
    /// Where codes are exchanged.
    pub token: String,
    /// The published keys (none for plain OAuth 2).
    pub jwks: Option<String>,
    /// Whether the token endpoint takes only HTTP Basic client authentication.
    pub basic_auth_only: bool,
    /// Whether the provider names itself in its answers (`iss`, RFC 9207): then an answer
    /// without it is refused.
    pub names_itself: bool,
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// The `max_age` sent to a provider when the request asked for none: thirty days.
pub const UPSTREAM_MAX_AGE_SECONDS: u64 = 30 * 86_400;

/// How fresh the sign-in at the provider must be: what the authorization request here asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Freshness {
    /// The request's `max_age`.
    pub max_age: Option<u64>,
    /// The request's `prompt=login`.
    pub login: bool,
}

/// What an upstream sign-in proved about the user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Asserted {
    /// The provider's id in this configuration.
    pub provider: String,
    /// The issuer the identity is keyed by (for Microsoft, the tenant's).
    pub issuer: String,
    /// The subject at that issuer.
    pub subject: String,
    /// The address, as asserted.
    pub email: Option<String>,
    /// Whether the address counts as verified: the provider said so and is trusted for it.
    pub email_verified: bool,
    /// The name, when given.
    pub name: Option<String>,
    /// The username the provider suggests.
    pub preferred_username: Option<String>,
    /// The id_token's nonce (none for plain OAuth 2).
    pub nonce: Option<String>,
    /// When the user signed in at the provider (`auth_time`, seconds since the epoch), when
    /// it says (plain OAuth 2 providers and some others do not).
    #[serde(default)]
    pub authenticated_at: Option<u64>,
    /// When the assertion expires (seconds since the epoch; none for plain OAuth 2).
    pub expires_at: Option<u64>,
}

/// Why an upstream sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The provider could not be reached or answered with a server error.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code, or what it sent is not valid.
    #[error("the provider's answer was refused: {0}")]
    Refused(String),
    /// The id_token was refused.
    #[error(transparent)]
    IdToken(#[from] IdTokenError),
}

fn unavailable(error: impl std::fmt::Display) -> UpstreamError {
    UpstreamError::Unavailable(error.to_string())
}

/// The configured providers and what is known of them.
#[derive(Debug)]
pub struct Upstreams {
    providers: Providers,
    http: reqwest::Client,
    endpoints: Mutex<HashMap<String, (Arc<Endpoints>, Instant)>>,
    keys: Mutex<HashMap<String, (Arc<JwkSet>, Instant)>>,
}

impl Upstreams {
    /// The providers of `FEDERATION_PROVIDERS` and `FEDERATION_SECRETS`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Self::new(Providers::from_source(source)?).map_err(|reason| ConfigError::Invalid {
            var: crate::federation::providers::PROVIDERS_VAR,
            reason,
        })
    }

    /// The providers of `FEDERATION_PROVIDERS`, to check their id_tokens only (no secrets).
    pub fn for_id_tokens(source: &impl Source) -> Result<Self, ConfigError> {
        Self::new(Providers::for_id_tokens(source)?).map_err(|reason| ConfigError::Invalid {
            var: crate::federation::providers::PROVIDERS_VAR,
            reason,
        })
    }

    /// The OpenID provider whose id_tokens name `issuer` (for Microsoft's shared endpoints,
    /// any tenant's issuer); GitHub issues none.
    pub fn provider_for_issuer(&self, issuer: &str) -> Option<&Provider> {
        self.providers
            .all()
            .iter()
            .find(|provider| match provider.preset {
                Preset::Github => false,
                Preset::Microsoft => microsoft_issuer(issuer),
                _ => provider.issuer == issuer.trim_end_matches('/'),
            })
    }

    /// A client of `providers`.
    pub fn new(providers: Providers) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .connect_timeout(CALL_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("lambda-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| error.to_string())?;
        Ok(Self {
            providers,
            http,
            endpoints: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        })
    }

    /// The configured providers.
    pub fn providers(&self) -> &Providers {
        &self.providers
    }

    /// The provider's endpoints: configured for plain OAuth 2, otherwise its discovery
    /// document, whose `issuer` must be the configured one (a provider cannot speak for
    /// another).
    pub async fn endpoints(&self, provider: &Provider) -> Result<Arc<Endpoints>, UpstreamError> {
        if let Some(plain) = &provider.endpoints {
            return Ok(Arc::new(Endpoints {
                issuer: provider.issuer.clone(),
                authorization: plain.authorization.clone(),
                token: plain.token.clone(),
                jwks: None,
                basic_auth_only: false,
                names_itself: false,
            }));
        }
        let mut cache = self.endpoints.lock().await;
        if let Some((endpoints, fetched)) = cache.get(&provider.id)
            && fetched.elapsed() < CACHE_LIFETIME
        {
            return Ok(Arc::clone(endpoints));
        }
        let url = format!("{}/.well-known/openid-configuration", provider.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        let issuer_ok = match provider.preset {
            // A tenant's name, `consumers` or `common` discovers the tenant's id (or the
            // `{tenantid}` template): any issuer of Microsoft's own form.
            Preset::Microsoft => microsoft_issuer(&discovery.issuer),
            _ => discovery.issuer.trim_end_matches('/') == provider.issuer,
        };
        if !issuer_ok {
            return Err(UpstreamError::Refused(format!(
                "the discovery document at {url} names another issuer"
            )));
        }
        for endpoint in [
            &discovery.authorization_endpoint,
            &discovery.token_endpoint,
            &discovery.jwks_uri,
        ] {
            if !self.providers.accepts(endpoint) {
                return Err(UpstreamError::Refused(format!("{endpoint} is not https")));
            }
        }
        let basic_auth_only = discovery
            .token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|methods| {
                methods.iter().any(|method| method == "client_secret_basic")
                    && !methods.iter().any(|method| method == "client_secret_post")
            });
        let endpoints = Arc::new(Endpoints {
            issuer: discovery.issuer,
            authorization: discovery.authorization_endpoint,
            token: discovery.token_endpoint,
            jwks: Some(discovery.jwks_uri),
            basic_auth_only,
            names_itself: discovery.authorization_response_iss_parameter_supported,
        });
        cache.insert(
            provider.id.clone(),
            (Arc::clone(&endpoints), Instant::now()),
        );
        Ok(endpoints)
    }

    /// Where to send the browser: the provider's authorization endpoint with this sign-in's
    /// `state`, `nonce` and PKCE challenge (S256), the request's `max_age` and
    /// `prompt=login`, and `form_post` for Apple.
    pub async fn authorization_url(
        &self,
        provider: &Provider,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        code_challenge: &str,
        freshness: Freshness,
    ) -> Result<String, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        let mut url = url::Url::parse(&endpoints.authorization)
            .map_err(|error| UpstreamError::Refused(error.to_string()))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &provider.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &provider.scopes.join(" "))
                .append_pair("state", state)
                .append_pair("code_challenge", code_challenge)
                .append_pair("code_challenge_method", "S256");
            if provider.preset != Preset::Github {
                query.append_pair("nonce", nonce);
                // `max_age` makes the provider state `auth_time` (OpenID Connect Core
                // §3.1.2.1), so a silent answer from an old session there counts as old here.
                let max_age = freshness.max_age.unwrap_or(UPSTREAM_MAX_AGE_SECONDS);
                query.append_pair("max_age", &max_age.to_string());
                if freshness.login {
                    query.append_pair("prompt", "login");
                }
            }
            if provider.preset == Preset::Apple {
                query.append_pair("response_mode", "form_post");
            }
        }
        Ok(url.to_string())
    }

    /// Exchanges `code` (with the PKCE `code_verifier`) and returns what the provider
    /// asserts: from the id_token (whose nonce must be `nonce`), or for GitHub from its API.
    /// `apple_user` is the `user` field Apple posts at the first sign-in (the name).
    pub async fn complete(
        &self,
        provider: &Provider,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        nonce: &str,
        apple_user: Option<&str>,
    ) -> Result<Asserted, UpstreamError> {
        let endpoints = self.endpoints(provider).await?;
        let tokens = self
            .exchange(provider, &endpoints, code, code_verifier, redirect_uri)
            .await?;
        if provider.preset == Preset::Github {
            let access_token = tokens.access_token.ok_or_else(|| {
                UpstreamError::Refused("the token response has no access_token".to_owned())
            })?;
            return self.github_user(provider, &access_token).await;
        }
        let id_token = tokens.id_token.ok_or_else(|| {
            UpstreamError::Refused("the token response has no id_token".to_owned())
        })?;
        let mut asserted = self
            .verify_id_token(provider, &id_token, Some(nonce))
            .await?;
        if asserted.name.is_none()
            && let Some(user) = apple_user
        {
            asserted.name = apple_name(user);
        }
        Ok(asserted)
    }

    /// Checks an id_token of `provider` (signature, issuer, audience, lifetime; the nonce when
    /// given) and returns what it asserts.
    pub async fn verify_id_token(
        &self,
        provider: &Provider,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<Asserted, UpstreamError> {
        if provider.preset == Preset::Github {
            return Err(UpstreamError::Refused(
                "GitHub issues no id_tokens".to_owned(),
            ));
        }
        let endpoints = self.endpoints(provider).await?;
        let kid = id_tokens::key_id(id_token)?;
        let keys = self.keys(&endpoints, kid.as_deref()).await?;
        let expected = if endpoints.issuer.contains("{tenantid}") {
            ExpectedIssuer::PerTenant(&endpoints.issuer)
        } else {
            ExpectedIssuer::Exactly(&endpoints.issuer)
        };
        let claims = id_tokens::verify(id_token, &keys, expected, &provider.audiences(), nonce)?;
        let verified = match provider.preset {
            Preset::Microsoft => claims.domain_verified,
            _ => claims.email_verified,
        };
        Ok(Asserted {
            provider: provider.id.clone(),
            issuer: claims.issuer,
            subject: claims.subject,
            email_verified: verified && provider.trust_email && claims.email.is_some(),
            email: claims.email,
            name: claims.name,
            preferred_username: claims.preferred_username,
            nonce: claims.nonce,
            authenticated_at: claims.auth_time,
            expires_at: Some(claims.expires_at),
        })
    }

    async fn keys(
        &self,
        endpoints: &Endpoints,
        kid: Option<&str>,
    ) -> Result<Arc<JwkSet>, UpstreamError> {
        let uri = endpoints
            .jwks
            .as_deref()
            .ok_or_else(|| UpstreamError::Refused("the provider publishes no keys".to_owned()))?;
        let mut cache = self.keys.lock().await;
        if let Some((keys, fetched)) = cache.get(uri) {
            let knows = kid.is_none_or(|kid| keys.find(kid).is_some());
            let fresh = fetched.elapsed() < CACHE_LIFETIME;
            if (knows && fresh) || fetched.elapsed() < REFETCH_INTERVAL {
                return Ok(Arc::clone(keys));
            }
        }
        let keys: JwkSet = self.get_json(uri).await?;
        let keys = Arc::new(keys);
        cache.insert(uri.to_owned(), (Arc::clone(&keys), Instant::now()));
        Ok(keys)
    }

    async fn exchange(
        &self,
        provider: &Provider,
        endpoints: &Endpoints,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, UpstreamError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
            ("code_verifier", code_verifier.to_owned()),
        ];
        let secret = match provider.preset {
            Preset::Apple => Some(apple_client_secret(provider)?),
            _ => provider
                .client_secret
                .as_ref()
                .map(|secret| secret.expose_secret().to_owned()),
        };
        let mut request = self
            .http
            .post(&endpoints.token)
            .header(reqwest::header::ACCEPT, "application/json");
        match (secret, endpoints.basic_auth_only) {
            (Some(secret), true) => {
                request = request
                    .basic_auth(form_encode(&provider.client_id), Some(form_encode(&secret)));
            }
            (Some(secret), false) => {
                form.push(("client_id", provider.client_id.clone()));
                form.push(("client_secret", secret));
            }
            (None, _) => form.push(("client_id", provider.client_id.clone())),
        }
        let response = request.form(&form).send().await.map_err(unavailable)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!(
                "token endpoint answered {status}"
            )));
        }
        let text = response.text().await.map_err(unavailable)?;
        let body: TokenResponse = serde_json::from_str(&text)
            .map_err(|error| UpstreamError::Refused(format!("token response: {error}")))?;
        if let Some(error) = &body.error {
            return Err(UpstreamError::Refused(format!("token endpoint: {error}")));
        }
        if !status.is_success() {
            return Err(UpstreamError::Refused(format!(
                "token endpoint answered {status}"
            )));
        }
        Ok(body)
    }

    async fn github_user(
        &self,
        provider: &Provider,
        access_token: &str,
    ) -> Result<Asserted, UpstreamError> {
        #[derive(Deserialize)]
        struct User {
            id: u64,
            login: String,
            #[serde(default)]
            name: Option<String>,
        }
        #[derive(Deserialize)]
        struct Email {
            email: String,
            #[serde(default)]
            primary: bool,
            #[serde(default)]
            verified: bool,
        }
        let api = provider
            .endpoints
            .as_ref()
            .map(|endpoints| endpoints.api.trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let user: User = self
            .get_json_with(&format!("{api}/user"), access_token)
            .await?;
        let emails: Vec<Email> = self
            .get_json_with(&format!("{api}/user/emails"), access_token)
            .await?;
        let verified = emails
            .iter()
            .filter(|email| email.verified)
            .max_by_key(|email| email.primary);
        let (email, email_verified) = match verified {
            Some(email) => (Some(email.email.clone()), provider.trust_email),
            None => (None, false),
        };
        Ok(Asserted {
            provider: provider.id.clone(),
            issuer: provider.issuer.clone(),
            subject: user.id.to_string(),
            email,
            email_verified,
            name: user.name.filter(|name| !name.trim().is_empty()),
            preferred_username: Some(user.login),
            nonce: None,
            authenticated_at: None,
            expires_at: None,
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, UpstreamError> {
        let response = self.http.get(url).send().await.map_err(unavailable)?;
        Self::json_of(url, response).await
    }

    async fn get_json_with<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<T, UpstreamError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .send()
            .await
            .map_err(unavailable)?;
        Self::json_of(url, response).await
    }

    async fn json_of<T: serde::de::DeserializeOwned>(
        url: &str,
        response: reqwest::Response,
    ) -> Result<T, UpstreamError> {
        let status = response.status();
        if status.is_server_error() {
            return Err(UpstreamError::Unavailable(format!(
                "{url} answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(UpstreamError::Refused(format!("{url} answered {status}")));
        }
        let text = response.text().await.map_err(unavailable)?;
        serde_json::from_str(&text)
            .map_err(|error| UpstreamError::Refused(format!("{url}: {error}")))
    }
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Whether `issuer` is of Microsoft Entra ID's form: `https://login.microsoftonline.com/`,
/// one tenant segment (an id, or `{tenantid}`), `/v2.0`.
fn microsoft_issuer(issuer: &str) -> bool {
    issuer
        .strip_prefix("https://login.microsoftonline.com/")
        .and_then(|rest| rest.strip_suffix("/v2.0"))
        .is_some_and(|tenant| {
            tenant == "{tenantid}"
                || (!tenant.is_empty()
                    && tenant
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

/// RFC 6749 §2.3.1: the client id and secret are form-encoded before HTTP Basic.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Apple's client secret: a JWT (ES256, the key's id as `kid`) from the team to Apple about
/// this client, valid for five minutes.
fn apple_client_secret(provider: &Provider) -> Result<String, UpstreamError> {
    let (Some(apple), Some(key)) = (&provider.apple, &provider.client_secret) else {
        return Err(UpstreamError::Refused(
            "Apple needs the team's key".to_owned(),
        ));
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default();
    let claims = serde_json::json!({
        "iss": apple.team_id,
        "iat": now,
        "exp": now + 300,
        "aud": "https://appleid.apple.com",
        "sub": provider.client_id,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(apple.key_id.clone());
    let key = jsonwebtoken::EncodingKey::from_ec_pem(key.expose_secret().as_bytes())
        .map_err(|_| UpstreamError::Refused("the Apple key is not a PKCS #8 EC key".to_owned()))?;
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|error| UpstreamError::Refused(error.to_string()))
}

/// The name in the `user` JSON Apple posts at the first sign-in.
fn apple_name(user: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct AppleUser {
        #[serde(default)]
        name: Option<AppleName>,
    }
    #[derive(Deserialize)]
    struct AppleName {
        #[serde(default, rename = "firstName")]
        first: Option<String>,
        #[serde(default, rename = "lastName")]
        last: Option<String>,
    }
    let parsed: AppleUser = serde_json::from_str(user).ok()?;
    let name = parsed.name?;
    let full = [name.first, name.last]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_posts_the_name_only_once_and_it_is_read() {
        assert_eq!(
            apple_name(
                r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"a@privaterelay.appleid.com"}"#
            ),
            Some("Ada Lovelace".to_owned())
        );
        assert_eq!(apple_name(r#"{"email":"a@example.com"}"#), None);
        assert_eq!(apple_name("not json"), None);
    }

    #[test]
    fn microsoft_issuers_are_its_own_form_only() {
        assert!(microsoft_issuer(
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        ));
        assert!(microsoft_issuer(
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        ));
        assert!(!microsoft_issuer(
            "https://login.microsoftonline.com.evil.example/t/v2.0"
        ));
        assert!(!microsoft_issuer(
            "https://login.microsoftonline.com/a/b/v2.0"
        ));
        assert!(!microsoft_issuer("https://evil.example/v2.0"));
    }

    #[test]
    fn apples_client_secret_is_an_es256_jwt_from_the_team_to_apple_about_the_client() {
        use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
        let key = loop {
            let mut bytes = [0_u8; 32];
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(key) = p256::SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let private_pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let public_pem = key.public_key().to_public_key_pem(LineEnding::LF).unwrap();
        let provider = Provider {
            id: "apple".to_owned(),
            name: "Apple".to_owned(),
            preset: Preset::Apple,
            issuer: "https://appleid.apple.com".to_owned(),
            client_id: "com.example.web".to_owned(),
            client_secret: Some(secrecy::SecretString::from(private_pem.as_str())),
            scopes: vec!["openid".to_owned()],
            trust_email: true,
            apple: Some(crate::federation::providers::AppleKey {
                team_id: "TEAM123456".to_owned(),
                key_id: "KEY1234567".to_owned(),
            }),
            endpoints: None,
            native_client_ids: Vec::new(),
        };
        let secret = apple_client_secret(&provider).unwrap();
        let header = jsonwebtoken::decode_header(&secret).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["https://appleid.apple.com"]);
        validation.set_issuer(&["TEAM123456"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &secret,
            &jsonwebtoken::DecodingKey::from_ec_pem(public_pem.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["sub"], "com.example.web");
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert_eq!(lifetime, 300);
    }

    #[test]
    fn basic_credentials_are_form_encoded_first() {
        assert_eq!(form_encode("a b:c"), "a+b%3Ac");
    }
}
