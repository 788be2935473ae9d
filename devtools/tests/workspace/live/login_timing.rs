//! What the time a failed login takes tells an attacker, measured over HTTP through the local
//! API (the real token binary, argon2id at its default cost) on FastAPI-era accounts.

use super::local_api::{Local, start_with_parameters};
use mongodb::bson::{DateTime, Document, doc};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// passlib `md5_crypt` of "tutorial password 2".
const MD5_CRYPT: &str = "$1$PKNMEx3F$2qW0ghmi/3gyYx69ifb0l/";
/// passlib `sha256_crypt` (535,000 rounds) of "tutorial password 1".
const SHA256_CRYPT: &str =
    "$5$rounds=535000$JuAZ6X4/60L9KkQ4$.kIFE7QvsIhmHDEMKWERG8cebH.8/EBhjPveVZA/FZ0";

/// Failed logins measured per kind of name (each name once, so no lock interferes).
const SAMPLES: usize = 21;

async fn seed(local: &Local, prefix: &str, hash: &str, count: usize) {
    let documents: Vec<Document> = (0..count)
        .map(|i| {
            doc! {
                "username": format!("{prefix}{i}"), "password": hash, "disabled": false,
                "created_date": DateTime::now(), "modified_date": DateTime::now(),
            }
        })
        .collect();
    local
        .database
        .collection::<Document>("user_model")
        .insert_many(documents)
        .await
        .unwrap();
}

/// How long a wrong password for `username` takes to be refused.
async fn failed_login(local: &Local, username: &str) -> Duration {
    let started = Instant::now();
    let response = local.token(username, "not the password at all").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{username}");
    elapsed
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

#[tokio::test]
async fn a_failed_login_for_an_md5_crypt_account_takes_as_long_as_for_an_unknown_name() {
    let local = start_with_parameters(&[
        ("UsersCollection", "user_model"),
        ("LegacyUserLookup", "true"),
    ])
    .await;
    seed(&local, "md5-user-", MD5_CRYPT, SAMPLES + 2).await;
    seed(&local, "sha256-user-", SHA256_CRYPT, 7).await;
    for warm_up in ["md5-user-a0", "nobody-warm-up-a", "nobody-warm-up-b"] {
        failed_login(&local, warm_up).await;
    }

    let (mut unknown, mut md5) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        // Interleaved, so drift in the machine's speed hits both alike.
        unknown.push(failed_login(&local, &format!("nobody-{i}")).await);
        md5.push(failed_login(&local, &format!("md5-user-{i}")).await);
    }
    let mut sha256 = Vec::new();
    for i in 0..7 {
        sha256.push(failed_login(&local, &format!("sha256-user-{i}")).await);
    }
    let (unknown, md5, sha256) = (median(unknown), median(md5), median(sha256));
    let ratio = md5.as_secs_f64() / unknown.as_secs_f64();
    println!(
        "failed login medians: unknown name {unknown:?}, md5_crypt account {md5:?} ({ratio:.2}x), \
         sha256_crypt (535,000 rounds) account {sha256:?} ({:.1}x)",
        sha256.as_secs_f64() / unknown.as_secs_f64()
    );
    assert!(
        (0.75..=1.25).contains(&ratio),
        "an md5_crypt account answers in {md5:?}, an unknown name in {unknown:?}: \
         the difference tells which names exist"
    );
    local.stack.stop().await;
}

/// passlib's argon2 at argon2-cffi's own costs (64 MiB, 3 passes, 4 lanes) of "correct horse
/// battery staple": what the FastAPI app wrote before the book's snippet (docs/src/fastapi.md) pinned the costs.
const ARGON2_CFFI_DEFAULT: &str = "$argon2id$v=19$m=65536,t=3,p=4$AyAEoNS6d27NOadUijFGCA$NnbcJGK85QL+pjVKVUO95e2m7qhHTGfRm6R4cLnudFM";

/// A hash the FastAPI app writes with the coexistence snippet of docs/src/fastapi.md, from its own passlib.
fn fastapi_app_argon2(password: &str) -> String {
    let python = std::env::var("FASTAPI_APP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "FASTAPI_APP_PYTHON is not set: it names a Python with passlib and argon2-cffi \
             (`make integration` installs them)"
        )
    });
    let script = "import sys\nfrom passlib.context import CryptContext\n\
        pwd_context = CryptContext(schemes=['argon2', 'sha256_crypt', 'md5_crypt'], deprecated='auto', \
        argon2__memory_cost=19456, argon2__rounds=2, argon2__parallelism=1)\n\
        print(pwd_context.hash(sys.argv[1]))";
    let output = std::process::Command::new(&python)
        .args(["-c", script, password])
        .output()
        .unwrap_or_else(|error| panic!("{python}: {error}"));
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn an_account_the_fastapi_app_hashed_with_argon2_fails_as_fast_as_an_unknown_name_and_is_rehashed()
 {
    let local = start_with_parameters(&[
        ("UsersCollection", "user_model"),
        ("LegacyUserLookup", "true"),
    ])
    .await;
    let from_the_app = fastapi_app_argon2("tutorial password 3");
    assert!(
        from_the_app.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{from_the_app}"
    );
    seed(&local, "argon2-user-", &from_the_app, SAMPLES + 1).await;
    seed(&local, "cffi-user-", ARGON2_CFFI_DEFAULT, 1).await;
    for warm_up in ["argon2-user-a0", "nobody-warm-up-a", "nobody-warm-up-b"] {
        failed_login(&local, warm_up).await;
    }
    let (mut unknown, mut argon2) = (Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        unknown.push(failed_login(&local, &format!("nobody-{i}")).await);
        argon2.push(failed_login(&local, &format!("argon2-user-{i}")).await);
    }
    let (unknown, argon2) = (median(unknown), median(argon2));
    let ratio = argon2.as_secs_f64() / unknown.as_secs_f64();
    println!(
        "failed login medians: unknown name {unknown:?}, FastAPI-app argon2 account {argon2:?} ({ratio:.2}x)"
    );
    assert!(
        (0.75..=1.25).contains(&ratio),
        "an account the FastAPI app hashed answers in {argon2:?}, an unknown name in \
         {unknown:?}: the difference tells which names exist"
    );

    // A hash at argon2-cffi's own costs is replaced by one at this project's at the next
    // successful login.
    let response = local
        .token("cffi-user-0", "correct horse battery staple")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let stored = local
        .database
        .collection::<Document>("user_model")
        .find_one(doc! { "username": "cffi-user-0" })
        .await
        .unwrap()
        .unwrap();
    let hash = stored.get_str("password").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    local.stack.stop().await;
}
