//! The steps the mail-sending routes share: sending a verification code to an address,
//! sending a notice, and the rate limits they answer `429 rate_limited` with.

use crate::abuse::rate_limits::{self, Decision, Limit, RateLimitStore};
use crate::identity::account_id::AccountId;
use crate::identity::credentials::Username;
use crate::identity::email_address::EmailAddress;
use crate::mail::email_codes::{self, EmailCode, EmailCodeStore, Purpose};
use crate::mail::message::{Mail, Template};
use crate::mail::sender::{MailSettings, Mailer};
use crate::platform::database::StoreError;
use crate::platform::http::ApiError;
use crate::platform::metrics::{Metrics, SecurityEvent};
use secrecy::ExposeSecret as _;
use std::net::IpAddr;
use std::time::SystemTime;

/// The account's addresses as the API shows them: `null` without any; otherwise the
/// verified address (or, before the first verification, the waiting one) with `verified`,
/// and `pending_address` when a change waits for its code.
pub fn email_view(user: &crate::identity::users::User) -> serde_json::Value {
    match (&user.email, &user.pending_email) {
        (None, None) => serde_json::Value::Null,
        (Some(verified), pending) => serde_json::json!({
            "address": verified.as_str(),
            "verified": true,
            "pending_address": pending.as_ref().map(EmailAddress::as_str),
        }),
        (None, Some(pending)) => serde_json::json!({
            "address": pending.as_str(),
            "verified": false,
            "pending_address": null,
        }),
    }
}

/// The address in `field`, checked and normalised; `422` naming the field when it is not one.
pub fn email_field(
    fields: &serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<EmailAddress, ApiError> {
    let raw = crate::platform::http::string_field(fields, field)?;
    EmailAddress::parse(raw).map_err(|error| ApiError::InvalidField {
        field,
        message: error.to_string(),
    })
}

/// The subject an IP's limits count under: the address itself for IPv4, its /56 for IPv6
/// (what providers commonly give one subscriber, so rotating addresses within it buys
/// nothing).
pub fn ip_subject(ip: Option<&str>) -> String {
    // An IPv4 address written as IPv6 (`::ffff:203.0.113.7`) counts as itself.
    match ip
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
    {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/56", s[0], s[1], s[2], s[3] & 0xff00)
        }
        None => "unknown".to_owned(),
    }
}

/// Counts one hit of `subject` under `limit`; over it is `429 rate_limited`.
pub async fn limit(
    store: &impl RateLimitStore,
    metrics: &Metrics,
    limit: &Limit,
    subject: &str,
    now: SystemTime,
) -> Result<(), ApiError> {
    match allowed(store, metrics, limit, subject, now).await? {
        Decision::Allowed => Ok(()),
        Decision::Refused {
            retry_after_seconds,
        } => Err(ApiError::RateLimited {
            retry_after_seconds,
        }),
    }
}

/// Counts one hit of `subject` under `limit` and says whether it is within it.
pub async fn allowed(
    store: &impl RateLimitStore,
    metrics: &Metrics,
    limit: &Limit,
    subject: &str,
    now: SystemTime,
) -> Result<Decision, ApiError> {
    let decision = rate_limits::hit(store, limit, subject, now)
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    if decision != Decision::Allowed {
        tracing::info!(limit = limit.name, "rate limit reached");
        metrics.record(SecurityEvent::RateLimited);
    }
    Ok(decision)
}

/// One account's side of a message: whom it greets and where it goes.
pub struct Recipient<'a> {
    /// The account.
    pub account: &'a AccountId,
    /// Its name, for the greeting.
    pub username: &'a Username,
    /// The address.
    pub address: &'a EmailAddress,
}

/// What sending needs: where codes are kept, the mailer, the settings and the metrics.
pub struct Outgoing<'a, C> {
    /// Where codes are kept.
    pub codes: &'a C,
    /// Where mail goes.
    pub mailer: &'a Mailer,
    /// Lifetimes and the frontend URL.
    pub settings: &'a MailSettings,
    /// Counts failed deliveries.
    pub metrics: &'a Metrics,
    /// The custom-message hook, when the function calls one.
    #[cfg(feature = "hooks")]
    pub hooks: Option<&'a crate::hooks::Hooks>,
    /// Whether a verification code is the sign-up's (the hook's `CustomMessage_SignUp`).
    #[cfg(feature = "hooks")]
    pub at_sign_up: bool,
}

/// Why a code was not sent.
#[derive(Debug)]
pub enum SendError {
    /// Storing the code failed.
    Store(StoreError),
    /// The mailer refused (logged and counted).
    Mail,
    /// No randomness, or a template without a value (logged).
    Internal,
}

impl<'a, C> Outgoing<'a, C> {
    /// Sends through `mailer` with `settings`, keeping codes in `codes` and counting failed
    /// deliveries in `metrics`.
    pub fn new(
        codes: &'a C,
        mailer: &'a Mailer,
        settings: &'a MailSettings,
        metrics: &'a Metrics,
    ) -> Self {
        Self {
            codes,
            mailer,
            settings,
            metrics,
            #[cfg(feature = "hooks")]
            hooks: None,
            #[cfg(feature = "hooks")]
            at_sign_up: false,
        }
    }

