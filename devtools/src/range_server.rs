//! A local breached-password range server in the format of the Pwned Passwords range API
//! (`GET <base>/range/<5 hex digits>` answers `SUFFIX:COUNT` lines), serving a fixture of
//! passwords, for tests that must not depend on the internet. It records each request's
//! prefix and whether it asked for padding, so a test can check that only a prefix left the
//! function.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::get;
use std::sync::{Arc, Mutex};

/// What one request asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeRequest {
    /// The path's prefix as sent.
    pub prefix: String,
    /// Whether `Add-Padding: true` was sent.
    pub padded: bool,
}

/// A running range server.
#[derive(Debug)]
pub struct RangeServer {
    /// The endpoint to configure (`BreachCheckRangeUrl`): the prefix is appended to it.
    pub endpoint: String,
    requests: Arc<Mutex<Vec<RangeRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RangeServer {
    /// Serves `breached` (each listed 42 times) on a free loopback port.
    pub async fn start(breached: &[&str]) -> std::io::Result<Self> {
        let hashes: Arc<Vec<String>> = Arc::new(
            breached
                .iter()
                .map(|password| shared::factors::breached_passwords::sha1_hex(password))
                .collect(),
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = (hashes, Arc::clone(&requests));
        let app = axum::Router::new()
            .route("/range/{prefix}", get(range))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}/range/", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            endpoint,
            requests,
            task,
        })
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RangeRequest> {
        self.requests.lock().expect("range requests").clone()
    }
}

impl Drop for RangeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type RangeState = (Arc<Vec<String>>, Arc<Mutex<Vec<RangeRequest>>>);

async fn range(
    State((hashes, requests)): State<RangeState>,
    Path(prefix): Path<String>,
    headers: HeaderMap,
) -> String {
    let padded = headers
        .get("add-padding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
    requests.lock().expect("range requests").push(RangeRequest {
        prefix: prefix.clone(),
        padded,
    });
    let prefix = prefix.to_ascii_uppercase();
    let mut lines: Vec<String> = hashes
        .iter()
        .filter(|hash| hash.starts_with(&prefix))
        .map(|hash| format!("{}:42", &hash[5..]))
        .collect();
    if padded {
        lines.extend((0..8).map(|n| format!("{n:035X}:0")));
    }
    lines.join("\r\n")
}
