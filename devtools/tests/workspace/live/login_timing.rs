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
