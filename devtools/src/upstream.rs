//! Local upstream OpenID Providers for `make dev` and the federation tests: panva's
//! `oidc-provider` (`devtools/upstream/upstream.mjs`, npm, pinned) run by Node, one issuer per
//! loopback port, each knowing this project's login function as its one client.

use std::path::Path;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The client id the local providers know the login function by.
pub const CLIENT_ID: &str = "lambda-auth-local";

/// The running providers. Dropping it stops them.
pub struct Upstreams {
    /// `FederationProviders`: the providers as the template parameter lists them.
    pub providers_json: String,
    /// `FederationSecretsSecretArn`'s value: the client secret by provider id.
    pub secrets_json: String,
    /// Each provider's id and issuer.
    pub issuers: Vec<(String, String)>,
    /// Each provider's id and the name its button shows.
    pub names: Vec<(String, String)>,
    _node: Child,
}

/// Why the providers could not start.
#[derive(Debug, thiserror::Error)]
#[error("upstream providers: {0}")]
pub struct UpstreamError(String);

/// A free loopback port (free when asked; another process could take it before it is used).
pub fn free_port() -> Result<u16, UpstreamError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| UpstreamError(error.to_string()))
}

/// Starts `ids` (each its own issuer) from `dir` (`devtools/upstream`, its `node_modules`
/// installed), redirecting to `redirect_uri`; the first one's addresses count as verified. An
/// id ending in `:github` plays GitHub (plain OAuth 2 and its user API) under the `github`
/// preset.
pub async fn start(
    dir: &Path,
    ids: &[&str],
    redirect_uri: &str,
) -> Result<Upstreams, UpstreamError> {
    // A free port can be taken by another process before node binds it (tests run side by
    // side): node then exits, and a second try picks other ports.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match start_once(dir, ids, redirect_uri).await {
            Err(UpstreamError(reason)) if attempt < 3 && reason.contains("exited") => continue,
            outcome => return outcome,
        }
    }
}

async fn start_once(
    dir: &Path,
    ids: &[&str],
    redirect_uri: &str,
) -> Result<Upstreams, UpstreamError> {
    let script = dir.join("upstream.mjs");
    if !dir.join("node_modules/oidc-provider").is_dir() {
        return Err(UpstreamError(format!(
            "{} has no node_modules/oidc-provider: run `make upstream-provider`",
            dir.display()
        )));
    }
    let mut ports = Vec::new();
    for _ in ids {
        ports.push(free_port()?);
    }
    let listed: Vec<String> = ids
        .iter()
        .zip(&ports)
        .map(|(id, port)| match id.split_once(':') {
            Some((id, mode)) => format!("{id}={port}:{mode}"),
            None => format!("{id}={port}"),
        })
        .collect();
    let secret = shared::sessions::generate().map_err(|error| UpstreamError(error.to_string()))?;
    let secret = secrecy::ExposeSecret::expose_secret(&secret.secret).to_owned();
    let mut node = Command::new("node")
        .arg(&script)
        .env("UPSTREAM_ISSUERS", listed.join(","))
        .env("UPSTREAM_CLIENT_ID", CLIENT_ID)
        .env("UPSTREAM_CLIENT_SECRET", &secret)
        .env("UPSTREAM_REDIRECT_URI", redirect_uri)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| UpstreamError(format!("starting node {}: {error}", script.display())))?;
    let stdout = node
        .stdout
        .take()
        .ok_or_else(|| UpstreamError("no output from node".to_owned()))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut issuers = Vec::new();
    let mut github = Vec::new();
    // Generous: under `make test` many stacks and node processes start side by side.
    let deadline = tokio::time::Duration::from_secs(60);
    while issuers.len() < ids.len() {
        let line = tokio::time::timeout(deadline, lines.next_line())
            .await
            .map_err(|_| UpstreamError("node did not start them within 60 s".to_owned()))?
            .map_err(|error| UpstreamError(error.to_string()))?
            .ok_or_else(|| UpstreamError("node exited during start-up".to_owned()))?;
        let mut words = line.split_whitespace();
        if let (Some("upstream"), Some(id), Some(issuer)) =
            (words.next(), words.next(), words.next())
        {
            if words.next() == Some("github") {
                github.push(id.to_owned());
            }
            issuers.push((id.to_owned(), issuer.to_owned()));
        }
    }
    // Node dies writing to a closed pipe: its later output is read and dropped.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let names: Vec<(String, String)> = issuers
        .iter()
        .enumerate()
        .map(|(index, (id, _))| {
            let name = if index == 0 {
                "Local provider".to_owned()
            } else {
                format!("Local provider {}", index + 1)
            };
            (id.clone(), name)
        })
        .collect();
    let providers: Vec<serde_json::Value> = issuers
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(index, ((id, issuer), (_, name)))| {
            if github.contains(id) {
                return serde_json::json!({
                    "id": id,
                    "preset": "github",
                    "issuer": issuer,
                    "client_id": CLIENT_ID,
                    "name": name,
                    "authorization_endpoint": format!("{issuer}/login/oauth/authorize"),
                    "token_endpoint": format!("{issuer}/login/oauth/access_token"),
                    "api_url": issuer,
                });
            }
            serde_json::json!({
                "id": id,
                "issuer": issuer,
                "client_id": CLIENT_ID,
                "name": name,
                "trust_email": index == 0,
            })
        })
        .collect();
    let secrets: serde_json::Map<String, serde_json::Value> = issuers
        .iter()
        .map(|(id, _)| (id.clone(), serde_json::Value::String(secret.clone())))
        .collect();
    Ok(Upstreams {
        providers_json: serde_json::Value::Array(providers).to_string(),
        secrets_json: serde_json::Value::Object(secrets).to_string(),
        issuers,
        names,
        _node: node,
    })
}
