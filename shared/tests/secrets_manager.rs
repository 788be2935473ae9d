//! Secrets loaded for real through `aws-config` and the Secrets Manager SDK from a local AWS
//! API (moto server, `AWS_SECRETS_TEST_ENDPOINT`; `make test` starts one), found through
//! `AWS_ENDPOINT_URL` exactly as a deployed function would find the real service.
//!
//! One test function on purpose: it sets process environment variables, which the other
//! tests in this binary would otherwise race with.

use secrecy::ExposeSecret;
use shared::platform::config::ConfigError;
use shared::tokens::{TokenIssuer, TokenVerifier};
use std::path::PathBuf;
use std::process::Command;
use std::time::SystemTime;

async fn create_secret(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) -> String {
    let created = client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create_secret on moto");
    created.arn().expect("an ARN").to_owned()
}

fn set(name: &str, value: &str) {
    // SAFETY: this binary runs a single test; nothing reads the environment concurrently.
    unsafe { std::env::set_var(name, value) }
}

fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

/// Needs a local Secrets Manager (`AWS_SECRETS_TEST_ENDPOINT`); `make integration` starts one.
mod live {
    use super::*;

    #[tokio::test]
    async fn secrets_are_loaded_through_aws_config_and_failures_are_named() {
        let endpoint = std::env::var("AWS_SECRETS_TEST_ENDPOINT").unwrap_or_else(|_| {
            panic!(
                "AWS_SECRETS_TEST_ENDPOINT is not set. This test needs a local Secrets Manager: run \
                 `make test`, or start `moto_server -p 5000` (pip install 'moto[server]') and export \
                 AWS_SECRETS_TEST_ENDPOINT=http://127.0.0.1:5000"
            )
        });
        for (name, value) in [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ] {
            set(name, value);
        }
        let client =
            aws_sdk_secretsmanager::Client::new(&shared::platform::secrets::sdk_config().await);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let keys = shared::tokens::keys::generate_ed25519().unwrap();
        let private_arn = create_secret(
            &client,
            &format!("{run}/jwt-private"),
            keys.private_pem.expose_secret(),
        )
        .await;
        let public_arn =
            create_secret(&client, &format!("{run}/jwt-public"), &keys.public_pem).await;
        let uri_arn = create_secret(
            &client,
            &format!("{run}/mongodb-uri"),
            "mongodb://db.example:27017",
        )
        .await;
        let garbage_arn = create_secret(&client, &format!("{run}/not-a-key"), "not a key").await;

        set("JWT_PRIVATE_KEY_SECRET_ARN", &private_arn);
        set("JWT_PUBLIC_KEY_SECRET_ARN", &public_arn);
        set("MONGODB_URI_SECRET_ARN", &uri_arn);
        let env =
            shared::platform::secrets::load(&["JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "MONGODB_URI"])
                .await
                .unwrap();
        let database = shared::platform::database::DatabaseSettings::from_source(&env).unwrap();
        assert_eq!(database.uri, "mongodb://db.example:27017");
        let issuer = TokenIssuer::from_source(&env).expect("private key from Secrets Manager");
        let verifier = TokenVerifier::from_source(&env).expect("public key from Secrets Manager");
        let token = issuer.issue("alice", 0, SystemTime::now()).unwrap();
        assert_eq!(verifier.verify(&token.token).unwrap().sub, "alice");

        let missing_arn =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:does-not-exist-AbCdEf";
        set("MONGODB_URI_SECRET_ARN", missing_arn);
        match shared::platform::secrets::load(&["MONGODB_URI"]).await {
            Err(ConfigError::Secret { var, secret, .. }) => {
                assert_eq!((var, secret.as_str()), ("MONGODB_URI", missing_arn))
            }
            other => panic!("a missing secret must fail, got {other:?}"),
        }

        set("JWT_PRIVATE_KEY_SECRET_ARN", &garbage_arn);
        let env = shared::platform::secrets::load(&["JWT_PRIVATE_KEY"])
            .await
            .unwrap();
        let error = TokenIssuer::from_source(&env).unwrap_err().to_string();
        assert!(
            error.contains("JWT_PRIVATE_KEY") && error.contains("not a PKCS#8 PEM"),
            "{error}"
        );

        let output = Command::new(function_binary("authorizer"))
            .env_clear()
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("JWT_PUBLIC_KEY_SECRET_ARN", missing_arn)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "the cold start fails");
        let log = String::from_utf8_lossy(&output.stdout);
        let line = log
            .lines()
            .find(|line| line.contains("cold start failed"))
            .unwrap_or_else(|| panic!("no log line in {log}"));
        let line: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert_eq!(line["level"], "ERROR");
        assert!(
            line["error"].as_str().unwrap().contains("JWT_PUBLIC_KEY"),
            "{line}"
        );
        assert!(
            line["error"].as_str().unwrap().contains(missing_arn),
            "{line}"
        );
    }
}
