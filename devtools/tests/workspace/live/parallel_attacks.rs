//! The security guarantees the way attackers test them: many requests at once, spread over
//! two instances of each function by the local API, repeated in loops, against the real
//! database. Each test names the guarantee it holds the service to.

use super::local_api::start;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Guesses at once for one name: more than the lockout allows, fewer than the local API's
/// two instances per function can serve without queueing behind argon2id for long.
const BURST: usize = 16;

/// How many passwords the lockout checks before its first lock.
const CHECKS_BEFORE_LOCK: usize = 5;

/// Sends every request of `requests` at once and counts the answers by status.
async fn statuses<F>(requests: impl IntoIterator<Item = F>) -> Vec<StatusCode>
where
    F: std::future::Future<Output = reqwest::Response>,
{
    join_all(requests)
        .await
        .into_iter()
        .map(|response| response.status())
        .collect()
}

/// [`BURST`] different wrong passwords.
fn wrong_passwords(prefix: &str) -> Vec<String> {
    (0..BURST).map(|i| format!("{prefix} {i}")).collect()
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|status| **status == wanted).count()
}

/// A wrong password is 400 (`invalid_grant`, the password was checked); a lock is 429 (it
/// was not). Every answer must be one of the two.
fn checked_passwords(statuses: &[StatusCode]) -> usize {
    let checked = count(statuses, StatusCode::BAD_REQUEST);
    let locked = count(statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(checked + locked, statuses.len(), "{statuses:?}");
    checked
}

#[tokio::test]
async fn parallel_wrong_guesses_check_five_passwords_then_one_per_expired_lock() {
    let local = start().await;
    let password = "correct horse battery staple";
    assert_eq!(
        local.signup("mallory", password).await.status(),
        StatusCode::CREATED
    );
    for name in ["mallory", "nobody-here"] {
        let passwords = wrong_passwords("guess");
        let answers = statuses(passwords.iter().map(|guess| local.token(name, guess))).await;
        assert_eq!(
            checked_passwords(&answers),
            CHECKS_BEFORE_LOCK,
            "{name}: {BURST} parallel guesses check exactly {CHECKS_BEFORE_LOCK} passwords"
        );
    }

    // The fifth attempt locked the name for one second; the next burst gets one check.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let passwords = wrong_passwords("after the lock");
    let guesses = passwords.iter().map(|guess| local.token("mallory", guess));
    assert_eq!(checked_passwords(&statuses(guesses).await), 1);

    // The right password is refused too while locked, and works once the lock is over.
    assert_eq!(
        local.token("mallory", password).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    assert_eq!(
        local.token("mallory", password).await.status(),
        StatusCode::OK
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn parallel_wrong_current_passwords_check_five_then_lock() {
    let local = start().await;
    let password = "correct horse battery staple";
    local.access_token("trent", password).await;
    let session = local.login("trent", password).await;
    let changes = (0..BURST).map(|i| {
        let body = json!({"current_password": format!("wrong {i}"), "new_password": "a new passphrase here"});
        local.post_with_token("/users/me/password", &session["access_token"], Some(body))
    });
    let answers: Vec<StatusCode> = join_all(changes)
        .await
        .into_iter()
        .map(|(status, _): (StatusCode, Value)| status)
        .collect();
    let wrong = count(&answers, StatusCode::FORBIDDEN);
    let locked = count(&answers, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(wrong + locked, BURST, "{answers:?}");
    assert_eq!(wrong, CHECKS_BEFORE_LOCK, "{answers:?}");
    local.stack.stop().await;
}
