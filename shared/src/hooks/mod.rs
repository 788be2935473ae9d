//! Hooks: the operator's own AWS Lambda functions, called synchronously at fixed points of the
//! flows with Amazon Cognito's user-pool trigger events ([`cognito`]), so a function written
//! for Cognito runs here unchanged.
//!
//! Each trigger is off unless its variable names a function ARN. A call is bounded by
//! `HOOK_TIMEOUT_MS` and by the time the invocation has left; it is timed and counted per
//! trigger and outcome ([`crate::platform::metrics::Metrics::hook`]). What a failure means is
//! the caller's rule ([`Trigger::fails_open`]): sign-up and token issue stop, notifications go on.

pub mod cognito;
pub mod confirmation;
mod invoke;
pub mod migration;
pub mod sign_up;
pub mod token_claims;

pub use invoke::{Answering, InvokeFailure, Invoker};

use crate::platform::config::{ConfigError, Source};
use crate::platform::metrics::Metrics;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// How long a hook may take when `HOOK_TIMEOUT_MS` is unset: Cognito's limit for its triggers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the calling function keeps for itself out of its invocation's remaining time: a hook
/// that runs out its budget still leaves the function time to answer.
pub const RESERVED_FOR_THE_CALLER: Duration = Duration::from_millis(1500);

/// A point in the flows where a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    /// Before an account is created (API sign-up, hosted sign-up, a first federated login).
    PreSignUp,
    /// After an address was verified.
    PostConfirmation,
    /// Before tokens are signed, in every grant.
    PreTokenGeneration,
    /// A password login or reset for a name this service does not know.
    UserMigration,
    /// Before a mail is sent: its subject and body.
    CustomMessage,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Self; 5] = [
        Self::PreSignUp,
        Self::PostConfirmation,
        Self::PreTokenGeneration,
        Self::UserMigration,
        Self::CustomMessage,
    ];

    /// The variable holding the function's ARN.
    pub fn variable(self) -> &'static str {
        match self {
            Self::PreSignUp => "HOOK_PRE_SIGN_UP",
            Self::PostConfirmation => "HOOK_POST_CONFIRMATION",
            Self::PreTokenGeneration => "HOOK_PRE_TOKEN_GENERATION",
            Self::UserMigration => "HOOK_USER_MIGRATION",
            Self::CustomMessage => "HOOK_CUSTOM_MESSAGE",
        }
    }

    /// The name in metrics, logs and `make dev`'s `--hook` option.
    pub fn name(self) -> &'static str {
        match self {
            Self::PreSignUp => "pre-sign-up",
            Self::PostConfirmation => "post-confirmation",
            Self::PreTokenGeneration => "pre-token-generation",
            Self::UserMigration => "user-migration",
            Self::CustomMessage => "custom-message",
        }
    }

    /// The trigger named `name` ([`Self::name`]).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|trigger| trigger.name() == name)
    }

    /// Whether the flow goes on when the hook fails: notifications and messages do (the
    /// default message is sent), decisions (sign-up, tokens, migration) do not.
    pub fn fails_open(self) -> bool {
        matches!(self, Self::PostConfirmation | Self::CustomMessage)
    }
}

/// How a hook call ended, as metrics and logs name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The function answered with a response this service read.
    Answered,
    /// The function raised an error (for pre sign-up and migration, a refusal).
    FunctionError,
    /// The call ran out of time.
    TimedOut,
    /// The Lambda service could not be reached or refused the call.
    Unreachable,
    /// The answer was not the trigger's response shape.
    Malformed,
}

impl Outcome {
    /// The `Outcome` dimension's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::FunctionError => "function_error",
            Self::TimedOut => "timed_out",
            Self::Unreachable => "unreachable",
            Self::Malformed => "malformed",
        }
    }
}

/// Why a hook gave no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    /// The function raised an error; `message` is its `errorMessage` (Cognito shows a pre
    /// sign-up's to the user; nothing else does).
    #[error("the hook raised {error_type}")]
    Raised {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// The call failed, ran out of time, or answered something unreadable.
    #[error("the hook failed: {0}")]
    Failed(String),
}

