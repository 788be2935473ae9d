//! The whole local stack behind `make dev`: a MongoDB-compatible server (unless one is
//! given), a development key pair, the product seed, every function of the template running
//! under the Runtime API emulator, and the gateway on a loopback port.

use crate::gateway::Gateway;
use crate::runtime::{FunctionConfig, FunctionPool, end_with_parent};
use crate::template;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// How to start the stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The SAM template that defines routes, authorizers and functions.
    pub template: PathBuf,
    /// The folder holding the function binaries (named like the functions).
    pub bin_dir: PathBuf,
    /// Where the database files and development keys live (git-ignored).
    pub data_dir: PathBuf,
    /// Loopback port for HTTP; 0 picks a free one.
    pub port: u16,
    /// Instances per function.
    pub instances: usize,
    /// An existing database to use instead of starting one.
    pub mongodb_uri: Option<String>,
    /// The database name.
    pub database_name: String,
    /// The `secantusd-rs` binary, needed when no `mongodb_uri` is given.
    pub secantusd: Option<PathBuf>,
    /// PEM keys to use instead of the development pair in `data_dir/keys`.
    pub keys: Option<(String, String)>,
    /// Where to append each function's output (`<name>.log`); `None` passes it through.
    pub function_log_dir: Option<PathBuf>,
    /// Print one line per request (what `make dev` shows); off for load tests.
    pub log_requests: bool,
    /// Template parameter values, as `sam deploy --parameter-overrides` takes them (for
    /// example `UsersCollection`); the secret ARNs and `DatabaseName` are set by the stack.
    pub parameter_overrides: BTreeMap<String, String>,
    /// Where the functions that send mail write it (`.eml` files) instead of sending it;
    /// `None` leaves email off unless `MailFromAddress` is given (then they try SES).
    pub outbox_dir: Option<PathBuf>,
    /// The host name browsers reach the API by, in the issuer (`http://<host>:<port>`);
    /// `None` names the loopback address. `localhost` lets the hosted pages use passkeys,
    /// which no IP address can be the relying party of.
    pub public_host: Option<String>,
    /// The upstream providers' secrets (`FederationSecretsSecretArn`'s value, JSON by provider
    /// id), given to the functions as the template gives that secret.
    pub federation_secrets: Option<String>,
    /// Hooks to run under the emulator, each set as its trigger's template parameter.
    pub hooks: Vec<crate::hooks::LocalHook>,
    /// Whether [`Stack::stop`] removes `data_dir` (a test's scratch folder; never `make
    /// dev`'s, whose database and keys are kept).
    pub remove_data_dir_on_stop: bool,
}

/// The sender local mail names when `MailFromAddress` is not given.
pub const LOCAL_MAIL_FROM: &str = "no-reply@lambda-auth.local";

/// A running local stack. [`Stack::stop`] ends everything it started.
pub struct Stack {
    /// Where the API listens.
    pub address: SocketAddr,
    /// The gateway, for inspection in tests.
    pub gateway: Arc<Gateway>,
    /// The database URI the functions use.
    pub mongodb_uri: String,
    /// The issuer the tokens and the metadata name: the API's URL.
    pub issuer: String,
    /// Where the functions write mail, when they write it to files.
    pub outbox_dir: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    shutdown: CancellationToken,
    database: Option<Child>,
    server: tokio::task::JoinHandle<()>,
}

/// Why the stack could not start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StackError(String);

fn fail(context: &str) -> impl Fn(&dyn std::fmt::Display) -> StackError + '_ {
    move |error| StackError(format!("{context}: {error}"))
}

impl Stack {
    /// Starts every part; on failure, whatever was started is stopped again.
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let shutdown = CancellationToken::new();
        let (mongodb_uri, database) = match &options.mongodb_uri {
            Some(uri) => (uri.clone(), None),
            None => {
                let secantusd = options.secantusd.as_deref().ok_or_else(|| {
                    StackError(
                        "no MONGODB_URI and no secantusd-rs binary: run `make tools`".to_owned(),
                    )
                })?;
                let (uri, child) = start_database(secantusd, &options.data_dir.join("db")).await?;
                (uri, Some(child))
            }
        };
        let mut guard = Started {
            shutdown: shutdown.clone(),
            database,
            armed: true,
        };
        let key_dir = options.data_dir.join("keys");
        let (private_pem, public_pem) = match &options.keys {
            Some(keys) => keys.clone(),
            None => development_keys(&key_dir).await?,
        };
        let second_factor_keys = second_factor_keys(&key_dir)?;
        let users = shared::identity::users::UserCollectionSettings {
            collection: options
                .parameter_overrides
                .get("UsersCollection")
                .cloned()
                .unwrap_or_else(|| shared::identity::users::USERS_COLLECTION.to_owned()),
            legacy_lookup: false,
        };
        seed(&mongodb_uri, &options.database_name, &users).await?;

