//! The local outbox: the `.eml` files the functions write under `make dev` and the tests
//! instead of sending mail. Reading them back, and announcing each new one in the `make dev`
//! terminal with its code, so a developer never has to open the file to go on.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One message from the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// The file it was read from.
    pub path: PathBuf,
    /// The `To` header.
    pub to: String,
    /// The `Subject` header.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// When the file was written.
    pub written: SystemTime,
}

impl OutboxMail {
    /// Reads the message at `path`.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let raw = std::fs::read_to_string(path)?;
        let header = |name: &str| {
            raw.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}: ")))
                .unwrap_or_default()
                .trim_end_matches('\r')
                .to_owned()
        };
        let text = raw
            .split_once("Content-Type: text/plain; charset=utf-8\r\n\r\n")
            .and_then(|(_, rest)| rest.split_once("\r\n--=_"))
            .map(|(text, _)| text.to_owned())
            .unwrap_or_default();
        Ok(Self {
            path: path.to_owned(),
            to: header("To"),
            subject: header("Subject"),
            text,
            written: std::fs::metadata(path)?.modified()?,
        })
    }

    /// The code the message carries (`… code is XXXX-XXXX-XXXX-XXXX`), if any.
    pub fn code(&self) -> Option<&str> {
        self.text
            .lines()
            .find_map(|line| line.split_once("code is ").map(|(_, code)| code.trim()))
    }
}

/// Every message in `dir`, oldest first (none when the folder does not exist yet).
pub fn messages(dir: &Path) -> Vec<OutboxMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mails: Vec<OutboxMail> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .filter_map(|path| OutboxMail::read(&path).ok())
        .collect();
    mails.sort_by(|a, b| a.written.cmp(&b.written).then_with(|| a.path.cmp(&b.path)));
    mails
}

/// Prints one line per message that appears in `dir` from now on: recipient, subject, code
/// and file. Runs until aborted.
pub async fn announce_new_mail(dir: PathBuf) {
    let mut seen: BTreeSet<PathBuf> = messages(&dir).into_iter().map(|m| m.path).collect();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        for mail in messages(&dir) {
            if seen.insert(mail.path.clone()) {
                let code = mail
                    .code()
                    .map(|code| format!(", code {code}"))
                    .unwrap_or_default();
                println!(
                    "mail to {}: {}{code} ({})",
                    mail.to,
                    mail.subject,
                    mail.path.display()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::identity::email_address::EmailAddress;
    use shared::mail::message::{LocalOutbox, Template};

    #[test]
    fn messages_written_by_the_functions_read_back_with_their_code() {
        let dir = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4().simple()));
        assert!(messages(&dir).is_empty());
        let outbox = LocalOutbox::new(&dir, "no-reply@lambda-auth.local");
        let to = EmailAddress::parse("alice@example.com").unwrap();
        let values = [
            ("username", "alice"),
            ("code", "7QK2-MXD9-TA4R-W8NP"),
            ("link", ""),
            ("minutes", "15"),
        ];
        outbox
            .deliver(&Template::Reset.render(&to, &values).unwrap())
            .unwrap();
        let notice = [("username", "alice"), ("what", "Your password was reset.")];
        outbox
            .deliver(&Template::Notice.render(&to, &notice).unwrap())
            .unwrap();
        let read = messages(&dir);
        assert_eq!(read.len(), 2);
        let reset = read
            .iter()
            .find(|m| m.subject == "Reset your password")
            .unwrap();
        assert_eq!(reset.to, "alice@example.com");
        assert_eq!(reset.code(), Some("7QK2-MXD9-TA4R-W8NP"));
        let notice = read
            .iter()
            .find(|m| m.subject != "Reset your password")
            .unwrap();
        assert_eq!(notice.code(), None);
        assert!(notice.text.contains("Your password was reset."));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
