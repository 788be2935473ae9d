//! The example single-page app (`examples/spa`), served on a loopback port of its own so it
//! is another origin than the API, as a real application is: its redirect URI is
//! `http://127.0.0.1:<port>/callback`, one of the demo client's. It has no build step: the
//! page, its script and oidc-client-ts's browser bundle (from `npm ci` in the folder) are
//! read once at start, and `/config.json` tells the page the issuer and the client id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where oidc-client-ts's browser bundle is, under the app's folder.
pub const CLIENT_BUNDLE: &str = "node_modules/oidc-client-ts/dist/browser/oidc-client-ts.min.js";

/// The files the app is made of, read at start.
struct Files {
    index: String,
    script: String,
    style: String,
    client: String,
    config: String,
    policy: String,
}

/// Serves the app in `dir` on `127.0.0.1:port` (0 picks a free port) until `shutdown`,
/// signing in at `issuer` as `client_id`; the address it listens on.
pub async fn serve(
    dir: &Path,
    port: u16,
    issuer: &str,
    client_id: &str,
    providers: &[(String, String)],
    shutdown: CancellationToken,
) -> Result<SocketAddr, String> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).map_err(|error| {
            format!(
                "the example app's {} cannot be read ({error}); run `make example-app`",
                dir.join(name).display()
            )
        })
    };
    let providers: Vec<serde_json::Value> = providers
        .iter()
        .map(|(id, name)| serde_json::json!({ "id": id, "name": name }))
        .collect();
    let config = serde_json::json!({
        "authority": issuer,
        "client_id": client_id,
        "providers": providers,
    });
    let files = Arc::new(Files {
        index: read("index.html")?,
        script: read("app.js")?,
        style: read("style.css")?,
        client: read(CLIENT_BUNDLE)?,
        config: config.to_string(),
        policy: format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self' {issuer}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
    });
    let page = |pick: fn(&Files) -> &str, content_type: &'static str| {
        let files = Arc::clone(&files);
        move || {
            let files = Arc::clone(&files);
            async move { answer(&files, pick(&files), content_type) }
        }
    };
    let html = "text/html; charset=utf-8";
    let script = "text/javascript; charset=utf-8";
    let app = axum::Router::new()
        .route("/", get(page(|files| &files.index, html)))
        .route("/callback", get(page(|files| &files.index, html)))
        .route("/app.js", get(page(|files| &files.script, script)))
        .route(
            "/oidc-client-ts.js",
            get(page(|files| &files.client, script)),
        )
        .route(
            "/style.css",
            get(page(|files| &files.style, "text/css; charset=utf-8")),
        )
        .route(
            "/config.json",
            get(page(|files| &files.config, "application/json")),
        )
        .fallback(|| async { StatusCode::NOT_FOUND });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|error| format!("the example app cannot listen on 127.0.0.1:{port}: {error}"))?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
    Ok(address)
}

fn answer(files: &Files, body: &str, content_type: &'static str) -> Response {
    let mut response = body.to_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(policy) = HeaderValue::from_str(&files.policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}
