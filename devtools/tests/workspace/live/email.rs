//! Email over HTTP through the local API, reading mail from the outbox the functions write
//! (as under `make dev`): verifying an address, changing it, and getting back in with a
//! password reset; the reset request's answer for unknown, unverified and verified names;
//! codes refused alike; parallel redemptions and rate limits under parallel requests, from
//! several source addresses (any 127.0.0.0/8 address reaches the loopback listener).

use super::local_api::{Local, start};
use devtools::outbox::{OutboxMail, messages};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const NEW: &str = "a new and better passphrase";

/// A client whose connections come from `127.0.0.<n>`.
fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

impl Local {
    fn mail(&self) -> Vec<OutboxMail> {
        messages(&self.outbox)
    }

    /// The newest message to `to`.
    fn last_mail_to(&self, to: &str) -> OutboxMail {
        self.mail()
            .into_iter()
            .rev()
            .find(|mail| mail.to == to)
            .unwrap_or_else(|| panic!("no mail to {to} in {}", self.outbox.display()))
    }

    async fn send_json(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        token: Option<&Value>,
        body: &Value,
    ) -> (StatusCode, String) {
        let mut request = client
            .request(method, format!("{}{path}", self.url))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token.as_str().unwrap());
        }
        let response = request.send().await.unwrap();
        (response.status(), response.text().await.unwrap())
    }

    async fn public(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let (status, text) = self
            .send_json(&self.http, reqwest::Method::POST, path, None, &body)
            .await;
        (status, serde_json::from_str(&text).unwrap())
    }

    async fn me(&self, access_token: &Value) -> Value {
        let bearer = format!("Bearer {}", access_token.as_str().unwrap());
        let response = self.get("/users/me", Some(&bearer)).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Signs `username` up with `address` and redeems the code from the outbox.
    async fn verified_account(&self, username: &str, address: &str) {
        let body = json!({"username": username, "password": PASSWORD, "email": address});
        let (status, answer) = self.public("/signup", body).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        assert_eq!(answer["email"]["verification_sent"], true);
        let mail = self.last_mail_to(address);
        assert_eq!(mail.subject, "Verify your email address");
        let code = mail.code().expect("a code").to_owned();
        let (status, answer) = self.public("/email/verify", json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// Asks for a reset of `username` and returns the code mailed to `address`.
    async fn reset_code(&self, username: &str, address: &str) -> String {
        let before = self.mail().len();
        let (status, _) = self
            .public("/password-reset", json!({"username": username}))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(self.mail().len(), before + 1);
        let mail = self.last_mail_to(address);
        assert_eq!(mail.subject, "Reset your password");
        mail.code().expect("a code").to_owned()
    }
}

#[tokio::test]
async fn a_user_who_forgot_their_password_gets_back_in_by_email() {
    let local = start().await;
    local.verified_account("alice", "alice@example.com").await;
    let session = local.login("alice", PASSWORD).await;
    let me = local.me(&session["access_token"]).await;
    assert_eq!(
        me["email"],
        json!({"address": "alice@example.com", "verified": true, "pending_address": null})
    );

    let code = local.reset_code("alice", "alice@example.com").await;
    let (status, answer) = local
        .public(
            "/password-reset/confirm",
            json!({"code": code, "new_password": NEW}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (status, _) = local.refresh(&session["refresh_token"]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the old session is dead");
    assert_ne!(
        local.me_status(&session["access_token"]).await,
        StatusCode::OK,
        "the old access token is refused"
    );
    assert_eq!(
        local.token("alice", PASSWORD).await.status(),
        StatusCode::BAD_REQUEST
    );
    let fresh = local.login("alice", NEW).await;
    assert_eq!(
        local.me_status(&fresh["access_token"]).await,
        StatusCode::OK
    );
    let notice = local.last_mail_to("alice@example.com");
    assert!(
        notice.text.contains("password was reset"),
        "{}",
        notice.text
    );
    let (status, answer) = local
        .public(
            "/password-reset/confirm",
            json!({"code": code, "new_password": "yet another passphrase"}),
        )
        .await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_code"))
    );
}

#[tokio::test]
async fn an_address_change_waits_for_its_code_and_the_old_address_is_told() {
    let local = start().await;
    local.verified_account("bob", "bob@old.example").await;
    let token = local.login("bob", PASSWORD).await["access_token"].clone();
    let (status, text) = local
        .send_json(
            &local.http,
            reqwest::Method::PUT,
            "/users/me/email",
            Some(&token),
            &json!({"email": "Bob@New.Example", "current_password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    assert_eq!(
        local.me(&token).await["email"],
        json!({"address": "bob@old.example", "verified": true, "pending_address": "Bob@new.example"})
    );
    let (status, _) = local
        .public("/password-reset", json!({"email": "bob@new.example"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(
        local
            .mail()
            .iter()
            .all(|mail| mail.subject != "Reset your password"),
        "an unverified address gets no reset code"
    );

    let code = local
        .last_mail_to("Bob@new.example")
        .code()
        .unwrap()
        .to_owned();
    let (status, _) = local.public("/email/verify", json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        local.me(&token).await["email"],
        json!({"address": "Bob@new.example", "verified": true, "pending_address": null})
    );
    let notice = local.last_mail_to("bob@old.example");
    assert_eq!(notice.subject, "A change to your account");
    assert!(
        notice.text.contains("changed to Bob@new.example"),
        "{}",
        notice.text
    );
}

#[tokio::test]
async fn wrong_spent_and_expired_codes_get_the_same_answer() {
    let local = start().await;
    local.verified_account("carol", "carol@example.com").await;
    let spent = local.reset_code("carol", "carol@example.com").await;
    let (status, _) = local
        .public(
            "/password-reset/confirm",
            json!({"code": spent, "new_password": NEW}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A code past its expiry, stored as the function stores codes (the TTL index has not
    // removed it yet).
    let expired = "7QK2-MXD9-TA4R-W8NP";
    let account = local.users().await[0].get_object_id("_id").unwrap();
    let past = mongodb::bson::DateTime::from_system_time(
        std::time::SystemTime::now() - Duration::from_secs(1),
    );
    local
        .database
        .collection::<mongodb::bson::Document>("email_codes")
        .insert_one(mongodb::bson::doc! {
            "_id": shared::mail::email_codes::hash(expired).unwrap(),
            "account": account.to_hex(),
            "purpose": "reset",
            "address": "carol@example.com",
            "expires_at": past,
        })
        .await
        .unwrap();

    let mut answers = Vec::new();
    for code in [spent.as_str(), expired, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "not a code"] {
        let body = json!({"code": code, "new_password": "yet another passphrase"});
        answers.push(
            local
                .send_json(
                    &local.http,
                    reqwest::Method::POST,
                    "/password-reset/confirm",
                    None,
                    &body,
                )
                .await,
        );
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST);
    assert!(answers[0].1.contains("invalid_code"));
}

#[tokio::test]
async fn ten_parallel_redemptions_of_one_code_succeed_once() {
    let local = std::sync::Arc::new(start().await);
    for round in 0..3 {
        let username = format!("racer{round}");
        let address = format!("racer{round}@example.com");
        let body = json!({"username": username, "password": PASSWORD, "email": address});
        let (status, _) = local.public("/signup", body).await;
        assert_eq!(status, StatusCode::CREATED);
        let verify = local.last_mail_to(&address).code().unwrap().to_owned();
        let statuses = parallel(&local, "/email/verify", json!({"code": verify})).await;
        assert_eq!(
            count(&statuses, StatusCode::OK),
            1,
            "verify round {round}: {statuses:?}"
        );

        let reset = local.reset_code(&username, &address).await;
        let body = json!({"code": reset, "new_password": NEW});
        let statuses = parallel(&local, "/password-reset/confirm", body).await;
        assert_eq!(
            count(&statuses, StatusCode::OK),
            1,
            "reset round {round}: {statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|s| [200, 400, 429].contains(&s.as_u16())),
            "{statuses:?}"
        );
    }
}

async fn parallel(local: &std::sync::Arc<Local>, path: &str, body: Value) -> Vec<StatusCode> {
    let attempts = (0..10_u8).map(|n| {
        let (local, body, path) = (local.clone(), body.clone(), path.to_owned());
        tokio::spawn(async move {
            let client = client_from(100 + n);
            let (status, _) = local
                .send_json(&client, reqwest::Method::POST, &path, None, &body)
                .await;
            status
        })
    });
    futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn count(statuses: &[StatusCode], wanted: StatusCode) -> usize {
    statuses.iter().filter(|status| **status == wanted).count()
}

#[tokio::test]
async fn rate_limits_hold_under_parallel_requests() {
    let local = std::sync::Arc::new(start().await);
    local.verified_account("dave", "dave@example.com").await;
    let before = local.mail().len();

    // Per account: sixteen parallel requests from sixteen addresses mail three codes, and
    // every one of them gets the same answer.
    let requests = (0..16_u8).map(|n| {
        let local = local.clone();
        tokio::spawn(async move {
            let client = client_from(20 + n);
            local
                .send_json(
                    &client,
                    reqwest::Method::POST,
                    "/password-reset",
                    None,
                    &json!({"username": "dave"}),
                )
                .await
        })
    });
    let answers: Vec<_> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(
        answers.iter().all(|answer| answer == &answers[0]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    let per_account = shared::abuse::rate_limits::RESET_MAILS_PER_ACCOUNT.max;
    assert_eq!(
        local.mail().len() - before,
        usize::try_from(per_account).unwrap()
    );

    // Per IP: sixteen parallel requests from one address, ten accepted and six refused.
    let client = client_from(77);
    let requests = (0..16).map(|n| {
        let (local, client) = (local.clone(), client.clone());
        tokio::spawn(async move {
            let body = json!({"username": format!("nobody{n}")});
            local
                .send_json(
                    &client,
                    reqwest::Method::POST,
                    "/password-reset",
                    None,
                    &body,
                )
                .await
                .0
        })
    });
    let statuses: Vec<StatusCode> = futures_util::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let per_ip = usize::try_from(shared::abuse::rate_limits::RESET_REQUESTS_PER_IP.max).unwrap();
    assert_eq!(
        count(&statuses, StatusCode::ACCEPTED),
        per_ip,
        "{statuses:?}"
    );
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 16 - per_ip);
}

/// The reset request for an unknown name, a name without a verified address and a name with
/// one: byte-identical answers, and medians over HTTP within 25 % of each other.
#[tokio::test]
async fn a_reset_request_tells_nothing_by_its_bytes_or_its_time() {
    let local = start().await;
    let rounds = 7_u8;
    // A verified account per round, so every round's request really sends a code.
    for round in 0..rounds {
        let address = format!("erin{round}@example.com");
        local
            .verified_account(&format!("erin{round}"), &address)
            .await;
    }
    let (status, _) = local
        .public(
            "/signup",
            json!({"username": "frank", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); 3];
    let mut answers = Vec::new();
    for round in 0..rounds {
        let verified = format!("erin{round}");
        for (i, name) in ["nobody-at-all", "frank", verified.as_str()]
            .iter()
            .enumerate()
        {
            let client = client_from(30 + round * 3 + u8::try_from(i).unwrap());
            let started = Instant::now();
            let answer = local
                .send_json(
                    &client,
                    reqwest::Method::POST,
                    "/password-reset",
                    None,
                    &json!({"username": name}),
                )
                .await;
            times[i].push(started.elapsed());
            answers.push(answer);
        }
    }
    assert!(
        answers.iter().all(|answer| answer == &answers[0]),
        "{answers:?}"
    );
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|samples| {
            samples.sort();
            samples[samples.len() / 2]
        })
        .collect();
    let fastest = *medians.iter().min().unwrap();
    let slowest = *medians.iter().max().unwrap();
    eprintln!("reset request medians (unknown, no address, verified): {medians:?}");
    assert!(
        slowest.as_secs_f64() <= fastest.as_secs_f64() * 1.25,
        "medians {medians:?} differ by more than 25 %"
    );
    let mails = local
        .mail()
        .iter()
        .filter(|mail| mail.subject == "Reset your password")
        .count();
    assert_eq!(
        mails,
        usize::from(rounds),
        "each verified account got its code"
    );
}