/// The hooks one function calls: the configured ARNs and how to invoke them.
#[derive(Debug, Clone)]
pub struct Hooks {
    functions: Vec<(Trigger, String)>,
    invoker: Option<Invoker>,
    timeout: Duration,
    pool_id: String,
    region: String,
    metrics: Metrics,
}

impl Hooks {
    /// No hooks.
    pub fn none() -> Self {
        Self {
            functions: Vec::new(),
            invoker: None,
            timeout: DEFAULT_TIMEOUT,
            pool_id: String::new(),
            region: String::new(),
            metrics: Metrics::default(),
        }
    }

    /// The hooks of `triggers` this function may call, from `HOOK_*` (function ARNs),
    /// `HOOK_TIMEOUT_MS`, `HOOK_POOL_ID` (the events' `userPoolId`) and the credentials and
    /// region Lambda provides. A malformed ARN is a configuration error.
    pub fn from_source(
        source: &impl Source,
        triggers: &[Trigger],
        metrics: Metrics,
    ) -> Result<Self, ConfigError> {
        let mut functions = Vec::new();
        for trigger in triggers {
            if let Some(arn) = source.get(trigger.variable()) {
                let arn = arn.trim().to_owned();
                invoke::FunctionArn::parse(&arn).ok_or_else(|| ConfigError::Invalid {
                    var: trigger.variable(),
                    reason: "not a Lambda function ARN".to_owned(),
                })?;
                functions.push((*trigger, arn));
            }
        }
        let timeout = crate::platform::config::parsed_or(
            source,
            "HOOK_TIMEOUT_MS",
            DEFAULT_TIMEOUT.as_millis() as u64,
        )?;
        let invoker = if functions.is_empty() {
            None
        } else {
            Some(Invoker::from_source(source)?)
        };
        let region = source.get("AWS_REGION").unwrap_or_default();
        Ok(Self {
            functions,
            invoker,
            timeout: Duration::from_millis(timeout.clamp(100, 30_000)),
            pool_id: source.get("HOOK_POOL_ID").unwrap_or_default(),
            region,
            metrics,
        })
    }

    /// `trigger`'s hook answered by `answering` in place of a Lambda function (handler tests).
    pub fn answered_by(trigger: Trigger, answering: Answering) -> Self {
        let arn = format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            trigger.name()
        );
        Self::with_invoker(
            Invoker::answering(answering),
            vec![(trigger, arn)],
            Metrics::capturing(),
        )
    }

    /// Hooks that call `invoker` for the given triggers (tests).
    pub fn with_invoker(
        invoker: Invoker,
        functions: Vec<(Trigger, String)>,
        metrics: Metrics,
    ) -> Self {
        Self {
            functions,
            invoker: Some(invoker),
            timeout: DEFAULT_TIMEOUT,
            pool_id: "local".to_owned(),
            region: "local".to_owned(),
            metrics,
        }
    }

    /// Whether `trigger` has a function.
    pub fn is_on(&self, trigger: Trigger) -> bool {
        self.function(trigger).is_some()
    }

    fn function(&self, trigger: Trigger) -> Option<&str> {
        self.functions
            .iter()
            .find(|(configured, _)| *configured == trigger)
            .map(|(_, arn)| arn.as_str())
    }

    /// The envelope of an event of `trigger_source` about `user_name`, with `request`.
    pub fn event<R: Serialize, S: Serialize + Default>(
        &self,
        trigger_source: &'static str,
        version: &'static str,
        user_name: &str,
        client_id: Option<&str>,
        request: R,
    ) -> cognito::Event<R, S> {
        cognito::Event {
            version,
            trigger_source,
            region: self.region.clone(),
            user_pool_id: self.pool_id.clone(),
            user_name: user_name.to_owned(),
            caller_context: cognito::CallerContext {
                aws_sdk_version: concat!("lambda-auth-", env!("CARGO_PKG_VERSION")),
                client_id: client_id.unwrap_or_default().to_owned(),
            },
            request,
            response: S::default(),
        }
    }

    /// Calls `trigger`'s function with `event` and reads the `response` of its answer;
    /// `Ok(None)` when the trigger is off. Timed and counted; a failure is logged here, with
    /// the trigger and outcome only (never the event, which may hold a password).
    pub async fn call<E: Serialize, S: DeserializeOwned>(
        &self,
        trigger: Trigger,
        event: &E,
    ) -> Result<Option<S>, HookError> {
        let (Some(function), Some(invoker)) = (self.function(trigger), &self.invoker) else {
            return Ok(None);
        };
        let budget = budget(self.timeout, crate::platform::serve::remaining_time());
        let started = Instant::now();
        let payload = serde_json::to_vec(event)
            .map_err(|error| HookError::Failed(format!("event not serialisable: {error}")))?;
        let answer = invoker.invoke(function, payload, budget).await;
        let (outcome, result) = match answer {
            Ok(body) => match cognito::read_response::<S>(&body) {
                Ok(response) => (Outcome::Answered, Ok(Some(response))),
                Err(reason) => (Outcome::Malformed, Err(HookError::Failed(reason))),
            },
            Err(InvokeFailure::Raised {
                error_type,
                message,
            }) => (
                Outcome::FunctionError,
                Err(HookError::Raised {
                    error_type,
                    message,
                }),
            ),
            Err(InvokeFailure::TimedOut) => (
                Outcome::TimedOut,
                Err(HookError::Failed(format!("no answer within {budget:?}"))),
            ),
            Err(InvokeFailure::Unreachable(reason)) => {
                (Outcome::Unreachable, Err(HookError::Failed(reason)))
            }
        };
        let elapsed = started.elapsed();
        self.metrics.hook(trigger.name(), outcome.name(), elapsed);
        match &result {
            Ok(_) => tracing::info!(
                hook = trigger.name(),
                elapsed_ms = elapsed.as_millis() as u64,
                "hook answered"
            ),
            Err(error) => {
                tracing::warn!(hook = trigger.name(), outcome = outcome.name(), elapsed_ms = elapsed.as_millis() as u64, %error, "hook failed")
            }
        }
        result
    }
}

