//! A Lambda Runtime API emulator: runs each function's real binary as several instances,
//! each talking to its own loopback Runtime API endpoint, and hands them invocations as
//! Lambda does. A crashed instance fails its invocation and is restarted; an instance that
//! runs past the function timeout is killed and restarted, as Lambda recycles the sandbox.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

/// How long an invocation may wait for a free instance before it is refused.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// How one function is run.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// The function's name (the binary name).
    pub name: String,
    /// Path of the binary to execute.
    pub binary: PathBuf,
    /// Its arguments (a script's interpreter takes the runtime shim and the script).
    pub args: Vec<String>,
    /// The function's environment; nothing else from the caller's environment is passed on.
    pub environment: BTreeMap<String, String>,
    /// The function timeout.
    pub timeout: Duration,
    /// Configured memory, reported to the function as Lambda does.
    pub memory_mb: u64,
    /// How many instances run side by side.
    pub instances: usize,
    /// When set, the function's stdout and stderr are appended to `<dir>/<name>.log`
    /// instead of going to this process's own output.
    pub log_dir: Option<PathBuf>,
}

/// Why an invocation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (`/invocation/{id}/error`).
    #[error("function error {error_type}: {error_message}")]
    Function {
        /// `errorType` as reported.
        error_type: String,
        /// `errorMessage` as reported.
        error_message: String,
    },
    /// The instance exited before answering.
    #[error("function instance exited during the invocation")]
    Crashed,
    /// The function ran past its timeout.
    #[error("function timed out")]
    TimedOut,
    /// No instance picked the invocation up in time.
    #[error("no function instance available")]
    Unavailable,
}

type Outcome = Result<Bytes, InvokeError>;

struct Invocation {
    id: String,
    event: Bytes,
    reply: oneshot::Sender<Outcome>,
    taken: oneshot::Sender<usize>,
}

struct InFlight {
    id: String,
    reply: oneshot::Sender<Outcome>,
}

struct Instance {
    current: Mutex<Option<InFlight>>,
    recycle: Notify,
}

impl Instance {
    fn finish(&self, id: Option<&str>, outcome: Outcome) -> bool {
        let mut current = self.current.lock().expect("instance lock");
        if current
            .as_ref()
            .is_some_and(|in_flight| id.is_none_or(|id| in_flight.id == id))
        {
            let in_flight = current.take().expect("checked above");
            let _ = in_flight.reply.send(outcome);
            return true;
        }
        false
    }
}

/// A running function: its instances and the queue they take invocations from.
pub struct FunctionPool {
    config: FunctionConfig,
    queue: async_channel::Sender<Invocation>,
    instances: Vec<Arc<Instance>>,
    invocations: AtomicU64,
    process_starts: Arc<AtomicU64>,
}

#[derive(Clone)]
struct EndpointState {
    index: usize,
    instance: Arc<Instance>,
    queue: async_channel::Receiver<Invocation>,
    function_arn: String,
    timeout: Duration,
}

impl FunctionPool {
    /// Starts `config.instances` instances of the binary; they run until `shutdown`.
    pub async fn start(
        config: FunctionConfig,
        shutdown: CancellationToken,
    ) -> std::io::Result<Arc<Self>> {
        if !config.binary.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "function binary {} does not exist (build it first)",
                    config.binary.display()
                ),
            ));
        }
        let (sender, receiver) = async_channel::unbounded();
        let function_arn = format!("arn:aws:lambda:local:123456789012:function:{}", config.name);
        let mut instances = Vec::new();
        let process_starts = Arc::new(AtomicU64::new(0));
        for index in 0..config.instances.max(1) {
            let instance = Arc::new(Instance {
                current: Mutex::new(None),
                recycle: Notify::new(),
            });
            let state = EndpointState {
                index,
                instance: Arc::clone(&instance),
                queue: receiver.clone(),
                function_arn: function_arn.clone(),
                timeout: config.timeout,
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let address = listener.local_addr()?;
            let app = runtime_api(state);
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(stop.cancelled_owned())
                    .await;
            });
            tokio::spawn(supervise(
                config.clone(),
                index,
                address.to_string(),
                Arc::clone(&instance),
                Arc::clone(&process_starts),
                shutdown.clone(),
            ));
            instances.push(instance);
        }
        Ok(Arc::new(Self {
            config,
            queue: sender,
            instances,
            invocations: AtomicU64::new(0),
            process_starts,
        }))
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// How many invocations this pool has received.
    pub fn invocation_count(&self) -> u64 {
        self.invocations.load(Ordering::Relaxed)
    }

    /// How many processes this pool has started: one per instance, plus one per restart
    /// after a crash or a timeout.
    pub fn process_starts(&self) -> u64 {
        self.process_starts.load(Ordering::Relaxed)
    }

    /// Invokes the function with `event` and waits for its response payload.
    pub async fn invoke(&self, event: Vec<u8>) -> Result<Bytes, InvokeError> {
        self.invocations.fetch_add(1, Ordering::Relaxed);
        let id = uuid::Uuid::new_v4().to_string();
        let (reply, outcome) = oneshot::channel();
        let (taken, taken_by) = oneshot::channel();
        let invocation = Invocation {
            id: id.clone(),
            event: Bytes::from(event),
            reply,
            taken,
        };
        self.queue
            .send(invocation)
            .await
            .map_err(|_| InvokeError::Unavailable)?;
        let index = match tokio::time::timeout(QUEUE_TIMEOUT, taken_by).await {
            Ok(Ok(index)) => index,
            _ => return Err(InvokeError::Unavailable),
        };
        match tokio::time::timeout(self.config.timeout, outcome).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(InvokeError::Crashed),
            Err(_) => {
                let instance = &self.instances[index];
                if instance.finish(Some(&id), Err(InvokeError::TimedOut)) {
                    eprintln!(
                        "local-api: {} timed out after {:?}; restarting instance {index}",
                        self.config.name, self.config.timeout
                    );
                    instance.recycle.notify_one();
                }
                Err(InvokeError::TimedOut)
            }
        }
    }
}

