//! Acknowledged means durable: the database server is killed (SIGKILL, no shutdown) right
//! after the API acknowledged sign-ups, logins, revocations and code redemptions, and
//! restarted on the same data, as `make dev` runs it (`--sync-on-commit`). Nothing
//! acknowledged is missing and nothing revoked or spent comes back, in rounds. Needs
//! `SECANTUSD` and the function binaries (`make test` provides both).

use super::database_server::Database;
use crate::support;
use devtools::outbox::messages;
use devtools::stack::{Stack, StackOptions};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a crash-proof passphrase";
const ROUNDS: usize = 3;
const ACCOUNTS_PER_ROUND: usize = 3;

struct Api {
    http: reqwest::Client,
    url: String,
    outbox: PathBuf,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn form(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/token", self.url))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn login(&self, username: &str) -> (StatusCode, Value) {
        self.form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
        ])
        .await
    }

    fn last_code_to(&self, address: &str) -> String {
        messages(&self.outbox)
            .into_iter()
            .rev()
            .find(|mail| mail.to == address)
            .and_then(|mail| mail.code().map(str::to_owned))
            .unwrap_or_else(|| panic!("no code to {address}"))
    }
}

/// What one round made the API acknowledge, to look for after the crash.
struct Acknowledged {
    accounts: Vec<String>,
    spent_codes: Vec<String>,
    revoked_refresh: String,
    logged_out_access: String,
}

async fn acknowledge_a_round(api: &Api, round: usize) -> Acknowledged {
    let mut accounts = Vec::new();
    let mut spent_codes = Vec::new();
    let mut sessions = Vec::new();
    for i in 0..ACCOUNTS_PER_ROUND {
        let username = format!("durable{round}x{i}");
        let address = format!("{username}@example.com");
        let body = json!({"username": username, "password": PASSWORD, "email": address});
        let (status, answer) = api
            .send(reqwest::Method::POST, "/signup", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let code = api.last_code_to(&address);
        let (status, answer) = api
            .send(
                reqwest::Method::POST,
                "/email/verify",
                None,
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        spent_codes.push(code);
        let (status, session) = api.login(&username).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        sessions.push(session);
        accounts.push(username);
    }
    let revoked_refresh = sessions[0]["refresh_token"].as_str().unwrap().to_owned();
    let response = api
        .http
        .post(format!("{}/revoke", api.url))
        .form(&[("token", revoked_refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let logged_out_access = sessions[1]["access_token"].as_str().unwrap().to_owned();
    let (status, answer) = api
        .send(
            reqwest::Method::POST,
            "/users/me/logout",
            Some(&logged_out_access),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Acknowledged {
        accounts,
        spent_codes,
        revoked_refresh,
        logged_out_access,
    }
}

/// Waits until the API signs `username` in again after the restart.
async fn serving_again(api: &Api, username: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = api.login(username).await;
        if status != StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(
                status,
                StatusCode::OK,
                "{username}, acknowledged before the crash, signs in: {body}"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the API did not serve again within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Checks what `round` acknowledged; its spent codes only when `codes` (each check counts
/// toward the per-address redemption limit, so each round's are checked once).
async fn assert_nothing_lost(api: &Api, round: usize, acknowledged: &Acknowledged, codes: bool) {
    for username in &acknowledged.accounts {
        let (status, session) = api.login(username).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "round {round}: {username}: {session}"
        );
        let token = session["access_token"].as_str().unwrap();
        let (status, me) = api
            .send(reqwest::Method::GET, "/users/me", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "round {round}: {me}");
        assert_eq!(
            me["email"]["verified"], true,
            "round {round}: {username}'s redeemed code stays redeemed: {me}"
        );
    }
    for code in acknowledged.spent_codes.iter().filter(|_| codes) {
        let (status, answer) = api
            .send(
                reqwest::Method::POST,
                "/email/verify",
                None,
                Some(json!({"code": code})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "round {round}: a spent code stays spent: {answer}"
        );
    }
    let (status, answer) = api
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &acknowledged.revoked_refresh),
        ])
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "round {round}: a revoked refresh token stays revoked: {answer}"
    );
    let (status, _) = api
        .send(
            reqwest::Method::GET,
            "/users/me",
            Some(&acknowledged.logged_out_access),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "round {round}: an access token signed out everywhere stays refused"
    );
}

#[tokio::test]
async fn what_the_api_acknowledged_survives_a_crash_of_the_database_server_in_rounds() {
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let scratch = std::env::temp_dir().join(format!("crash-{}", uuid::Uuid::new_v4().simple()));
    let mut database = Database::start(secantusd.into(), scratch.join("db"), &["--sync-on-commit"]);
    let keys = shared::tokens::keys::generate_ed25519().unwrap();
    let outbox = scratch.join("outbox");
    let stack = Stack::start(StackOptions {
        template: support::workspace().join("template.yaml"),
        bin_dir: support::bin_dir_with_functions(),
        data_dir: scratch.join("stack"),
        port: 0,
        instances: 1,
        mongodb_uri: Some(database.uri()),
        database_name: "crash".to_owned(),
        secantusd: None,
        keys: Some((keys.private_pem.expose_secret().to_owned(), keys.public_pem)),
        function_log_dir: std::env::var_os("FUNCTION_LOG_DIR").map(PathBuf::from),
        log_requests: true,
        parameter_overrides: Default::default(),
        outbox_dir: Some(outbox.clone()),
        public_host: None,
        federation_secrets: None,
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    })
    .await
    .expect("the local stack starts");
    let api = Api {
        http: reqwest::Client::new(),
        url: format!("http://{}", stack.address),
        outbox,
    };
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let acknowledged = acknowledge_a_round(&api, round).await;
        database.crash();
        database.launch();
        serving_again(&api, &acknowledged.accounts[0]).await;
        rounds.push(acknowledged);
        for (earlier, acknowledged) in rounds.iter().enumerate() {
            assert_nothing_lost(&api, earlier, acknowledged, earlier == round).await;
        }
    }
    stack.stop().await;
}
