//! The upstream providers an operator configures: `FEDERATION_PROVIDERS` lists them (JSON,
//! no secrets), `FEDERATION_SECRETS` holds each one's client secret (JSON object by provider
//! id; from Secrets Manager through `FEDERATION_SECRETS_SECRET_ARN` when deployed).
//!
//! ```json
//! [
//!   {"id": "google", "preset": "google", "client_id": "123.apps.googleusercontent.com"},
//!   {"id": "microsoft", "preset": "microsoft", "client_id": "…", "tenant": "common"},
//!   {"id": "apple", "preset": "apple", "client_id": "com.example.web", "team_id": "…", "key_id": "…"},
//!   {"id": "github", "preset": "github", "client_id": "Iv1.…"},
//!   {"id": "corp", "issuer": "https://sso.corp.example", "client_id": "…", "name": "Corp", "trust_email": true}
//! ]
//! ```

use crate::platform::config::{ConfigError, Source};
use secrecy::SecretString;
use serde::Deserialize;
use std::collections::HashMap;

/// The variable listing the providers.
pub const PROVIDERS_VAR: &str = "FEDERATION_PROVIDERS";
/// The variable holding the providers' secrets.
pub const SECRETS_VAR: &str = "FEDERATION_SECRETS";
/// `true` lets providers be reached over plain http on a loopback address: set by the local
/// stack for its local provider, never by the template.
pub const LOOPBACK_HTTP_VAR: &str = "FEDERATION_LOOPBACK_HTTP";

/// Which provider's quirks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Any OpenID Connect provider, found by its issuer's discovery document.
    Oidc,
    /// Google: `https://accounts.google.com`, whose `email_verified` is trusted.
    Google,
    /// Microsoft Entra ID: one issuer per tenant (`{tenantid}` in the discovered issuer);
    /// an address counts as verified only with the `xms_edov` claim.
    Microsoft,
    /// Apple: `form_post` when asking for the name or address, a client secret that is a
    /// JWT signed with the team's key, the name sent only at the first sign-in.
    Apple,
    /// GitHub: plain OAuth 2; the user and their verified addresses come from its API.
    Github,
}

/// One upstream provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The id in URLs and configuration (`[a-z0-9-]`, 1 to 32 characters).
    pub id: String,
    /// The name on the buttons.
    pub name: String,
    /// Whose quirks apply.
    pub preset: Preset,
    /// The issuer: discovery is at `<issuer>/.well-known/openid-configuration`; the issuer
    /// identities are keyed by (for GitHub, `https://github.com`).
    pub issuer: String,
    /// This service's client id at the provider.
    pub client_id: String,
    /// The client secret (for Apple, the team's private key in PKCS #8 PEM); none for a
    /// public client.
    pub client_secret: Option<SecretString>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Whether the provider's `email_verified: true` is trusted to link to an account with
    /// the same verified address.
    pub trust_email: bool,
    /// Apple: the team id and the key id the client secret is signed under.
    pub apple: Option<AppleKey>,
    /// Endpoints given instead of discovered (GitHub's, or a GitHub Enterprise Server's).
    pub endpoints: Option<PlainEndpoints>,
    /// The client ids of the operator's native apps at the provider (an iOS bundle id, an
    /// Android client id): id_tokens their platform SDK got for them may be exchanged at
    /// `POST /token` too.
    pub native_client_ids: Vec<String>,
}

impl Provider {
    /// The audiences an id_token of this provider may name: this service's client id and
    /// the native apps'.
    pub fn audiences(&self) -> Vec<&str> {
        std::iter::once(self.client_id.as_str())
            .chain(self.native_client_ids.iter().map(String::as_str))
            .collect()
    }
}

/// What signs Apple's client secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppleKey {
    /// The Apple developer team id.
    pub team_id: String,
    /// The id of the Sign in with Apple key.
    pub key_id: String,
}

