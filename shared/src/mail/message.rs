//! Messages to users: the templates in `shared/templates/mail` (plain text and HTML),
//! rendered with every value HTML-escaped in the HTML part, and the local outbox that
//! `make dev` and the tests deliver to instead of sending (`.eml` files a developer opens).

use crate::identity::email_address::EmailAddress;
use std::path::{Path, PathBuf};

/// A message ready to deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient.
    pub to: EmailAddress,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// One of the messages this service sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A code (and link) that verifies an address.
    Verify,
    /// A code (and link) that resets a password.
    Reset,
    /// A notice that something changed on the account (`what`).
    Notice,
}

impl Template {
    fn parts(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Verify => (
                "Verify your email address",
                include_str!("../../templates/mail/verify.txt"),
                include_str!("../../templates/mail/verify.html"),
            ),
            Self::Reset => (
                "Reset your password",
                include_str!("../../templates/mail/reset.txt"),
                include_str!("../../templates/mail/reset.html"),
            ),
            Self::Notice => (
                "A change to your account",
                include_str!("../../templates/mail/notice.txt"),
                include_str!("../../templates/mail/notice.html"),
            ),
        }
    }

    /// The message to `to` with each `{{name}}` replaced by its value: as given in the text
    /// part, HTML-escaped in the HTML part, so nothing a user chose (a username) is ever
    /// rendered as markup. A placeholder without a value is an error, never sent as is. A
    /// section `{{#name}}…{{/name}}` is kept only when `name` has a non-empty value (the link,
    /// when a frontend URL is configured).
    pub fn render(self, to: &EmailAddress, values: &[(&str, &str)]) -> Result<Mail, MailError> {
        let (subject, text, html) = self.parts();
        Ok(Mail {
            to: to.clone(),
            subject: subject.to_owned(),
            text: fill(text, values, |value| value.to_owned())?,
            html: fill(html, values, html_escape)?,
        })
    }
}

/// Why a message could not be rendered or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A template names a value the caller did not give.
    #[error("template value {0} missing")]
    MissingValue(String),
    /// The outbox could not be written.
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
    /// The mail service refused or could not be reached.
    #[error("sending: {0}")]
    Sending(String),
    /// No sender is configured (`MAIL_FROM` empty).
    #[error("email is not configured (MAIL_FROM is empty)")]
    NotConfigured,
}

fn value_of<'a>(values: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    values
        .iter()
        .find_map(|(key, value)| (*key == name).then_some(*value))
}

fn sections(template: &str, values: &[(&str, &str)]) -> Result<String, MailError> {
    let mut out = template.to_owned();
    while let Some(start) = out.find("{{#") {
        let unclosed = || MailError::MissingValue("(unclosed section)".to_owned());
        let name_end = start + out[start..].find("}}").ok_or_else(unclosed)?;
        let name = out[start + 3..name_end].to_owned();
        let close = format!("{{{{/{name}}}}}");
        let close_at = name_end + out[name_end..].find(&close).ok_or_else(unclosed)?;
        let keep = value_of(values, &name).is_some_and(|value| !value.is_empty());
        let inner = if keep {
            out[name_end + 2..close_at].to_owned()
        } else {
            String::new()
        };
        out = format!("{}{inner}{}", &out[..start], &out[close_at + close.len()..]);
    }
    Ok(out)
}

