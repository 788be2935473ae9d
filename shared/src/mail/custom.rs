//! The custom-message hook: before a mail goes out, the operator's function (Cognito's
//! `CustomMessage_*` events) may replace its subject and body. It fails open: on any failure,
//! or an answer that drops the code, this service's own message is sent.

use super::message::{Mail, html_escape};
use crate::hooks::cognito::{Attributes, CustomMessageRequest, CustomMessageResponse};
use crate::hooks::{Hooks, Trigger};

/// Where the code goes in a custom message.
pub const CODE_PARAMETER: &str = "{####}";
/// Where the link goes in a custom message.
pub const LINK_PARAMETER: &str = "{##link##}";
/// The longest custom subject kept.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// Which message is going out, as Cognito's `triggerSource` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// The code of the address given at sign-up: `CustomMessage_SignUp`.
    SignUp,
    /// The code of an address added or changed later: `CustomMessage_UpdateUserAttribute`.
    AddressChange,
    /// A password-reset code: `CustomMessage_ForgotPassword`.
    PasswordReset,
    /// A notice of a change to the account (no code): `CustomMessage_Notice`, this
    /// service's extension.
    Notice,
}

impl Occasion {
    fn trigger_source(self) -> &'static str {
        match self {
            Self::SignUp => "CustomMessage_SignUp",
            Self::AddressChange => "CustomMessage_UpdateUserAttribute",
            Self::PasswordReset => "CustomMessage_ForgotPassword",
            Self::Notice => "CustomMessage_Notice",
        }
    }
}

/// What the message is about.
pub struct Content<'a> {
    /// Which message.
    pub occasion: Occasion,
    /// The account's name.
    pub username: &'a str,
    /// The account's id.
    pub account: &'a str,
    /// The code the message carries, if any.
    pub code: Option<&'a str>,
    /// The link to the frontend's page, if any.
    pub link: Option<&'a str>,
    /// What changed, for a notice.
    pub notice: Option<&'a str>,
}

/// `mail`, with the hook's subject and body when it answers with usable ones.
pub async fn customized(hooks: &Hooks, mail: Mail, content: Content<'_>) -> Mail {
    if !hooks.is_on(Trigger::CustomMessage) {
        return mail;
    }
    let attributes = Attributes::from([
        ("sub".to_owned(), content.account.to_owned()),
        ("preferred_username".to_owned(), content.username.to_owned()),
        ("email".to_owned(), mail.to.as_str().to_owned()),
    ]);
    let request = CustomMessageRequest {
        user_attributes: attributes,
        code_parameter: CODE_PARAMETER.to_owned(),
        link_parameter: content.link.map(|_| LINK_PARAMETER.to_owned()),
        username_parameter: None,
        notice: content.notice.map(str::to_owned),
        client_metadata: Default::default(),
    };
    let event = hooks.event::<_, CustomMessageResponse>(
        content.occasion.trigger_source(),
        "1",
        content.username,
        None,
        request,
    );
    match hooks
        .call::<_, CustomMessageResponse>(Trigger::CustomMessage, &event)
        .await
    {
        Ok(Some(response)) => apply(mail, response, &content),
        // Logged and counted by the call; the message goes out as this service wrote it.
        Ok(None) | Err(_) => mail,
    }
}