/// A plain OAuth 2 provider's endpoints (no discovery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainEndpoints {
    /// Where the browser is sent to sign in.
    pub authorization: String,
    /// Where the code is exchanged.
    pub token: String,
    /// The API the user and their addresses are read from.
    pub api: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderEntry {
    id: String,
    #[serde(default)]
    preset: Option<Preset>,
    #[serde(default)]
    issuer: Option<String>,
    client_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    trust_email: Option<bool>,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    team_id: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
    #[serde(default)]
    api_url: Option<String>,
    #[serde(default)]
    native_client_ids: Vec<String>,
}

/// The configured providers, in the order of their buttons.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    listed: Vec<Provider>,
    loopback_http: bool,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        reason: reason.into(),
    }
}

impl Providers {
    /// Reads `FEDERATION_PROVIDERS` and `FEDERATION_SECRETS`; none configured when the first is
    /// unset.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        Self::read(source, true)
    }

    /// Reads `FEDERATION_PROVIDERS` only, to check their id_tokens: no client secret is
    /// needed for that (the token endpoint's exchange of a native app's id_token).
    pub fn for_id_tokens(source: &impl Source) -> Result<Self, ConfigError> {
        Self::read(source, false)
    }

    fn read(source: &impl Source, with_secrets: bool) -> Result<Self, ConfigError> {
        let loopback_http = crate::platform::config::flag(source, LOOPBACK_HTTP_VAR, false)?;
        let Some(listed) = source.get(PROVIDERS_VAR) else {
            return Ok(Self::default());
        };
        let entries: Vec<ProviderEntry> = serde_json::from_str(&listed).map_err(|error| {
            invalid(
                PROVIDERS_VAR,
                format!("not a JSON list of providers: {error}"),
            )
        })?;
        let mut secrets: HashMap<String, String> = match source.get(SECRETS_VAR) {
            Some(text) => serde_json::from_str(&text)
                .map_err(|_| invalid(SECRETS_VAR, "not a JSON object of strings by provider id"))?,
            None => HashMap::new(),
        };
        let mut providers = Vec::with_capacity(entries.len());
        for entry in entries {
            let secret = secrets.remove(&entry.id).map(SecretString::from);
            let provider = provider(entry, secret, loopback_http, with_secrets)?;
            if providers
                .iter()
                .any(|known: &Provider| known.id == provider.id)
            {
                return Err(invalid(
                    PROVIDERS_VAR,
                    format!("provider id {} is listed twice", provider.id),
                ));
            }
            // Identities are keyed by issuer: two providers under one would share them.
            if providers
                .iter()
                .any(|known: &Provider| known.issuer == provider.issuer)
            {
                return Err(invalid(
                    PROVIDERS_VAR,
                    format!("{} has the issuer of another provider", provider.id),
                ));
            }
            providers.push(provider);
        }
        if let Some(unused) = secrets.keys().next() {
            return Err(invalid(
                SECRETS_VAR,
                format!("a secret for {unused}, which FEDERATION_PROVIDERS does not list"),
            ));
        }
        Ok(Self {
            listed: providers,
            loopback_http,
        })
    }

    /// Every provider, in the configured order.
    pub fn all(&self) -> &[Provider] {
        &self.listed
    }

    /// The provider with the id `id`.
    pub fn get(&self, id: &str) -> Option<&Provider> {
        self.listed.iter().find(|provider| provider.id == id)
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    /// Whether `url` may be a provider's endpoint here ([`acceptable_url`]).
    pub fn accepts(&self, url: &str) -> bool {
        acceptable_url(url, self.loopback_http)
    }
}

