//! Mail sent for real through `aws-config` and the SES v2 SDK to a local AWS API (moto
//! server, `AWS_SECRETS_TEST_ENDPOINT`; `make test` starts one), found through
//! `AWS_ENDPOINT_URL` exactly as a deployed function finds the real service. moto keeps what
//! it accepted; its `/moto-api/data.json` shows the sender, recipients, subject and HTML body.
//!
//! One test function on purpose: it sets process environment variables.

use shared::identity::email_address::EmailAddress;
use shared::mail::message::{MailError, Template};
use shared::mail::sender::Mailer;
use std::io::{Read as _, Write as _};

fn set(name: &str, value: &str) {
    // SAFETY: this binary runs a single test; nothing reads the environment concurrently.
    unsafe { std::env::set_var(name, value) }
}

/// moto's record of every message it accepted.
fn sent_messages(endpoint: &str) -> Vec<serde_json::Value> {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("moto reachable");
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").expect("an HTTP response").1;
    let data: serde_json::Value = serde_json::from_str(body).expect("JSON from moto");
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Needs a local AWS API (`AWS_SECRETS_TEST_ENDPOINT`); `make integration` starts one.
mod live {
    use super::*;

    #[tokio::test]
    async fn mail_goes_through_ses_with_its_sender_recipient_and_body_and_refusals_are_errors() {
        let endpoint = std::env::var("AWS_SECRETS_TEST_ENDPOINT").unwrap_or_else(|_| {
            panic!(
                "AWS_SECRETS_TEST_ENDPOINT is not set. This test needs a local SES: run `make \
                 test`, or start `moto_server -p 5000` (pip install 'moto[server]') and export \
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
        let run = uuid::Uuid::new_v4().simple().to_string();
        let sender = format!("no-reply-{run}@example.com");
        let client = aws_sdk_sesv2::Client::new(&shared::platform::secrets::sdk_config().await);
        client
            .create_email_identity()
            .email_identity(&sender)
            .send()
            .await
            .expect("create_email_identity on moto");

        let to = EmailAddress::parse(&format!("Alice-{run}@Bücher.Example")).unwrap();
        let mail = Template::Verify
            .render(
                &to,
                &[
                    ("username", "<b>alice</b>"),
                    ("code", "7QK2-MXD9-TA4R-W8NP"),
                    ("link", ""),
                    ("minutes", "60"),
                ],
            )
            .unwrap();
        let mailer = Mailer::from_source(&[("MAIL_FROM", sender.as_str())]).unwrap();
        mailer.send(&mail).await.expect("SES accepted the message");

        let messages = sent_messages(&endpoint);
        let ours: Vec<_> = messages
            .iter()
            .filter(|message| message["source"] == sender.as_str())
            .collect();
        assert_eq!(ours.len(), 1, "{messages:?}");
        let message = ours[0];
        assert_eq!(
            message["destinations"]["ToAddresses"],
            serde_json::json!([format!("Alice-{run}@xn--bcher-kva.example")]),
            "the domain goes out in ASCII"
        );
        assert_eq!(message["subject"], "Verify your email address");
        let body = message["body"].as_str().unwrap();
        assert!(body.contains("7QK2-MXD9-TA4R-W8NP"), "{body}");
        assert!(body.contains("&lt;b&gt;alice&lt;/b&gt;"), "{body}");

        let unverified = Mailer::from_source(&[("MAIL_FROM", "someone@unverified.example")])
            .unwrap()
            .send(&mail)
            .await;
        match unverified {
            Err(MailError::Sending(reason)) => {
                assert!(reason.contains("MessageRejected"), "{reason}")
            }
            other => panic!("an unverified sender must be refused, got {other:?}"),
        }
        assert_eq!(sent_messages(&endpoint).len(), messages.len());
    }
}
