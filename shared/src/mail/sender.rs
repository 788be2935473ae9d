//! Delivering mail: through Amazon SES v2 when deployed, into the local outbox under
//! `make dev` and the tests (`MAIL_OUTBOX_DIR`), or nowhere when no sender is configured
//! (`MAIL_FROM` empty: the routes that must send answer `503 email_unavailable`). Also the
//! settings every sending route shares: code lifetimes and the frontend URL links are built on.

use crate::mail::message::{LocalOutbox, Mail, MailError};
use crate::platform::config::{ConfigError, Source};
use std::time::Duration;

/// The sender, `Name <address>` or a bare address verified in SES.
pub const MAIL_FROM: &str = "MAIL_FROM";
/// A folder to write `.eml` files into instead of sending (local development and tests).
pub const MAIL_OUTBOX_DIR: &str = "MAIL_OUTBOX_DIR";
/// An SES configuration set for sending events (optional).
pub const SES_CONFIGURATION_SET: &str = "SES_CONFIGURATION_SET";
/// The base URL of the application whose pages take the codes (optional): links are
/// `<FRONTEND_URL>/verify-email#code=…` and `<FRONTEND_URL>/reset-password#code=…`.
pub const FRONTEND_URL: &str = "FRONTEND_URL";
/// Seconds a verification code lasts.
pub const VERIFICATION_CODE_TTL_SECONDS: &str = "VERIFICATION_CODE_TTL_SECONDS";
/// Seconds a password-reset code lasts.
pub const RESET_CODE_TTL_SECONDS: &str = "RESET_CODE_TTL_SECONDS";

/// What the sending routes need besides the mailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `FRONTEND_URL` without a trailing slash; empty: messages carry the code only.
    pub frontend_url: String,
    /// How long a verification code lasts (default 1 hour).
    pub verification_ttl: Duration,
    /// How long a reset code lasts (default 15 minutes).
    pub reset_ttl: Duration,
}

impl MailSettings {
    /// Reads `FRONTEND_URL`, `VERIFICATION_CODE_TTL_SECONDS`, `RESET_CODE_TTL_SECONDS`.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let frontend_url = source
            .get(FRONTEND_URL)
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        if !(frontend_url.is_empty()
            || frontend_url.starts_with("https://")
            || frontend_url.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                var: FRONTEND_URL,
                reason: "must be an http(s) URL or empty".to_owned(),
            });
        }
        Ok(Self {
            frontend_url,
            verification_ttl: seconds(source, VERIFICATION_CODE_TTL_SECONDS, 60 * 60)?,
            reset_ttl: seconds(source, RESET_CODE_TTL_SECONDS, 15 * 60)?,
        })
    }

    /// The link for `page` (`verify-email`, `reset-password`) carrying `code` in the
    /// fragment, which browsers never send to a server; empty without a frontend URL.
    pub fn link(&self, page: &str, code: &str) -> String {
        if self.frontend_url.is_empty() {
            String::new()
        } else {
            format!("{}/{page}#code={code}", self.frontend_url)
        }
    }
}

fn seconds(source: &impl Source, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
    let Some(raw) = source.get(var) else {
        return Ok(Duration::from_secs(default));
    };
    match raw.parse::<u64>() {
        Ok(value) if (60..=7 * 24 * 60 * 60).contains(&value) => Ok(Duration::from_secs(value)),
        _ => Err(ConfigError::Invalid {
            var,
            reason: "must be whole seconds from 60 to 604800".to_owned(),
        }),
    }
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// No sender configured: every delivery fails with [`MailError::NotConfigured`].
    Off,
    /// `.eml` files in a folder.
    Outbox(LocalOutbox),
    /// Amazon SES v2.
    #[cfg(feature = "mail-ses")]
    Ses(ses::SesMailer),
    /// Kept in memory, for handler tests.
    #[cfg(any(test, feature = "test-support"))]
    Recording(crate::testing::RecordingMailer),
}

impl Mailer {
    /// The mailer the environment names: the outbox when `MAIL_OUTBOX_DIR` is set, SES when
    /// `MAIL_FROM` is (and this function links it), otherwise off.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let from = source.get(MAIL_FROM).unwrap_or_default();
        if from.is_empty() {
            return Ok(Self::Off);
        }
        if from.contains(['\r', '\n']) {
            return Err(ConfigError::Invalid {
                var: MAIL_FROM,
                reason: "must be one line".to_owned(),
            });
        }
        if let Some(dir) = source.get(MAIL_OUTBOX_DIR).filter(|dir| !dir.is_empty()) {
            return Ok(Self::Outbox(LocalOutbox::new(dir, &from)));
        }
        #[cfg(feature = "mail-ses")]
        {
            let configuration_set = source
                .get(SES_CONFIGURATION_SET)
                .filter(|name| !name.is_empty());
            Ok(Self::Ses(ses::SesMailer::new(from, configuration_set)))
        }
        #[cfg(not(feature = "mail-ses"))]
        Err(ConfigError::Invalid {
            var: MAIL_FROM,
            reason: "this function does not send mail".to_owned(),
        })
    }

    /// Whether a delivery can succeed at all.
    pub fn is_configured(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Delivers `mail`.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            Self::Off => Err(MailError::NotConfigured),
            Self::Outbox(outbox) => outbox.deliver(mail).map(|_| ()),
            #[cfg(feature = "mail-ses")]
            Self::Ses(ses) => ses.send(mail).await,
            #[cfg(any(test, feature = "test-support"))]
            Self::Recording(recording) => recording.send(mail).await,
        }
    }
}

