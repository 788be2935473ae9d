//! The security guarantees the way attackers test them: many requests at once, spread over
//! two instances of each function by the local API, repeated in loops, against the real
//! database. Each test names the guarantee it holds the service to.

use super::local_api::{Local, start, start_with_parameters};
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

/// Logs `username` in and returns its refresh token.
async fn refresh_token_of(local: &Local, username: &str, password: &str) -> Value {
    local.login(username, password).await["refresh_token"].clone()
}

/// Every refresh token in `tokens` is refused.
async fn assert_all_refused(local: &Local, tokens: &[Value], round: usize, race: &str) {
    for token in tokens {
        let (status, body) = local.refresh(token).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "round {round} of {race}: a token of the session still works"
        );
    }
}

/// The successor refresh token in a `/token` answer, when it issued one.
fn successor(answer: &(StatusCode, Value)) -> Option<Value> {
    (answer.0 == StatusCode::OK).then(|| answer.1["refresh_token"].clone())
}

#[tokio::test]
async fn a_revocation_racing_a_refresh_never_leaves_a_working_token() {
    let local = start().await;
    let password = "correct horse battery staple";
    local.access_token("victor", password).await;
    for round in 0..15 {
        let token = refresh_token_of(&local, "victor", password).await;
        let revocation = [("token", token.as_str().unwrap())];
        let (refreshed, (revoked, body)) =
            tokio::join!(local.refresh(&token), local.form("/revoke", &revocation));
        assert_eq!(
            (revoked, body),
            (StatusCode::OK, json!({})),
            "round {round}"
        );
        let issued: Vec<Value> = [Some(token.clone()), successor(&refreshed)]
            .into_iter()
            .flatten()
            .collect();
        assert_all_refused(&local, &issued, round, "revoke against refresh").await;
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn two_parallel_refreshes_of_one_token_never_leave_a_working_token() {
    let local = start().await;
    let password = "correct horse battery staple";
    local.access_token("wendy", password).await;
    for round in 0..15 {
        let token = refresh_token_of(&local, "wendy", password).await;
        let (first, second) = tokio::join!(local.refresh(&token), local.refresh(&token));
        let successes = [&first, &second]
            .iter()
            .filter(|answer| answer.0 == StatusCode::OK)
            .count();
        assert!(successes <= 1, "round {round}: {first:?} {second:?}");
        let issued: Vec<Value> = [successor(&first), successor(&second)]
            .into_iter()
            .flatten()
            .collect();
        assert_all_refused(&local, &issued, round, "two refreshes").await;
    }
    local.stack.stop().await;
}

#[tokio::test]
async fn an_expired_access_token_is_refused_while_the_authorizer_still_caches_its_allow() {
    let local = start_with_parameters(&[("AccessTokenTtlSeconds", "5")]).await;
    let password = "correct horse battery staple";
    local.access_token("yvonne", password).await;
    let session = local.login("yvonne", password).await;
    assert_eq!(session["expires_in"], 5);
    let token = &session["access_token"];
    assert_eq!(local.me_status(token).await, StatusCode::OK);
    let bearer = format!("Bearer {}", token.as_str().unwrap());
    assert_eq!(
        local.get("/products", Some(&bearer)).await.status(),
        StatusCode::OK
    );
    let decisions = local.authorizer_invocations();

    // Past exp and the verifier's five-second leeway; the cached Allow lasts 300 s.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(local.me_status(token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        local.get("/products", Some(&bearer)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = local.post_with_token("/users/me/logout", token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        local.authorizer_invocations(),
        decisions,
        "the authorizer's cached Allow let every request through: the functions refused"
    );
    local.stack.stop().await;
}

#[tokio::test]
async fn a_name_deleted_and_registered_again_inherits_no_token() {
    let local = start().await;
    let password = "correct horse battery staple";
    local.access_token("zoe", password).await;
    let old = local.login("zoe", password).await;
    let users = local
        .database
        .collection::<mongodb::bson::Document>("users");
    let deleted = users
        .delete_one(mongodb::bson::doc! { "username_canonical": "zoe" })
        .await
        .unwrap();
    assert_eq!(deleted.deleted_count, 1);
    let new_password = "the new owner's passphrase";
    assert_eq!(
        local.signup("zoe", new_password).await.status(),
        StatusCode::CREATED
    );

    assert_eq!(
        local.me_status(&old["access_token"]).await,
        StatusCode::FORBIDDEN,
        "the old access token names the deleted account"
    );
    assert_eq!(
        local.refresh(&old["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );
    let new = local.login("zoe", new_password).await;
    assert_eq!(local.me_status(&new["access_token"]).await, StatusCode::OK);
    local.stack.stop().await;
}

/// The connection arithmetic of docs/src/operations/running.md, checked: each execution environment holds at most
/// `maxPoolSize` (2) pooled connections plus the driver's monitoring of each server (one, or
/// two with the streaming protocol), however many requests it serves. After parallel traffic
/// on every function that uses the database, two instances each, a server of the stack's own
/// (the shared test server also serves the other tests) counts no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_traffic_keeps_each_instance_within_its_pool() {
    use devtools::stack::{Stack, StackOptions};
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let data_dir = std::env::temp_dir().join(format!("pool-{}", uuid::Uuid::new_v4().simple()));
    let stack = Stack::start(StackOptions {
        template: crate::support::workspace().join("template.yaml"),
        bin_dir: crate::support::bin_dir_with_functions(),
        data_dir: data_dir.clone(),
        port: 0,
        instances: 2,
        mongodb_uri: None,
        database_name: "pool".to_owned(),
        secantusd: Some(secantusd.into()),
        keys: None,
        function_log_dir: None,
        log_requests: false,
        parameter_overrides: Default::default(),
        outbox_dir: Some(data_dir.join("outbox")),
        public_host: None,
        federation_secrets: None,
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    })
    .await
    .expect("the local stack starts with its own server");
    let url = format!("http://{}", stack.address);
    let http = reqwest::Client::new();
    let password = "correct horse battery staple";
    let signup = |name: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(format!("{url}/signup"))
                .json(&json!({"username": name, "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(signup("poolside".to_owned()).await, StatusCode::CREATED);
    let login = || {
        http.post(format!("{url}/token"))
            .form(&[("username", "poolside"), ("password", password)])
            .send()
    };
    let token: Value = login().await.unwrap().json().await.unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    let calls = (0..24).map(|n| {
        let (http, url, bearer) = (http.clone(), url.clone(), bearer.clone());
        let signup = signup(format!("pooled{n}"));
        async move {
            match n % 6 {
                0 => http
                    .get(format!("{url}/users/me"))
                    .header("Authorization", &bearer)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                1 => http
                    .get(format!("{url}/products"))
                    .header("Authorization", &bearer)
                    .send()
                    .await
                    .unwrap()
                    .status(),
                2 => http
                    .post(format!("{url}/token"))
                    .form(&[("username", "poolside"), ("password", password)])
                    .send()
                    .await
                    .unwrap()
                    .status(),
                3 => signup.await,
                4 => http
                    .post(format!("{url}/password-reset"))
                    .json(&json!({"username": "poolside"}))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                _ => http
                    .delete(format!("{url}/users/me/sessions/none"))
                    .header("Authorization", &bearer)
                    .send()
                    .await
                    .unwrap()
                    .status(),
            }
        }
    });
    for status in join_all(calls).await {
        assert!(status.as_u16() < 500, "{status}");
    }
    let client = mongodb::Client::with_uri_str(&stack.mongodb_uri)
        .await
        .unwrap();
    let status = client
        .database("admin")
        .run_command(mongodb::bson::doc! { "serverStatus": 1 })
        .await
        .unwrap();
    let current = status
        .get_document("connections")
        .unwrap()
        .get_i32("current")
        .unwrap();
    // Six functions use the database (signup, token, me, products, account, recovery), two
    // instances each; per instance 2 pooled + at most 2 monitoring connections to this one
    // server; this client and the stack's seeding client add up to 4 more.
    let bound = 6 * 2 * (2 + 2) + 4;
    assert!(
        current <= bound,
        "{current} connections after parallel traffic; the documented arithmetic allows {bound}"
    );
    stack.stop().await;
    let _ = std::fs::remove_dir_all(&data_dir);
}