        let mut local_values = BTreeMap::from([
            ("MongoDbUriSecretArn".to_owned(), mongodb_uri.clone()),
            ("JwtPrivateKeySecretArn".to_owned(), private_pem),
            ("JwtPublicKeySecretArn".to_owned(), public_pem),
            ("SecondFactorKeysSecretArn".to_owned(), second_factor_keys),
        ]);
        if let Some(secrets) = &options.federation_secrets {
            local_values.insert("FederationSecretsSecretArn".to_owned(), secrets.clone());
        }
        let mut overrides: BTreeMap<String, String> = local_values
            .keys()
            .map(|param| (param.clone(), format!("{LOCAL_SECRET}{param}")))
            .collect();
        for (name, value) in &options.parameter_overrides {
            if overrides.contains_key(name) || name == "DatabaseName" {
                return Err(StackError(format!(
                    "parameter {name} is set by the local stack (use --db-name or the key options)"
                )));
            }
            overrides.insert(name.clone(), value.clone());
        }
        overrides.insert("DatabaseName".to_owned(), options.database_name.clone());
        for hook in &options.hooks {
            overrides.insert(hook.parameter(), hook.arn());
        }
        // The port is known before the functions start, so tokens and the metadata name the
        // local URL as their issuer, as a deployment names its API's.
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|e| fail(&format!("listening on 127.0.0.1:{}", options.port))(&e))?;
        let address = listener.local_addr().map_err(|e| fail("listener")(&e))?;
        let public_address = match &options.public_host {
            Some(host) => format!("{host}:{}", address.port()),
            None => address.to_string(),
        };
        let issuer = overrides
            .entry("JwtIssuer".to_owned())
            .or_insert_with(|| format!("http://{public_address}"))
            .clone();
        // Browsers treat http://localhost as a secure context, so passkeys work locally
        // with `localhost` as the relying party (not 127.0.0.1, which is no domain).
        overrides
            .entry("PasskeyRelyingPartyId".to_owned())
            .or_insert_with(|| "localhost".to_owned());
        // No internet locally: the breached-password check is off unless a test serves a
        // range fixture (devtools::range_server).
        overrides
            .entry("BreachCheckRangeUrl".to_owned())
            .or_insert_with(|| "off".to_owned());
        // The /docs page's Authorize dialog signs in as the demo client (code flow, PKCE).
        overrides
            .entry("DocsClientId".to_owned())
            .or_insert_with(|| DEMO_CLIENT_ID.to_owned());
        overrides
            .entry("PasskeyOrigins".to_owned())
            .or_insert_with(|| format!("http://localhost:{}", address.port()));
        if options.outbox_dir.is_some() {
            overrides
                .entry("MailFromAddress".to_owned())
                .or_insert_with(|| LOCAL_MAIL_FROM.to_owned());
        }
        let text = std::fs::read_to_string(&options.template)
            .map_err(|e| fail("reading the template")(&e))?;
        let mut model =
            template::parse(&text, &overrides).map_err(|e| StackError(e.to_string()))?;
        let outbox = match &options.outbox_dir {
            Some(dir) => Some(std::path::absolute(dir).map_err(|e| fail("outbox folder")(&e))?),
            None => None,
        };
        for spec in model.functions.values_mut() {
            inline_local_secrets(&mut spec.environment, &local_values);
            // The local upstream providers listen on plain http at a loopback address.
            if spec.environment.contains_key("FEDERATION_PROVIDERS") {
                spec.environment.insert(
                    shared::federation::providers::LOOPBACK_HTTP_VAR.to_owned(),
                    "true".to_owned(),
                );
            }
            let sends_mail = spec
                .environment
                .get("MAIL_FROM")
                .is_some_and(|from| !from.is_empty());
            if let (true, Some(outbox)) = (sends_mail, &outbox) {
                spec.environment
                    .insert("MAIL_OUTBOX_DIR".to_owned(), outbox.display().to_string());
            }
        }
        if !options.hooks.is_empty() {
            let service = start_hooks(&options, shutdown.clone()).await?;
            for spec in model.functions.values_mut() {
                service.point_at_it(&mut spec.environment);
            }
        }
        let mut pools = BTreeMap::new();
        for (id, spec) in &model.functions {
            let config = FunctionConfig {
                name: spec.binary.clone(),
                binary: options.bin_dir.join(&spec.binary),
                args: Vec::new(),
                environment: spec.environment.clone(),
                timeout: spec.timeout,
                memory_mb: spec.memory_mb,
                instances: options.instances,
                log_dir: options.function_log_dir.clone(),
            };
            let pool = FunctionPool::start(config, shutdown.clone())
                .await
                .map_err(|e| fail(&spec.binary)(&e))?;
            pools.insert(id.clone(), pool);
        }
        let gateway = Gateway::new(model, pools, options.log_requests);
        let app = gateway
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
        });
        let database = guard.database.take();
        guard.armed = false;
        Ok(Self {
            address,
            gateway,
            mongodb_uri,
            issuer,
            outbox_dir: outbox,
            data_dir: options
                .remove_data_dir_on_stop
                .then(|| options.data_dir.clone()),
            shutdown,
            database,
            server,
        })
    }

    /// Stops the gateway, every function instance and the database it started, and removes
    /// the data folder when the options said so.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let _ = (&mut self.server).await;
        if let Some(database) = self.database.take() {
            stop_gracefully(database).await;
        }
        if let Some(dir) = &self.data_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The local Lambda service of the hooks, and the credentials the functions sign with.
