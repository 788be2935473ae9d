//! Configuration values that may live in AWS Secrets Manager. For each variable `NAME` a
//! function needs, `NAME_SECRET_ARN` (set by the SAM template) names the secret holding the
//! value; without it, `NAME` itself is read from the environment (local use). The secrets are
//! fetched once, at cold start, with `aws-config` (which honours `AWS_ENDPOINT_URL`).

use crate::platform::config::{ConfigError, ProcessEnv, Source};
use std::collections::HashMap;

/// The environment with secret-backed variables resolved.
#[derive(Default)]
pub struct ResolvedEnv {
    secrets: HashMap<String, String>,
}

impl std::fmt::Debug for ResolvedEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResolvedEnv")
            .field("from_secrets", &self.secrets.keys())
            .finish()
    }
}

impl Source for ResolvedEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.secrets
            .get(name)
            .cloned()
            .or_else(|| ProcessEnv.get(name))
    }
}

/// The AWS SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with an HTTPS client on rustls and ring: the crypto provider the MongoDB driver already
/// links. The SDK's default client would add aws-lc-rs, a second one, to every function.
#[cfg(feature = "aws-secrets")]
pub async fn sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let https_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https_client)
        .load()
        .await
}

/// Fetches every `NAME` in `names` whose `NAME_SECRET_ARN` is set. A secret that cannot be
/// read is an error naming the variable and the secret; there is no fallback value.
pub async fn load(names: &[&'static str]) -> Result<ResolvedEnv, ConfigError> {
    let wanted: Vec<(&'static str, String)> = names
        .iter()
        .filter_map(|name| {
            ProcessEnv
                .get(&format!("{name}_SECRET_ARN"))
                .map(|arn| (*name, arn))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(ResolvedEnv::default());
    }
    fetch_all(wanted).await
}

#[cfg(not(feature = "aws-secrets"))]
async fn fetch_all(wanted: Vec<(&'static str, String)>) -> Result<ResolvedEnv, ConfigError> {
    let (var, secret) = wanted.into_iter().next().unwrap_or_default();
    Err(ConfigError::Secret {
        var,
        secret,
        reason: "this function is built without Secrets Manager support".to_owned(),
    })
}

#[cfg(feature = "aws-secrets")]
async fn fetch_all(wanted: Vec<(&'static str, String)>) -> Result<ResolvedEnv, ConfigError> {
    let mut resolved = ResolvedEnv::default();
    let config = sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    for (name, arn) in wanted {
        let value = fetch(&client, &arn)
            .await
            .map_err(|reason| ConfigError::Secret {
                var: name,
                secret: arn.clone(),
                reason,
            })?;
        resolved.secrets.insert(name.to_owned(), value);
    }
    Ok(resolved)
}

#[cfg(feature = "aws-secrets")]
async fn fetch(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<String, String> {
    let output = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|error| aws_sdk_secretsmanager::error::DisplayErrorContext(error).to_string())?;
    output
        .secret_string()
        .filter(|value| !value.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| "the secret has no (non-empty) SecretString".to_owned())
}