/// The time a call may take: the configured timeout, cut to what the invocation has left
/// minus [`RESERVED_FOR_THE_CALLER`] (at least 50 ms, so the call fails fast rather than not
/// at all).
pub fn budget(timeout: Duration, remaining: Option<Duration>) -> Duration {
    match remaining {
        Some(remaining) => timeout
            .min(remaining.saturating_sub(RESERVED_FOR_THE_CALLER))
            .max(Duration::from_millis(50)),
        None => timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_never_outlasts_the_invocation() {
        let five = Duration::from_secs(5);
        assert_eq!(budget(five, None), five);
        assert_eq!(budget(five, Some(Duration::from_secs(9))), five);
        assert_eq!(
            budget(five, Some(Duration::from_secs(3))),
            Duration::from_millis(1500)
        );
        assert_eq!(
            budget(five, Some(Duration::ZERO)),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn hooks_are_off_unless_configured_and_a_bad_arn_is_refused() {
        let none: [(&str, &str); 0] = [];
        let hooks = Hooks::from_source(&none, &Trigger::ALL, Metrics::capturing()).unwrap();
        assert!(Trigger::ALL.iter().all(|trigger| !hooks.is_on(*trigger)));
        let bad = [("HOOK_PRE_TOKEN_GENERATION", "my-function")];
        let error = Hooks::from_source(&bad, &Trigger::ALL, Metrics::capturing()).unwrap_err();
        assert!(
            error.to_string().contains("HOOK_PRE_TOKEN_GENERATION"),
            "{error}"
        );
    }

    #[test]
    fn a_function_only_sees_the_triggers_it_calls() {
        let env = [
            (
                "HOOK_PRE_TOKEN_GENERATION",
                "arn:aws:lambda:eu-west-1:123456789012:function:claims",
            ),
            (
                "HOOK_PRE_SIGN_UP",
                "arn:aws:lambda:eu-west-1:123456789012:function:signup",
            ),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "example-only"),
        ];
        let hooks =
            Hooks::from_source(&env, &[Trigger::PreTokenGeneration], Metrics::capturing()).unwrap();
        assert!(hooks.is_on(Trigger::PreTokenGeneration));
        assert!(!hooks.is_on(Trigger::PreSignUp));
    }

    #[test]
    fn triggers_are_named_both_ways() {
        for trigger in Trigger::ALL {
            assert_eq!(Trigger::named(trigger.name()), Some(trigger));
        }
        assert!(Trigger::CustomMessage.fails_open() && !Trigger::PreSignUp.fails_open());
    }
}