fn runtime_api(state: EndpointState) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(invocation_response),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/error",
            post(invocation_error),
        )
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(state)
}

async fn next_invocation(State(state): State<EndpointState>) -> Response {
    let Ok(invocation) = state.queue.recv().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let deadline = SystemTime::now() + state.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    *state.instance.current.lock().expect("instance lock") = Some(InFlight {
        id: invocation.id.clone(),
        reply: invocation.reply,
    });
    let _ = invocation.taken.send(state.index);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &state.function_arn);
    set(
        "lambda-runtime-trace-id",
        &format!("Root=1-{}", uuid::Uuid::new_v4().simple()),
    );
    (headers, invocation.event).into_response()
}

async fn invocation_response(
    State(state): State<EndpointState>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    if state.instance.finish(Some(&id), Ok(body)) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorReport {
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    error_message: String,
}

async fn invocation_error(
    State(state): State<EndpointState>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let report: ErrorReport = serde_json::from_slice(&body).unwrap_or(ErrorReport {
        error_type: "Unknown".to_owned(),
        error_message: String::from_utf8_lossy(&body).into(),
    });
    let error = InvokeError::Function {
        error_type: report.error_type,
        error_message: report.error_message,
    };
    if state.instance.finish(Some(&id), Err(error)) {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    }
}

async fn init_error(body: Bytes) -> StatusCode {
    eprintln!(
        "local-api: a function failed to initialise: {}",
        String::from_utf8_lossy(&body)
    );
    StatusCode::ACCEPTED
}

/// Runs one instance and restarts it after a crash or a timeout, until shutdown.
async fn supervise(
    config: FunctionConfig,
    index: usize,
    runtime_api: String,
    instance: Arc<Instance>,
    process_starts: Arc<AtomicU64>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut command = tokio::process::Command::new(&config.binary);
        command
            .args(&config.args)
            .env_clear()
            .envs(&config.environment)
            .envs(lambda_environment(&config, &runtime_api))
            .kill_on_drop(true);
        end_with_parent(&mut command);
        if let Some(dir) = &config.log_dir {
            match log_file(dir, &config.name) {
                Ok((stdout, stderr)) => {
                    command.stdout(stdout).stderr(stderr);
                }
                Err(error) => {
                    eprintln!(
                        "local-api: cannot open the log file in {}: {error}",
                        dir.display()
                    );
                    return;
                }
            }
        }
        let spawned = command.spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                eprintln!(
                    "local-api: cannot start {}: {error}",
                    config.binary.display()
                );
                return;
            }
        };
        process_starts.fetch_add(1, Ordering::Relaxed);
        let started = tokio::time::Instant::now();
        tokio::select! {
            status = child.wait() => {
                instance.finish(None, Err(InvokeError::Crashed));
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                eprintln!("local-api: {} instance {index} exited ({status}); restarting", config.name);
                if started.elapsed() > Duration::from_secs(10) {
                    backoff = Duration::from_millis(100);
                }
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            _ = instance.recycle.notified() => {
                let _ = child.kill().await;
            }
            _ = shutdown.cancelled() => {
                let _ = child.kill().await;
                return;
            }
        }
    }
}

/// The function's log file opened for appending, twice: for stdout and for stderr.
fn log_file(dir: &std::path::Path, name: &str) -> std::io::Result<(std::fs::File, std::fs::File)> {
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))?;
    Ok((file.try_clone()?, file))
}

/// Makes the child receive SIGTERM if this process dies, so nothing outlives `make dev`.
pub fn end_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                .map_err(std::io::Error::from)
        });
    }
}

/// The variables Lambda sets for every function, pointing it at `runtime_api`.
pub fn lambda_environment(config: &FunctionConfig, runtime_api: &str) -> Vec<(String, String)> {
    let pairs = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", config.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            config.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", config.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("TZ", ":UTC".to_owned()),
    ];
    let mut environment: Vec<(String, String)> = pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    if let Ok(level) = std::env::var("RUST_LOG") {
        environment.push(("RUST_LOG".to_owned(), level));
    }
    environment
}
