//! The Lambda Runtime API emulator with small shell-script "functions" that speak the
//! Runtime API over curl: responses, reported errors, crashes and timeouts.

use devtools::runtime::{FunctionConfig, FunctionPool, InvokeError};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const FUNCTION: &str = r#"#!/bin/bash
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
while true; do
  headers=$(mktemp)
  event=$(curl -sS -D "$headers" "$api/next")
  id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '\r' | awk '{print $2}')
  first=yes
  if [ -e "$MARKER" ]; then first=no; fi
  touch "$MARKER"
  case "$MODE" in
    echo) curl -sS -X POST "$api/$id/response" --data-binary "$event" ;;
    error) curl -sS -X POST "$api/$id/error" -d '{"errorType":"Boom","errorMessage":"it broke"}' ;;
    crash-first) if [ "$first" = yes ]; then exit 3; fi; curl -sS -X POST "$api/$id/response" -d '"recovered"' ;;
    sleep-first) if [ "$first" = yes ]; then sleep 30; fi; curl -sS -X POST "$api/$id/response" -d '"recovered"' ;;
    env) curl -sS -X POST "$api/$id/response" -d "{\"mode\":\"$MODE\",\"home\":\"${HOME:-}\",\"memory\":\"$AWS_LAMBDA_FUNCTION_MEMORY_SIZE\"}" ;;
  esac
  rm -f "$headers"
done
"#;

struct Fixture {
    dir: PathBuf,
    shutdown: CancellationToken,
}

impl Fixture {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "runtime-emulator-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("function");
        std::fs::write(&script, FUNCTION).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self {
            dir,
            shutdown: CancellationToken::new(),
        }
    }

    async fn pool(&self, mode: &str, timeout: Duration) -> std::sync::Arc<FunctionPool> {
        let environment = BTreeMap::from([
            ("MODE".to_owned(), mode.to_owned()),
            (
                "MARKER".to_owned(),
                self.dir
                    .join(format!("{mode}.marker"))
                    .display()
                    .to_string(),
            ),
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        ]);
        let config = FunctionConfig {
            name: format!("fn-{mode}"),
            binary: self.dir.join("function"),
            args: Vec::new(),
            environment,
            timeout,
            memory_mb: 256,
            instances: 1,
            log_dir: None,
        };
        FunctionPool::start(config, self.shutdown.clone())
            .await
            .unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dir_exists(path: &Path) -> bool {
    path.is_dir()
}

#[tokio::test]
async fn a_response_is_returned_to_the_invoker() {
    let fixture = Fixture::new();
    let pool = fixture.pool("echo", Duration::from_secs(10)).await;
    let payload = pool.invoke(br#"{"hello":"world"}"#.to_vec()).await.unwrap();
    assert_eq!(payload.as_ref(), br#"{"hello":"world"}"#);
    assert_eq!(pool.invocation_count(), 1);
    assert!(dir_exists(&fixture.dir));
}

#[tokio::test]
async fn a_reported_error_keeps_its_type_and_message() {
    let fixture = Fixture::new();
    let pool = fixture.pool("error", Duration::from_secs(10)).await;
    let error = pool.invoke(b"{}".to_vec()).await.unwrap_err();
    assert_eq!(
        error,
        InvokeError::Function {
            error_type: "Boom".into(),
            error_message: "it broke".into()
        }
    );
}

#[tokio::test]
async fn a_crash_fails_the_invocation_and_the_instance_is_restarted() {
    let fixture = Fixture::new();
    let pool = fixture.pool("crash-first", Duration::from_secs(10)).await;
    assert_eq!(
        pool.invoke(b"{}".to_vec()).await.unwrap_err(),
        InvokeError::Crashed
    );
    assert_eq!(
        pool.invoke(b"{}".to_vec()).await.unwrap().as_ref(),
        b"\"recovered\""
    );
    assert_eq!(
        pool.process_starts(),
        2,
        "the first process and its replacement"
    );
}

#[tokio::test]
async fn a_function_past_its_timeout_times_out_and_is_recycled() {
    let fixture = Fixture::new();
    let pool = fixture.pool("sleep-first", Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    assert_eq!(
        pool.invoke(b"{}".to_vec()).await.unwrap_err(),
        InvokeError::TimedOut
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered at the timeout, not when the function finished"
    );
    assert_eq!(
        pool.invoke(b"{}".to_vec()).await.unwrap().as_ref(),
        b"\"recovered\""
    );
}

#[tokio::test]
async fn functions_see_only_their_configured_environment_and_lambdas_variables() {
    let fixture = Fixture::new();
    let pool = fixture.pool("env", Duration::from_secs(10)).await;
    let payload = pool.invoke(b"{}".to_vec()).await.unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(seen["mode"], "env");
    assert_eq!(
        seen["home"], "",
        "the invoker's environment is not passed on"
    );
    assert_eq!(seen["memory"], "256");
}

#[tokio::test]
async fn a_missing_binary_is_reported_at_start() {
    let config = FunctionConfig {
        name: "ghost".into(),
        binary: "/nonexistent/ghost".into(),
        args: Vec::new(),
        environment: BTreeMap::new(),
        timeout: Duration::from_secs(1),
        memory_mb: 128,
        instances: 1,
        log_dir: None,
    };
    let error = FunctionPool::start(config, CancellationToken::new())
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("build it first"), "{error}");
}