struct LocalLambda {
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
}

impl LocalLambda {
    /// Points a function that calls a hook at the local service, with the credentials Lambda
    /// would give it.
    fn point_at_it(&self, environment: &mut BTreeMap<String, String>) {
        let calls_a_hook = shared::hooks::Trigger::ALL.iter().any(|trigger| {
            environment
                .get(trigger.variable())
                .is_some_and(|arn| !arn.is_empty())
        });
        if calls_a_hook {
            environment.insert("AWS_ENDPOINT_URL_LAMBDA".to_owned(), self.endpoint.clone());
            environment.insert("AWS_ACCESS_KEY_ID".to_owned(), self.access_key_id.clone());
            environment.insert(
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                self.secret_access_key.clone(),
            );
        }
    }
}

/// Starts each hook under the emulator and the Lambda service that invokes them, with
/// credentials made for this run.
async fn start_hooks(
    options: &StackOptions,
    shutdown: CancellationToken,
) -> Result<LocalLambda, StackError> {
    let mut pools = BTreeMap::new();
    for hook in &options.hooks {
        let config = hook
            .function_config(options.function_log_dir.clone())
            .map_err(StackError)?;
        let pool = FunctionPool::start(config, shutdown.clone())
            .await
            .map_err(|e| fail(&hook.function_name())(&e))?;
        pools.insert(hook.function_name(), pool);
    }
    let access_key_id = format!(
        "LOCAL{}",
        uuid::Uuid::new_v4().simple().to_string()[..15].to_uppercase()
    );
    let service = crate::hooks::LambdaService::start(pools, access_key_id.clone(), shutdown)
        .await
        .map_err(|e| fail("the local Lambda service")(&e))?;
    Ok(LocalLambda {
        endpoint: format!("http://{}", service.address),
        access_key_id,
        secret_access_key: uuid::Uuid::new_v4().simple().to_string(),
    })
}

/// Marks a template parameter that stands for a secret ARN in the local stack.
const LOCAL_SECRET: &str = "local-secret:";

/// Locally there is no Secrets Manager: each `NAME_SECRET_ARN` variable the template gives a
/// function becomes the plain `NAME` variable the functions also accept, with the local
/// value. Which function gets which value stays exactly as the template says.
fn inline_local_secrets(
    environment: &mut BTreeMap<String, String>,
    local_values: &BTreeMap<String, String>,
) {
    let secret_vars: Vec<(String, String)> = environment
        .iter()
        .filter_map(|(name, value)| {
            let param = value.strip_prefix(LOCAL_SECRET)?;
            Some((name.clone(), local_values.get(param)?.clone()))
        })
        .collect();
    for (name, value) in secret_vars {
        environment.remove(&name);
        environment.insert(name.trim_end_matches("_SECRET_ARN").to_owned(), value);
    }
}

/// Stops what was started if `Stack::start` fails half-way.
struct Started {
    shutdown: CancellationToken,
    database: Option<Child>,
    armed: bool,
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.armed {
            self.shutdown.cancel();
        }
    }
}

