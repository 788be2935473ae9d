//! `local-api`: serves the API of `template.yaml` on a loopback port the way API Gateway
//! would, running the real function binaries. `make dev` builds everything and starts it.

use clap::Parser;
use devtools::stack::{Stack, StackOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// Serve the SAM template's REST API locally, with its TOKEN authorizer in front.
#[derive(Parser)]
struct Args {
    /// The SAM template.
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// Folder with the function binaries.
    #[arg(long)]
    bin_dir: PathBuf,
    /// Folder for the database files and development keys.
    #[arg(long, default_value = ".local")]
    data_dir: PathBuf,
    /// Loopback port to serve on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Instances per function.
    #[arg(long, default_value_t = 2)]
    instances: usize,
    /// Use this database instead of starting the embedded server.
    #[arg(long, env = "MONGODB_URI")]
    mongodb_uri: Option<String>,
    /// Database name.
    #[arg(long, env = "DB_NAME", default_value = "lambda_auth")]
    db_name: String,
    /// The embedded server's binary (secantusd-rs).
    #[arg(long)]
    secantusd: Option<PathBuf>,
    /// PEM private key to sign with instead of the development key in `<data-dir>/keys`.
    #[arg(
        long,
        env = "JWT_PRIVATE_KEY",
        hide_env_values = true,
        requires = "jwt_public_key"
    )]
    jwt_private_key: Option<String>,
    /// PEM public key(s) to verify with, given together with `--jwt-private-key`.
    #[arg(
        long,
        env = "JWT_PUBLIC_KEY",
        hide_env_values = true,
        requires = "jwt_private_key"
    )]
    jwt_public_key: Option<String>,
    /// Append each function's output to `<dir>/<function>.log` instead of this terminal.
    #[arg(long, env = "FUNCTION_LOG_DIR")]
    function_log_dir: Option<PathBuf>,
    /// Where mail is written (`.eml` files, one line each in this terminal) instead of sent;
    /// default `<data-dir>/outbox`.
    #[arg(long)]
    outbox: Option<PathBuf>,
    /// A template parameter value, `Name=Value`, as `sam deploy --parameter-overrides` takes
    /// it (repeatable; also space-separated in PARAMETER_OVERRIDES), for example
    /// `UsersCollection=user_model`.
    #[arg(long = "parameter", env = "PARAMETER_OVERRIDES", value_delimiter = ' ', value_parser = parameter)]
    parameters: Vec<(String, String)>,
    /// The host name in the issuer URL (`http://<host>:<port>`) instead of 127.0.0.1;
    /// `localhost` lets the hosted sign-in pages use passkeys.
    #[arg(long)]
    public_host: Option<String>,
    /// Also serve the example single-page app in this folder (`examples/spa`), signing in
    /// as the demo client.
    #[arg(long)]
    example_app: Option<PathBuf>,
    /// Loopback port of the example app (0 picks a free one).
    #[arg(long, env = "EXAMPLE_PORT", default_value_t = 3001)]
    example_port: u16,
    /// Also run local upstream OpenID Providers from this folder (`devtools/upstream`,
    /// panva's oidc-provider) and offer sign-in through them on the hosted pages.
    #[arg(long)]
    upstream: Option<PathBuf>,
    /// The upstream providers' ids, comma-separated: each is its own issuer; the first is
    /// trusted for verified addresses.
    #[arg(long, default_value = "local", value_delimiter = ',')]
    upstream_ids: Vec<String>,
    /// A hook to run, as TRIGGER=PROGRAM (repeatable): a Lambda binary, or a Python (.py) or
    /// Node.js (.mjs, .js) handler file, for example
    /// pre-token-generation=examples/hooks/add_claim.py.
    #[arg(long = "hook", env = "HOOKS", value_delimiter = ' ')]
    hooks: Vec<devtools::hooks::LocalHook>,
}

fn parameter(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected Name=Value, got {raw:?}")),
    }
}

