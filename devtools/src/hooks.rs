//! Hooks in the local stack: each `--hook TRIGGER=PROGRAM` runs under the Runtime API emulator
//! like the functions (a binary built with a Lambda runtime, or a Python or Node.js handler
//! file with the runtime shim of `devtools/hooks/`), and a loopback Lambda service answers the
//! functions' `Invoke` calls as Lambda does.

use crate::runtime::{FunctionConfig, FunctionPool, InvokeError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use shared::hooks::Trigger;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path as FilePath, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The account id the local ARNs name.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// One hook to run locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHook {
    /// Where it runs.
    pub trigger: Trigger,
    /// A Lambda binary, or a `.py`, `.mjs` or `.js` handler file.
    pub program: PathBuf,
}

impl std::str::FromStr for LocalHook {
    type Err = String;

    /// `TRIGGER=PROGRAM`, for example `pre-token-generation=examples/hooks/add_claim.py`.
    fn from_str(text: &str) -> Result<Self, String> {
        let (name, program) = text
            .split_once('=')
            .ok_or_else(|| format!("--hook {text}: expected TRIGGER=PROGRAM"))?;
        let trigger = Trigger::named(name.trim()).ok_or_else(|| {
            let names: Vec<&str> = Trigger::ALL.iter().map(|trigger| trigger.name()).collect();
            format!("--hook {text}: the triggers are {}", names.join(", "))
        })?;
        Ok(Self {
            trigger,
            program: PathBuf::from(program.trim()),
        })
    }
}

impl LocalHook {
    /// The local function's name: `hook-<trigger>`.
    pub fn function_name(&self) -> String {
        format!("hook-{}", self.trigger.name())
    }

    /// Its ARN in the local stack.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{}",
            self.function_name()
        )
    }

    /// The template parameter that names it (`PreTokenGenerationHookArn`, ...).
    pub fn parameter(&self) -> String {
        let camel: String = self
            .trigger
            .name()
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect();
        format!("{camel}HookArn")
    }

    /// How the emulator runs it: the program and its arguments.
    pub fn command(&self) -> Result<(PathBuf, Vec<String>), String> {
        let program = std::path::absolute(&self.program)
            .map_err(|error| format!("{}: {error}", self.program.display()))?;
        if !program.is_file() {
            return Err(format!(
                "hook {} does not exist (build it first)",
                program.display()
            ));
        }
        let shim = |name: &str| {
            FilePath::new(env!("CARGO_MANIFEST_DIR"))
                .join("hooks")
                .join(name)
                .display()
                .to_string()
        };
        let script = program.display().to_string();
        let interpreted = match program.extension().and_then(|ext| ext.to_str()) {
            Some("py") => Some(("python3", shim("runtime.py"))),
            Some("mjs" | "js") => Some(("node", shim("runtime.mjs"))),
            _ => None,
        };
        match interpreted {
            None => Ok((program, Vec::new())),
            Some((interpreter, shim)) => {
                let interpreter = on_path(interpreter)
                    .ok_or_else(|| format!("{interpreter} is not on PATH (it runs {script})"))?;
                Ok((interpreter, vec![shim, script]))
            }
        }
    }

    /// The emulator's configuration for it.
    pub fn function_config(&self, log_dir: Option<PathBuf>) -> Result<FunctionConfig, String> {
        let (binary, args) = self.command()?;
        let environment = BTreeMap::from([
            ("AWS_DEFAULT_REGION".to_owned(), "us-east-1".to_owned()),
            ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
        ]);
        Ok(FunctionConfig {
            name: self.function_name(),
            binary,
            args,
            environment,
            timeout: Duration::from_secs(5),
            memory_mb: 128,
            instances: 2,
            log_dir,
        })
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// A loopback Lambda service: `POST /2015-03-31/functions/{name or ARN}/invocations` for the
/// pools it was given, answered as Lambda answers `RequestResponse` invocations. Calls must be
/// signed with `access_key_id` (the signature itself is not checked).
pub struct LambdaService {
    /// Where it listens.
    pub address: SocketAddr,
}

#[derive(Clone)]
struct ServiceState {
    pools: Arc<BTreeMap<String, Arc<FunctionPool>>>,
    access_key_id: String,
}

impl LambdaService {
    /// Starts the service for `pools` (by function name) until `shutdown`.
    pub async fn start(
        pools: BTreeMap<String, Arc<FunctionPool>>,
        access_key_id: String,
        shutdown: CancellationToken,
    ) -> std::io::Result<Self> {
        let state = ServiceState {
            pools: Arc::new(pools),
            access_key_id,
        };
        let app = Router::new()
            .route("/2015-03-31/functions/{function}/invocations", post(invoke))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
        });
        Ok(Self { address })
    }
}

/// Lambda's error shape for a refused call.
fn refused(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "Type": "User", "__type": kind, "message": message });
    (
        status,
        [("x-amzn-errortype", kind.to_owned())],
        body.to_string(),
    )
        .into_response()
}

/// A function error, as Lambda reports one: `200` with `X-Amz-Function-Error`.
fn function_error(kind: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errorType": kind, "errorMessage": message });
    (
        StatusCode::OK,
        [("x-amz-function-error", "Unhandled")],
        body.to_string(),
    )
        .into_response()
}

async fn invoke(
    State(state): State<ServiceState>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let credential = format!("Credential={}/", state.access_key_id);
    let signed = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("AWS4-HMAC-SHA256 ") && value.contains(&credential));
    if !signed {
        return refused(
            StatusCode::FORBIDDEN,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        );
    }
    let name = function
        .split_once(":function:")
        .map_or(function.as_str(), |(_, name)| name);
    let name = name.split(':').next().unwrap_or_default();
    let Some(pool) = state.pools.get(name) else {
        return refused(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {function}"),
        );
    };
    match pool.invoke(body.to_vec()).await {
        Ok(payload) => (StatusCode::OK, payload).into_response(),
        Err(InvokeError::Function {
            error_type,
            error_message,
        }) => function_error(&error_type, &error_message),
        Err(InvokeError::TimedOut) => function_error("Sandbox.Timedout", "Task timed out"),
        Err(InvokeError::Crashed) => {
            function_error("Runtime.ExitError", "Runtime exited before answering")
        }
        Err(InvokeError::Unavailable) => refused(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Rate Exceeded.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hook_option_names_a_trigger_and_a_program() {
        let hook: LocalHook = "pre-token-generation=examples/hooks/add_claim.py"
            .parse()
            .unwrap();
        assert_eq!(hook.trigger, Trigger::PreTokenGeneration);
        assert_eq!(hook.parameter(), "PreTokenGenerationHookArn");
        assert_eq!(
            hook.arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:hook-pre-token-generation"
        );
        let error = "post-login=x".parse::<LocalHook>().unwrap_err();
        assert!(error.contains("pre-sign-up"), "{error}");
        assert!("no-equals-sign".parse::<LocalHook>().is_err());
    }
}