/// Starts the embedded database server. `--sync-on-commit` makes it fsync its log before it
/// acknowledges a write, so what it acknowledged survives a crash of the server or the
/// machine (the functions ask for journaled writes; without it the server would acknowledge
/// them from memory).
async fn start_database(secantusd: &Path, storage: &Path) -> Result<(String, Child), StackError> {
    std::fs::create_dir_all(storage).map_err(|e| fail("creating the database folder")(&e))?;
    let mut command = Command::new(secantusd);
    command
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--cache-size",
            "256M",
            "--sync-on-commit",
            "--storage-path",
        ])
        .arg(storage)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    end_with_parent(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| fail(&format!("starting {}", secantusd.display()))(&e))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Some(port) = line
                    .rsplit_once("listening on 127.0.0.1:")
                    .map(|(_, port)| port.trim().to_owned())
                {
                    break port;
                }
            }
            _ => {
                return Err(StackError(
                    "the database server exited during start-up".to_owned(),
                ));
            }
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((format!("mongodb://127.0.0.1:{port}"), child))
}

async fn stop_gracefully(mut child: Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
        if tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

async fn development_keys(dir: &Path) -> Result<(String, String), StackError> {
    if crate::dev_keys::ensure(dir).map_err(StackError)? {
        println!("local-api: created development keys in {}", dir.display());
    }
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path).map_err(|e| fail(&path.display().to_string())(&e))
    };
    Ok((
        read(crate::dev_keys::private_path(dir))?,
        read(crate::dev_keys::public_path(dir))?,
    ))
}

fn second_factor_keys(dir: &Path) -> Result<String, StackError> {
    if crate::dev_keys::ensure_second_factor_keys(dir).map_err(StackError)? {
        println!(
            "local-api: created a development second-factor data key in {}",
            dir.display()
        );
    }
    let path = crate::dev_keys::second_factor_keys_path(dir);
    std::fs::read_to_string(&path).map_err(|e| fail(&path.display().to_string())(&e))
}

/// What a deployment's `setup-database` step does, and the sample products.
async fn seed(
    uri: &str,
    name: &str,
    users: &shared::identity::users::UserCollectionSettings,
) -> Result<(), StackError> {
    let settings = shared::platform::database::DatabaseSettings {
        uri: uri.to_owned(),
        name: name.to_owned(),
    };
    let database = shared::platform::database::connect(&settings)
        .await
        .map_err(|e| fail("connecting to the database")(&e))?;
    let stores = shared::stores::MongoStores::new(&database, users);
    stores
        .ensure_indexes()
        .await
        .map_err(|e| fail("creating the indexes")(&e))?;
    stores
        .products
        .seed()
        .await
        .map_err(|e| fail("seeding products")(&e))?;
    register_demo_client(&stores).await
}

/// The relying party `make dev` registers for local use: a public, first-party client with
/// loopback redirect URIs (any port matches), so a local app or the `/docs` page can sign in
/// through `/authorize`.
pub const DEMO_CLIENT_ID: &str = "rp_localdemoclientaaaaaaaaa";

/// The demo client's redirect URIs: a local app's `/callback` and the `/docs` page's OAuth 2.0
/// redirect page, on any port of 127.0.0.1.
pub const DEMO_REDIRECT_URIS: [&str; 2] = [
    "http://127.0.0.1/callback",
    "http://127.0.0.1/docs/oauth2-redirect.html",
];

async fn register_demo_client(stores: &shared::stores::MongoStores) -> Result<(), StackError> {
    use shared::access::relying_parties::{
        IdTokenAlgorithm, RelyingPartyId, RelyingPartyStore as _,
    };
    let id = RelyingPartyId::parse(DEMO_CLIENT_ID)
        .ok_or_else(|| StackError("the demo client id is malformed".to_owned()))?;
    if stores
        .relying_parties
        .find(&id)
        .await
        .map_err(|e| fail("reading the demo client")(&e))?
        .is_some()
    {
        return Ok(());
    }
    let registration = crate::relying_parties::Registration {
        id: Some(id),
        name: "Local demo app".to_owned(),
        confidential: false,
        redirect_uris: DEMO_REDIRECT_URIS.map(str::to_owned).to_vec(),
        post_logout_redirect_uris: vec!["http://127.0.0.1/".to_owned()],
        scopes: "openid profile email offline_access account products:write".to_owned(),
        first_party: true,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
    };
    // A public client has no secret to hash.
    let hasher = shared::factors::hashing::PasswordHasher::new(
        shared::factors::hashing::HashingParams::default(),
    )
    .map_err(|e| fail("the hashing settings")(&e))?;
    crate::relying_parties::register(stores, &hasher, registration)
        .await
        .map(|_| ())
        .map_err(|e| fail("registering the demo client")(&e))
}