/// The configured key pair, when both halves are configured.
fn configured_keys(private: &Option<String>, public: &Option<String>) -> Option<(String, String)> {
    Some((private.clone()?, public.clone()?))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let outbox = args
        .outbox
        .clone()
        .unwrap_or_else(|| args.data_dir.join("outbox"));
    let mut parameters: std::collections::BTreeMap<String, String> =
        args.parameters.into_iter().collect();
    let mut port = args.port;
    let mut federation_secrets = None;
    let upstreams = match &args.upstream {
        Some(dir) => {
            if port == 0 {
                port = match devtools::upstream::free_port() {
                    Ok(port) => port,
                    Err(error) => {
                        eprintln!("local-api: {error}");
                        return ExitCode::FAILURE;
                    }
                };
            }
            let host = args.public_host.as_deref().unwrap_or("127.0.0.1");
            let issuer = parameters
                .get("JwtIssuer")
                .cloned()
                .unwrap_or_else(|| format!("http://{host}:{port}"));
            let ids: Vec<&str> = args.upstream_ids.iter().map(String::as_str).collect();
            let callback = format!("{}/login/federated/callback", issuer.trim_end_matches('/'));
            match devtools::upstream::start(dir, &ids, &callback).await {
                Ok(upstreams) => {
                    parameters.insert(
                        "FederationProviders".to_owned(),
                        upstreams.providers_json.clone(),
                    );
                    federation_secrets = Some(upstreams.secrets_json.clone());
                    Some(upstreams)
                }
                Err(error) => {
                    eprintln!("local-api: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    let options = StackOptions {
        template: args.template,
        bin_dir: args.bin_dir,
        data_dir: args.data_dir,
        port,
        instances: args.instances,
        mongodb_uri: args.mongodb_uri,
        database_name: args.db_name,
        secantusd: args.secantusd,
        keys: configured_keys(&args.jwt_private_key, &args.jwt_public_key),
        function_log_dir: args.function_log_dir,
        log_requests: true,
        parameter_overrides: parameters,
        outbox_dir: Some(outbox.clone()),
        public_host: args.public_host,
        federation_secrets,
        hooks: args.hooks.clone(),
        remove_data_dir_on_stop: false,
    };
    let embedded_data = options
        .mongodb_uri
        .is_none()
        .then(|| options.data_dir.join("db"));
    let stack = match Stack::start(options).await {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!("local-api: {error}");
            return ExitCode::FAILURE;
        }
    };
    let database_note = match embedded_data {
        Some(data) => format!(
            "the embedded database at {} (data in {})",
            stack.mongodb_uri,
            data.display()
        ),
        None => "the database in MONGODB_URI".to_owned(),
    };
    let example_stop = tokio_util::sync::CancellationToken::new();
    let example = match &args.example_app {
        Some(dir) => match devtools::example_app::serve(
            dir,
            args.example_port,
            &stack.issuer,
            devtools::stack::DEMO_CLIENT_ID,
            upstreams
                .as_ref()
                .map(|upstreams| upstreams.names.as_slice())
                .unwrap_or_default(),
            example_stop.clone(),
        )
        .await
        {
            Ok(address) => Some(address),
            Err(error) => {
                eprintln!("local-api: {error}");
                stack.stop().await;
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    if let Some(upstreams) = &upstreams {
        for (id, issuer) in &upstreams.issuers {
            println!(
                "upstream provider {id} at {issuer}: \"Continue with\" it on the sign-in page, then sign in there as any name (any password; `name|address|unverified` asserts an unverified address)"
            );
        }
    }
    print_banner(&stack, &database_note, &outbox, example);
    let watcher = tokio::spawn(devtools::outbox::announce_new_mail(outbox));
    wait_for_stop_signal().await;
    watcher.abort();
    example_stop.cancel();
    println!("local-api: stopping");
    stack.stop().await;
    ExitCode::SUCCESS
}

fn print_banner(
    stack: &Stack,
    database_note: &str,
    outbox: &std::path::Path,
    example: Option<std::net::SocketAddr>,
) {
    let url = stack.issuer.clone();
    println!(
        "local-api listening on http://{} (API Gateway REST API emulation, routes from template.yaml)",
        stack.address
    );
    if url != format!("http://{}", stack.address) {
        println!("local-api issuer (the API's URL in tokens, metadata and pages): {url}");
    }
    if let Some(address) = example {
        println!(
            "example app at http://{address}/ (oidc-client-ts: sign up, two-step verification, passkeys)"
        );
    }
    println!("local-api using {database_note}");
    println!(
        "local-api writes mail to {} (never sent; each message is announced here with its code)",
        outbox.display()
    );
    println!();
    println!(
        "Interactive docs (sign up, Authorize with the password or the code flow, call the API): http://{}/docs",
        stack.address
    );
    println!(
        "Passkeys demo (at localhost, the relying party passkeys are bound to): {}/docs/passkeys",
        url.replace("://127.0.0.1", "://localhost")
    );
    if let Some(address) = example {
        println!(
            "Example app signing in with the hosted pages (oidc-client-ts, the demo client): http://{address}/"
        );
    }
    println!();
    println!(
        "OpenID Provider: {url}/.well-known/openid-configuration, demo public client {} (redirect URIs {} on any port)",
        devtools::stack::DEMO_CLIENT_ID,
        devtools::stack::DEMO_REDIRECT_URIS.join(", ")
    );
    println!();
    println!("Try the whole flow:");
    println!(
        "  curl -i -X POST {url}/signup -H 'Content-Type: application/json' -d '{{\"username\":\"alice\",\"password\":\"correct horse battery staple\"}}'"
    );
    println!(
        "  TOKEN=$(curl -s -X POST {url}/token -d 'grant_type=password&username=alice&password=correct+horse+battery+staple' | sed -E 's/.*\"access_token\":\"([^\"]+)\".*/\\1/')"
    );
    println!("  curl -i {url}/users/me -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -i {url}/products -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -i {url}/users/me");
    println!("  curl -i {url}/.well-known/jwks.json");
    println!();
    println!(
        "Also served: refresh (grant_type=refresh_token) on /token, /revoke, /users/me/logout, /users/me/password, two-factor authentication under /users/me/mfa (see docs/src/api/)."
    );
    println!();
    println!("Press Ctrl-C to stop.");
}

async fn wait_for_stop_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
