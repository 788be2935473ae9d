//! The pre-sign-up hook's verdict, shared by every front door that creates accounts: the API,
//! the hosted page, and a first sign-in through another provider.

use super::cognito::{Attributes, PreSignUpRequest, PreSignUpResponse};
use super::{HookError, Hooks, Trigger};

/// The longest refusal message shown to the user.
pub const MAX_MESSAGE_CHARS: usize = 200;

/// Which front door is creating the account, as Cognito's `triggerSource` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUpKind {
    /// `POST /signup` or the hosted sign-up page: `PreSignUp_SignUp`.
    Password,
    /// A first sign-in through another provider: `PreSignUp_ExternalProvider`.
    ExternalProvider,
}

/// What the hook decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Create the account; with `auto_verify_email`, its address is verified without a code.
    Allowed {
        /// Whether the address given is the account's at once.
        auto_verify_email: bool,
    },
    /// Do not: the hook's message, for the user.
    Refused(String),
}

/// The hook is off, or it failed (not a refusal): the sign-up cannot be decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pre-sign-up hook failed")]
pub struct Undecided;

/// Asks the pre-sign-up hook about the account `username` with `attributes`; allowed (no
/// auto-verification) when it is off.
pub async fn verdict(
    hooks: &Hooks,
    kind: SignUpKind,
    username: &str,
    attributes: Attributes,
    client_id: Option<&str>,
) -> Result<Verdict, Undecided> {
    if !hooks.is_on(Trigger::PreSignUp) {
        return Ok(Verdict::Allowed {
            auto_verify_email: false,
        });
    }
    let trigger_source = match kind {
        SignUpKind::Password => "PreSignUp_SignUp",
        SignUpKind::ExternalProvider => "PreSignUp_ExternalProvider",
    };
    let request = PreSignUpRequest {
        user_attributes: attributes,
        ..PreSignUpRequest::default()
    };
    let event =
        hooks.event::<_, PreSignUpResponse>(trigger_source, "1", username, client_id, request);
    match hooks
        .call::<_, PreSignUpResponse>(Trigger::PreSignUp, &event)
        .await
    {
        Ok(response) => Ok(Verdict::Allowed {
            auto_verify_email: response.is_some_and(|response| response.auto_verify_email),
        }),
        Err(HookError::Raised { message, .. }) => Ok(Verdict::Refused(shown(&message))),
        Err(HookError::Failed(_)) => Err(Undecided),
    }
}

/// The hook's message as the user sees it: its first line, without control characters, at
/// most [`MAX_MESSAGE_CHARS`]; a generic one when nothing is left.
pub fn shown(message: &str) -> String {
    let line: String = message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE_CHARS)
        .collect();
    let line = line.trim();
    if line.is_empty() {
        "sign-up refused".to_owned()
    } else {
        line.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_shows_one_clean_line() {
        assert_eq!(
            shown("Only example.com addresses\n   at Object.handler (index.mjs:3)"),
            "Only example.com addresses"
        );
        assert_eq!(shown("\u{7}bell\u{1b}[31m"), "bell[31m");
        assert_eq!(shown("  \n"), "sign-up refused");
        assert_eq!(shown(&"x".repeat(500)).chars().count(), MAX_MESSAGE_CHARS);
    }
}