/// The hook's subject and body in `mail`, with the code and link filled in; `mail` unchanged
/// when the body drops a code the message must carry.
pub fn apply(mut mail: Mail, response: CustomMessageResponse, content: &Content<'_>) -> Mail {
    if let Some(subject) = response.email_subject {
        let subject: String = subject
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_SUBJECT_CHARS)
            .collect();
        if !subject.trim().is_empty() {
            mail.subject = subject.trim().to_owned();
        }
    }
    let Some(body) = response
        .email_message
        .filter(|body| !body.trim().is_empty())
    else {
        return mail;
    };
    if content.code.is_some() && !body.contains(CODE_PARAMETER) {
        tracing::warn!(
            "the custom-message hook's body has no {CODE_PARAMETER}: the default message is sent"
        );
        return mail;
    }
    let fill = |text: &str, escape: &dyn Fn(&str) -> String| {
        text.replace(CODE_PARAMETER, &escape(content.code.unwrap_or_default()))
            .replace(LINK_PARAMETER, &escape(content.link.unwrap_or_default()))
    };
    let text = plain_text(&body);
    if content.code.is_some() && !text.contains(CODE_PARAMETER) {
        tracing::warn!(
            "the custom-message hook's {CODE_PARAMETER} is only inside markup: the default message is sent"
        );
        return mail;
    }
    mail.html = fill(&body, &html_escape);
    mail.text = fill(&text, &|text: &str| text.to_owned());
    mail
}

/// The text of an HTML body: tags dropped, `<br>` and block ends as line breaks, the five
/// entities decoded, trimmed.
fn plain_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].to_ascii_lowercase();
        let closing = tag.strip_prefix('/');
        let line_break = tag == "br" || tag.starts_with("br ") || tag.starts_with("br/");
        let block_end = closing
            .is_some_and(|name| ["p", "div", "li", "tr", "h1", "h2", "h3"].contains(&name.trim()));
        if line_break || block_end {
            text.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    text.trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::email_address::EmailAddress;

    fn mail() -> Mail {
        Mail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            subject: "Verify your email address".to_owned(),
            text: "default text".to_owned(),
            html: "<p>default</p>".to_owned(),
        }
    }

    fn content(code: Option<&'static str>) -> Content<'static> {
        Content {
            occasion: Occasion::SignUp,
            username: "ada",
            account: "0123456789abcdef01234567",
            code,
            link: Some("https://app.example/verify-email#code=a<b"),
            notice: None,
        }
    }

    #[test]
    fn the_hooks_body_carries_the_code_and_link_escaped_in_html() {
        let response = CustomMessageResponse {
            email_subject: Some("Welcome to Acme\\r\\n".replace("\\r\\n", "\r\n")),
            email_message: Some(
                "<p>Hi! Your code is {####}.</p><p><a href=\"{##link##}\">Verify</a></p>"
                    .to_owned(),
            ),
            sms_message: None,
        };
        let mail = apply(mail(), response, &content(Some("K7Q-2Z")));
        assert_eq!(mail.subject, "Welcome to Acme");
        assert!(mail.html.contains("Your code is K7Q-2Z."));
        assert!(mail.html.contains("code=a&lt;b"), "{}", mail.html);
        assert!(
            mail.text.contains("Your code is K7Q-2Z.\nVerify"),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("code=a<b") || !mail.text.contains("href"));
    }

    #[test]
    fn a_body_without_the_code_or_no_body_keeps_the_default_message() {
        let dropped = CustomMessageResponse {
            email_message: Some("<p>Welcome!</p>".to_owned()),
            ..CustomMessageResponse::default()
        };
        let mail = apply(mail(), dropped, &content(Some("K7Q-2Z")));
        assert_eq!(mail.text, "default text");
        let hidden = CustomMessageResponse {
            email_message: Some("<a title=\"{####}\">Welcome!</a>".to_owned()),
            ..CustomMessageResponse::default()
        };
        assert_eq!(
            apply(mail.clone(), hidden, &content(Some("K7Q"))).text,
            "default text"
        );
        let nothing = apply(
            mail.clone(),
            CustomMessageResponse::default(),
            &content(Some("K7Q")),
        );
        assert_eq!(nothing, mail);
        // A notice has no code: any body goes.
        let notice = CustomMessageResponse {
            email_message: Some("Something changed &amp; you should know.".to_owned()),
            ..CustomMessageResponse::default()
        };
        let mut notice_content = content(None);
        notice_content.occasion = Occasion::Notice;
        assert_eq!(
            apply(mail.clone(), notice, &notice_content).text,
            "Something changed & you should know."
        );
    }
}