fn provider(
    entry: ProviderEntry,
    secret: Option<SecretString>,
    loopback_http: bool,
    with_secrets: bool,
) -> Result<Provider, ConfigError> {
    let id_ok = (1..=32).contains(&entry.id.len())
        && entry
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(invalid(
            PROVIDERS_VAR,
            format!(
                "provider id {:?} is not 1 to 32 of a-z, 0-9 and -",
                entry.id
            ),
        ));
    }
    if entry.client_id.trim().is_empty() {
        return Err(invalid(
            PROVIDERS_VAR,
            format!("{} has no client_id", entry.id),
        ));
    }
    let preset = entry.preset.unwrap_or(Preset::Oidc);
    let id = entry.id.clone();
    let need = |value: Option<String>, field: &str| {
        value
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| invalid(PROVIDERS_VAR, format!("{id} needs {field}")))
    };
    let default_scopes = |scopes: &[&str]| scopes.iter().map(|s| (*s).to_owned()).collect();
    let (issuer, name, scopes, trust_email, apple, endpoints): (
        String,
        &str,
        Vec<String>,
        bool,
        Option<AppleKey>,
        Option<PlainEndpoints>,
    ) = match preset {
        Preset::Oidc => (
            need(entry.issuer.clone(), "an issuer")?,
            "",
            default_scopes(&["openid", "email", "profile"]),
            false,
            None,
            None,
        ),
        Preset::Google => (
            "https://accounts.google.com".to_owned(),
            "Google",
            default_scopes(&["openid", "email", "profile"]),
            true,
            None,
            None,
        ),
        Preset::Microsoft => {
            let tenant = entry.tenant.clone().unwrap_or_else(|| "common".to_owned());
            if tenant.is_empty()
                || !tenant
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            {
                return Err(invalid(
                    PROVIDERS_VAR,
                    format!("{id}: tenant is not a tenant id or name"),
                ));
            }
            (
                format!("https://login.microsoftonline.com/{tenant}/v2.0"),
                "Microsoft",
                default_scopes(&["openid", "email", "profile"]),
                true,
                None,
                None,
            )
        }
        Preset::Apple => (
            "https://appleid.apple.com".to_owned(),
            "Apple",
            default_scopes(&["openid", "email", "name"]),
            true,
            Some(AppleKey {
                team_id: need(entry.team_id.clone(), "team_id")?,
                key_id: need(entry.key_id.clone(), "key_id")?,
            }),
            None,
        ),
        Preset::Github => (
            match (
                &entry.issuer,
                entry.authorization_endpoint.is_some()
                    || entry.token_endpoint.is_some()
                    || entry.api_url.is_some(),
            ) {
                (Some(issuer), _) => issuer.clone(),
                (None, false) => "https://github.com".to_owned(),
                // Another GitHub (Enterprise Server) has users of its own: its identities need
                // an issuer of their own, or they would be github.com's.
                (None, true) => {
                    return Err(invalid(
                        PROVIDERS_VAR,
                        format!(
                            "{id}: a GitHub with its own endpoints needs its own issuer (its URL)"
                        ),
                    ));
                }
            },
            "GitHub",
            default_scopes(&["read:user", "user:email"]),
            true,
            None,
            Some(PlainEndpoints {
                authorization: entry
                    .authorization_endpoint
                    .clone()
                    .unwrap_or_else(|| "https://github.com/login/oauth/authorize".to_owned()),
                token: entry
                    .token_endpoint
                    .clone()
                    .unwrap_or_else(|| "https://github.com/login/oauth/access_token".to_owned()),
                api: entry
                    .api_url
                    .clone()
                    .unwrap_or_else(|| "https://api.github.com".to_owned()),
            }),
        ),
    };
    if preset != Preset::Github
        && (entry.authorization_endpoint.is_some()
            || entry.token_endpoint.is_some()
            || entry.api_url.is_some())
    {
        return Err(invalid(
            PROVIDERS_VAR,
            format!("{id}: endpoints are discovered from the issuer; only GitHub takes them"),
        ));
    }
    for url in std::iter::once(&issuer).chain(
        endpoints
            .iter()
            .flat_map(|e| [&e.authorization, &e.token, &e.api]),
    ) {
        if !acceptable_url(url, loopback_http) {
            return Err(invalid(
                PROVIDERS_VAR,
                format!("{id}: {url} is not https (http only on a loopback address)"),
            ));
        }
    }
    if preset == Preset::Apple && secret.is_none() && with_secrets {
        return Err(invalid(
            SECRETS_VAR,
            format!("{id} needs the team's private key"),
        ));
    }
    Ok(Provider {
        name: entry
            .name
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| {
                if name.is_empty() {
                    id.clone()
                } else {
                    name.to_owned()
                }
            }),
        id,
        preset,
        issuer: issuer.trim_end_matches('/').to_owned(),
        client_id: entry.client_id,
        client_secret: secret,
        scopes: entry.scopes.unwrap_or(scopes),
        trust_email: entry.trust_email.unwrap_or(trust_email),
        apple,
        endpoints,
        native_client_ids: entry.native_client_ids,
    })
}