#[cfg(feature = "mail-ses")]
pub mod ses {
    //! Sending through Amazon SES v2 (`SendEmail`, simple content). The client is built on
    //! first use, through the same `aws-config` chain as the Secrets Manager client, so a
    //! cold start that sends nothing pays nothing for it.

    use crate::mail::message::{Mail, MailError};
    use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
    use std::sync::Arc;
    use tokio::sync::OnceCell;

    /// Sends from one identity, optionally through a configuration set.
    #[derive(Debug, Clone)]
    pub struct SesMailer {
        from: String,
        configuration_set: Option<String>,
        client: Arc<OnceCell<aws_sdk_sesv2::Client>>,
    }

    impl SesMailer {
        /// A mailer sending as `from`.
        pub fn new(from: String, configuration_set: Option<String>) -> Self {
            Self {
                from,
                configuration_set,
                client: Arc::new(OnceCell::new()),
            }
        }

        /// Sends `mail` as one `SendEmail` call.
        pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
            let client = self
                .client
                .get_or_init(|| async {
                    aws_sdk_sesv2::Client::new(&crate::platform::secrets::sdk_config().await)
                })
                .await;
            let utf8 = |text: &str| {
                Content::builder()
                    .data(text)
                    .charset("UTF-8")
                    .build()
                    .map_err(|error| MailError::Sending(error.to_string()))
            };
            let message = Message::builder()
                .subject(utf8(&mail.subject)?)
                .body(
                    Body::builder()
                        .text(utf8(&mail.text)?)
                        .html(utf8(&mail.html)?)
                        .build(),
                )
                .build();
            client
                .send_email()
                .from_email_address(&self.from)
                .destination(
                    Destination::builder()
                        .to_addresses(mail.to.for_sending())
                        .build(),
                )
                .content(EmailContent::builder().simple(message).build())
                .set_configuration_set_name(self.configuration_set.clone())
                .send()
                .await
                .map(|_| ())
                .map_err(|error| {
                    // The code and kind only: SES messages can name the recipient.
                    use aws_sdk_sesv2::error::ProvideErrorMetadata as _;
                    let code = error.code().unwrap_or("no error code").to_owned();
                    let kind = match &error {
                        aws_sdk_sesv2::error::SdkError::ServiceError(_) => "refused",
                        aws_sdk_sesv2::error::SdkError::TimeoutError(_) => "timed out",
                        aws_sdk_sesv2::error::SdkError::DispatchFailure(_) => "unreachable",
                        _ => "failed",
                    };
                    MailError::Sending(format!("SES {kind}: {code}"))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_have_defaults_and_links_carry_the_code_in_the_fragment() {
        let defaults = MailSettings::from_source(&[]).unwrap();
        assert_eq!(defaults.verification_ttl, Duration::from_secs(3600));
        assert_eq!(defaults.reset_ttl, Duration::from_secs(900));
        assert_eq!(defaults.link("verify-email", "ABCD"), "");
        let set = MailSettings::from_source(&[
            (FRONTEND_URL, "https://app.example/"),
            (RESET_CODE_TTL_SECONDS, "600"),
        ])
        .unwrap();
        assert_eq!(
            set.link("reset-password", "ABCD"),
            "https://app.example/reset-password#code=ABCD"
        );
        assert_eq!(set.reset_ttl, Duration::from_secs(600));
        assert!(MailSettings::from_source(&[(FRONTEND_URL, "javascript:alert(1)")]).is_err());
        assert!(MailSettings::from_source(&[(RESET_CODE_TTL_SECONDS, "5")]).is_err());
    }

    #[test]
    fn the_environment_picks_the_mailer() {
        assert!(!Mailer::from_source(&[]).unwrap().is_configured());
        let outbox = Mailer::from_source(&[
            (MAIL_FROM, "no-reply@example.com"),
            (MAIL_OUTBOX_DIR, "/tmp/outbox"),
        ])
        .unwrap();
        assert!(matches!(outbox, Mailer::Outbox(_)));
        #[cfg(feature = "mail-ses")]
        {
            let ses = Mailer::from_source(&[(MAIL_FROM, "no-reply@example.com")]).unwrap();
            assert!(matches!(ses, Mailer::Ses(_)));
        }
        assert!(
            Mailer::from_source(&[(MAIL_FROM, "a@example.com\r\nBcc: x@example.com")]).is_err()
        );
    }
}