    /// Messages go through the custom-message hook of `hooks` (when it is on).
    #[cfg(feature = "hooks")]
    pub fn with_hooks(mut self, hooks: &'a crate::hooks::Hooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// The verification code is the one of a sign-up.
    #[cfg(feature = "hooks")]
    pub fn at_sign_up(mut self) -> Self {
        self.at_sign_up = true;
        self
    }

    /// `mail` as the custom-message hook rewrites it, or as it is.
    #[cfg(feature = "hooks")]
    async fn custom(&self, mail: Mail, about: About<'_>) -> Mail {
        use super::custom::{Content, Occasion, customized};
        let Some(hooks) = self.hooks else {
            return mail;
        };
        let occasion = match about.template {
            Template::Verify if self.at_sign_up => Occasion::SignUp,
            Template::Verify => Occasion::AddressChange,
            Template::Reset => Occasion::PasswordReset,
            Template::Notice => Occasion::Notice,
        };
        let content = Content {
            occasion,
            username: about.to.username.as_str(),
            account: about.to.account.as_str(),
            code: about.code,
            link: about.link.filter(|link| !link.is_empty()),
            notice: about.notice,
        };
        customized(hooks, mail, content).await
    }

    #[cfg(not(feature = "hooks"))]
    async fn custom(&self, mail: Mail, _about: About<'_>) -> Mail {
        mail
    }
}

/// What a message is about, for the custom-message hook.
#[cfg_attr(not(feature = "hooks"), allow(dead_code))]
struct About<'a> {
    template: Template,
    to: &'a Recipient<'a>,
    code: Option<&'a str>,
    link: Option<&'a str>,
    notice: Option<&'a str>,
}

impl<C: EmailCodeStore> Outgoing<'_, C> {
    /// Stores a new verification code for `to.address`, bound to the account's token version
    /// `issued_under`, and mails it. When sending fails, the code is deleted again and the
    /// answer is `503 email_unavailable`.
    pub async fn send_verification(
        &self,
        to: &Recipient<'_>,
        issued_under: u64,
        now: SystemTime,
    ) -> Result<(), ApiError> {
        let code = EmailCode {
            account: to.account.clone(),
            purpose: Purpose::Verify,
            address: Some(to.address.clone()),
            expires_at: now + self.settings.verification_ttl,
            token_version: issued_under,
            issued_by: None,
        };
        self.send_code(to, &code, Template::Verify, now)
            .await
            .map_err(|error| match error {
                SendError::Store(error) => ApiError::from_store(&error),
                SendError::Mail => ApiError::EmailUnavailable,
                SendError::Internal => ApiError::Internal,
            })
    }

    /// Stores `code` under a new random code and mails it with `template` (`verify-email`
    /// or `reset-password` links); the stored code is deleted again when the mail fails.
    pub async fn send_code(
        &self,
        to: &Recipient<'_>,
        code: &EmailCode,
        template: Template,
        now: SystemTime,
    ) -> Result<(), SendError> {
        let new = email_codes::generate().map_err(|error| {
            tracing::error!(%error, "no code");
            SendError::Internal
        })?;
        let text = new.code.expose_secret();
        let (page, lifetime) = match code.purpose {
            Purpose::Verify => ("verify-email", self.settings.verification_ttl),
            Purpose::Reset | Purpose::AdminReset => ("reset-password", self.settings.reset_ttl),
        };
        let link = self.settings.link(page, text);
        let minutes = (lifetime.as_secs() / 60).to_string();
        let mail = template
            .render(
                to.address,
                &[
                    ("username", to.username.as_str()),
                    ("code", text),
                    ("link", &link),
                    ("minutes", &minutes),
                ],
            )
            .map_err(|error| {
                tracing::error!(%error, "mail template");
                SendError::Internal
            })?;
        let about = About {
            template,
            to,
            code: Some(text),
            link: Some(&link),
            notice: None,
        };
        let mail = self.custom(mail, about).await;
        self.codes
            .create(&new.hash, code)
            .await
            .map_err(SendError::Store)?;
        if let Err(error) = self.mailer.send(&mail).await {
            tracing::error!(%error, ?template, "mail not sent");
            self.metrics.record(SecurityEvent::MailFailed);
            if let Err(error) = self.codes.redeem(&new.hash, code.purpose, now).await {
                tracing::warn!(%error, "unsent code not deleted (it expires on its own)");
            }
            return Err(SendError::Mail);
        }
        Ok(())
    }

    /// Mails a notice (`what` happened) to `to`; a failure is logged and counted, never an
    /// answer: the change it tells about is already made.
    pub async fn send_notice(&self, to: &Recipient<'_>, what: &str) {
        let mail = match Template::Notice.render(
            to.address,
            &[("username", to.username.as_str()), ("what", what)],
        ) {
            Ok(mail) => mail,
            Err(error) => {
                tracing::error!(%error, "notice template");
                return;
            }
        };
        let about = About {
            template: Template::Notice,
            to,
            code: None,
            link: None,
            notice: Some(what),
        };
        let mail = self.custom(mail, about).await;
        if let Err(error) = self.mailer.send(&mail).await {
            tracing::error!(%error, "notice not sent");
            self.metrics.record(SecurityEvent::MailFailed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_56_and_ipv4_by_address() {
        assert_eq!(ip_subject(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(
            ip_subject(Some("2001:db8:1:2:aaaa::1")),
            ip_subject(Some("2001:db8:1:ff:bbbb::9"))
        );
        assert_eq!(ip_subject(Some("2001:db8:1:2ab::1")), "2001:db8:1:200::/56");
        assert_ne!(
            ip_subject(Some("2001:db8:1:2::1")),
            ip_subject(Some("2001:db8:1:302::1"))
        );
        assert_eq!(ip_subject(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_ne!(
            ip_subject(Some("::ffff:203.0.113.7")),
            ip_subject(Some("::ffff:198.51.100.9"))
        );
        assert_eq!(ip_subject(None), "unknown");
        assert_eq!(ip_subject(Some("not an ip")), "unknown");
    }
}