/// Whether `url` may be an upstream's: https; or, with `loopback_http`, http on a loopback
/// address (a provider run for development or tests on the same machine).
pub fn acceptable_url(url: &str, loopback_http: bool) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" if !loopback_http => false,
        "http" => {
            matches!(parsed.host(), Some(url::Host::Domain("localhost")))
                || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn presets_fill_in_the_issuer_scopes_and_trust() {
        let providers = Providers::from_source(&[
            (
                PROVIDERS_VAR,
                r#"[{"id":"google","preset":"google","client_id":"g"},
                    {"id":"ms","preset":"microsoft","client_id":"m","tenant":"organizations"},
                    {"id":"gh","preset":"github","client_id":"h"},
                    {"id":"corp","issuer":"https://sso.corp.example/","client_id":"c","name":"Corp"}]"#,
            ),
            (SECRETS_VAR, r#"{"google":"s1","gh":"s2"}"#),
        ])
        .unwrap();
        let google = providers.get("google").unwrap();
        assert_eq!(google.issuer, "https://accounts.google.com");
        assert!(google.trust_email);
        assert_eq!(google.client_secret.as_ref().unwrap().expose_secret(), "s1");
        let ms = providers.get("ms").unwrap();
        assert_eq!(
            ms.issuer,
            "https://login.microsoftonline.com/organizations/v2.0"
        );
        let gh = providers.get("gh").unwrap();
        assert_eq!(gh.issuer, "https://github.com");
        assert_eq!(gh.endpoints.as_ref().unwrap().api, "https://api.github.com");
        let corp = providers.get("corp").unwrap();
        assert_eq!(
            (corp.issuer.as_str(), corp.name.as_str()),
            ("https://sso.corp.example", "Corp")
        );
        assert!(
            !corp.trust_email,
            "a generic provider's addresses are not trusted unless said"
        );
        assert!(corp.client_secret.is_none());
    }

    #[test]
    fn mistakes_are_refused_by_name() {
        for (providers, secrets) in [
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":"c"},{"id":"b","issuer":"https://x.example","client_id":"d"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"ghe","preset":"github","client_id":"c","api_url":"https://ghe.example/api/v3"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"http://127.0.0.1:9000","client_id":"c"}]"#,
                "{}",
            ),
            (r#"[{"id":"a","client_id":"c"}]"#, "{}"),
            (
                r#"[{"id":"A b","issuer":"https://x.example","client_id":"c"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"http://x.example","client_id":"c"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":""}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":"c"},{"id":"a","issuer":"https://y.example","client_id":"c"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":"c","token_endpoint":"https://t.example"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"apple","preset":"apple","client_id":"c","team_id":"t","key_id":"k"}]"#,
                "{}",
            ),
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":"c"}]"#,
                r#"{"b":"s"}"#,
            ),
            (
                r#"[{"id":"a","issuer":"https://x.example","client_id":"c","clientid":"typo"}]"#,
                "{}",
            ),
        ] {
            let result =
                Providers::from_source(&[(PROVIDERS_VAR, providers), (SECRETS_VAR, secrets)]);
            assert!(result.is_err(), "{providers} {secrets} was accepted");
        }
        assert!(Providers::from_source(&[]).unwrap().is_empty());
    }

    #[test]
    fn http_is_only_for_loopback_providers() {
        assert!(acceptable_url("http://127.0.0.1:9000", true));
        assert!(acceptable_url("http://localhost:9000/x", true));
        assert!(
            !acceptable_url("http://127.0.0.1:9001", false),
            "not in a deployment"
        );
        assert!(acceptable_url("https://accounts.google.com", false));
        assert!(!acceptable_url("http://accounts.google.com", true));
        assert!(!acceptable_url("ftp://127.0.0.1", true));
    }
}