fn fill(
    template: &str,
    values: &[(&str, &str)],
    escape: impl Fn(&str) -> String,
) -> Result<String, MailError> {
    let template = sections(template, values)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| MailError::MissingValue("(unclosed)".to_owned()))?;
        let name = &after[..end];
        let value =
            value_of(values, name).ok_or_else(|| MailError::MissingValue(name.to_owned()))?;
        out.push_str(&escape(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `text` safe inside HTML text and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Delivers messages as `.eml` files in a folder (`.local/outbox` under `make dev`), never
/// sending them anywhere.
#[derive(Debug, Clone)]
pub struct LocalOutbox {
    dir: PathBuf,
    from: String,
}

impl LocalOutbox {
    /// An outbox writing into `dir` (created when needed), messages from `from`.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Self {
        Self {
            dir: dir.into(),
            from: from.to_owned(),
        }
    }

    /// The folder messages land in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `mail` as one RFC 5322 message (`multipart/alternative`, UTF-8) and returns
    /// its path.
    pub fn deliver(&self, mail: &Mail) -> Result<PathBuf, MailError> {
        std::fs::create_dir_all(&self.dir)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let boundary = format!("=_{id}");
        let message = format!(
            "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@outbox.local>\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\
             --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n\
             --{boundary}--\r\n",
            from = self.from,
            to = mail.to.for_sending(),
            subject = mail.subject,
            text = mail.text,
            html = mail.html,
        );
        let path = self.dir.join(format!("{id}.eml"));
        std::fs::write(&path, message)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> EmailAddress {
        EmailAddress::parse("alice@example.com").unwrap()
    }

    #[test]
    fn every_template_renders_with_its_values_and_nothing_is_left_unfilled() {
        let values = [
            ("username", "alice"),
            ("code", "482-913"),
            ("link", "https://app.example/verify?code=482-913"),
            ("minutes", "15"),
            ("what", "Your password was changed."),
        ];
        for template in [Template::Verify, Template::Reset, Template::Notice] {
            let mail = template.render(&alice(), &values).unwrap();
            assert!(
                !mail.text.contains("{{") && !mail.html.contains("{{"),
                "{template:?}"
            );
            assert!(mail.text.contains("alice") && mail.html.contains("alice"));
        }
        let missing = Template::Verify.render(&alice(), &[("username", "alice")]);
        assert!(matches!(missing, Err(MailError::MissingValue(name)) if name == "code"));
    }

    #[test]
    fn a_section_is_kept_only_when_its_value_is_given() {
        let values = |link| {
            [
                ("username", "alice"),
                ("code", "482-913"),
                ("link", link),
                ("minutes", "15"),
            ]
        };
        let with = Template::Verify
            .render(
                &alice(),
                &values("https://app.example/verify-email#code=482-913"),
            )
            .unwrap();
        assert!(
            with.text
                .contains("Or open https://app.example/verify-email#code=482-913")
        );
        assert!(
            with.html
                .contains("href=\"https://app.example/verify-email#code=482-913\"")
        );
        let without = Template::Verify.render(&alice(), &values("")).unwrap();
        assert!(!without.text.contains("Or open") && !without.html.contains("href"));
        assert!(without.text.contains("482-913"));
    }

    #[test]
    fn values_are_escaped_in_html_and_kept_in_text() {
        let hostile = "<script>alert('x')</script>&\"";
        let mail = Template::Notice
            .render(&alice(), &[("username", hostile), ("what", "changed")])
            .unwrap();
        assert!(mail.text.contains(hostile));
        assert!(!mail.html.contains("<script>"));
        assert!(
            mail.html
                .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;")
        );
    }

    #[test]
    fn the_outbox_writes_one_readable_message_per_delivery() {
        let dir = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4().simple()));
        let outbox = LocalOutbox::new(&dir, "lambda-auth <no-reply@example.com>");
        let to = EmailAddress::parse("josé@bücher.example").unwrap();
        let mail = Template::Verify
            .render(
                &to,
                &[
                    ("username", "josé"),
                    ("code", "482-913"),
                    ("link", "http://127.0.0.1:3000/verify"),
                    ("minutes", "15"),
                ],
            )
            .unwrap();
        let path = outbox.deliver(&mail).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(
            written.contains("To: josé@xn--bcher-kva.example\r\n"),
            "{written}"
        );
        assert!(written.contains("Subject: Verify your email address\r\n"));
        assert!(written.contains("482-913"));
        assert!(written.contains("Content-Type: text/html; charset=utf-8"));
        outbox.deliver(&mail).unwrap();
        assert_eq!(std::fs::read_dir(outbox.dir()).unwrap().count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
