//! Password spraying (one password tried over many names) from one address, over HTTP against
//! two instances of the token function: past `LoginFailuresPerIp` failed checks in the
//! hour, that address's password logins are answered `429` unhashed, whatever the number of
//! parallel requests, while other addresses sign in as before.

use super::local_api::start_with_parameters;
use futures_util::future::join_all;
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};

const PASSWORD: &str = "correct horse battery staple";
const LIMIT: usize = 10;

fn client_from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
        .build()
        .unwrap()
}

async fn login(
    client: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Option<u64>) {
    let form = [
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    let response = client
        .post(format!("{url}/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok()?.parse().ok());
    (response.status(), retry_after)
}

#[tokio::test]
async fn parallel_spraying_from_one_address_checks_the_limit_then_nothing_in_rounds() {
    let limit = LIMIT.to_string();
    let local = start_with_parameters(&[("LoginFailuresPerIp", limit.as_str())]).await;
    let url = local.url.clone();
    let mut names = vec!["owner".to_owned(), "office".to_owned()];
    for round in 0..3 {
        names.extend((0..4).map(|k| format!("victim{round}-{k}")));
    }
    for name in &names {
        assert_eq!(
            local.signup(name, PASSWORD).await.status(),
            StatusCode::CREATED
        );
    }
    for round in 0..3_u8 {
        let sprayer = client_from(50 + round);
        // Names that exist (each tried fewer times than its own lockout allows), names that
        // do not, and names no account can have.
        let names: Vec<String> = (0..3 * LIMIT)
            .map(|i| match i % 3 {
                0 => format!("victim{round}-{}", i % 4),
                1 => format!("nobody{round}-{i}"),
                _ => format!("{}{i}", "x".repeat(300)),
            })
            .collect();
        let answers = join_all(
            names
                .iter()
                .map(|name| login(&sprayer, &url, name, "Summer2026!")),
        )
        .await;
        let checked = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::BAD_REQUEST)
            .count();
        let throttled: Vec<u64> = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::TOO_MANY_REQUESTS)
            .map(|(_, retry_after)| retry_after.expect("a Retry-After"))
            .collect();
        assert_eq!(
            (checked, throttled.len()),
            (LIMIT, 2 * LIMIT),
            "round {round}: {answers:?}"
        );
        assert!(throttled.iter().all(|seconds| (1..=3600).contains(seconds)));

        // The bound for a shared address: its own right password waits for the hour too.
        let (status, _) = login(&sprayer, &url, "owner", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "round {round}");
        let (status, _) = login(&client_from(80 + round), &url, "owner", PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "round {round}: another address");
    }

    // Right passwords give their count back: an address that only signs in never waits.
    let office = client_from(90);
    for _ in 0..2 * LIMIT {
        let (status, _) = login(&office, &url, "office", PASSWORD).await;
        assert_eq!(status, StatusCode::OK);
    }
}
