//! Security events as CloudWatch metrics, in the Embedded Metric Format: one JSON line per
//! event on stdout, which CloudWatch Logs turns into a metric in the stack's namespace with no
//! API call (a Lambda environment freezes after its response, so nothing may be sent later).
//!
//! | Metric | Counted when |
//! |---|---|
//! | `FailedLogins` | a password login or a password change's current password is refused (wrong, unknown name, disabled, too long) |
//! | `LockedOutAttempts` | an attempt is refused without a check because its name is locked |
//! | `RefreshTokenReuse` | a retired refresh token is presented again and its session revoked |
//! | `LegacyHashUpgrades` | a FastAPI-era hash is replaced by argon2id after a login |
//! | `HookInvocations`, `HookDuration` | a hook was called (dimensions `Hook` and `Outcome`) |

use crate::platform::config::Source;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "lambda-auth";

/// A security event worth a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityEvent {
    /// A password was checked and refused, or refused unchecked as too long.
    FailedLogin,
    /// An attempt was refused unchecked because its name is locked.
    LockedOut,
    /// A retired refresh token was presented again.
    RefreshTokenReuse,
    /// A legacy hash was replaced by argon2id.
    LegacyHashUpgrade,
    /// An authenticator code or recovery code was checked and refused.
    FailedSecondFactor,
    /// A message could not be delivered (SES refused it or could not be reached).
    MailFailed,
    /// A password-reset request took longer than its fixed answer time, which then no
    /// longer hides whether an account exists (raise the floor).
    SlowResetRequest,
    /// A rate limit refused a request or a mail.
    RateLimited,
    /// A passkey assertion was checked and refused.
    FailedPasskey,
    /// A passkey's signature counter went backwards (a cloned authenticator, perhaps).
    PasskeyCounterRegression,
    /// A password login was refused unchecked: its source address failed too many this hour.
    SourceThrottled,
    /// The breached-password range endpoint could not be reached: a new password was
    /// accepted unchecked.
    BreachCheckUnavailable,
}

impl SecurityEvent {
    /// The metric the event counts toward.
    pub fn metric_name(self) -> &'static str {
        match self {
            Self::FailedLogin => "FailedLogins",
            Self::LockedOut => "LockedOutAttempts",
            Self::RefreshTokenReuse => "RefreshTokenReuse",
            Self::LegacyHashUpgrade => "LegacyHashUpgrades",
            Self::FailedSecondFactor => "FailedSecondFactors",
            Self::MailFailed => "MailFailures",
            Self::SlowResetRequest => "SlowResetRequests",
            Self::RateLimited => "RateLimited",
            Self::FailedPasskey => "FailedPasskeys",
            Self::PasskeyCounterRegression => "PasskeyCounterRegressions",
            Self::SourceThrottled => "ThrottledPasswordLogins",
            Self::BreachCheckUnavailable => "BreachCheckUnavailable",
        }
    }
}

/// Where metric lines go: stdout in a function, a buffer in tests.
#[derive(Debug, Clone, Default)]
enum Sink {
    #[default]
    Stdout,
    Captured(Arc<Mutex<Vec<String>>>),
}

/// Writes security events as Embedded Metric Format lines.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    sink: Sink,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            sink: Sink::Stdout,
        }
    }
}

impl Metrics {
    /// Metrics in `METRICS_NAMESPACE` (the template sets `lambda-auth/<stack name>`).
    pub fn from_source(source: &impl Source) -> Self {
        Self {
            namespace: source
                .get("METRICS_NAMESPACE")
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            sink: Sink::Stdout,
        }
    }

    /// Metrics kept in memory, for tests: [`Metrics::lines`] returns what was written.
    pub fn capturing() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            sink: Sink::Captured(Arc::default()),
        }
    }

    /// The lines written so far by a [`Metrics::capturing`] instance.
    pub fn lines(&self) -> Vec<String> {
        match &self.sink {
            Sink::Stdout => Vec::new(),
            Sink::Captured(lines) => lines.lock().expect("metric lines").clone(),
        }
    }

    /// Counts one `event`.
    pub fn record(&self, event: SecurityEvent) {
        let line = self.line(event, SystemTime::now());
        self.write(line);
    }

    /// Counts one call of the hook `hook` that ended as `outcome`, and its duration: the
    /// metrics `HookInvocations` and `HookDuration` with the dimensions `Hook` and `Outcome`.
    pub fn hook(&self, hook: &str, outcome: &str, elapsed: std::time::Duration) {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let line = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [["Hook", "Outcome"]],
                    "Metrics": [
                        { "Name": "HookInvocations", "Unit": "Count" },
                        { "Name": "HookDuration", "Unit": "Milliseconds" },
                    ],
                }],
            },
            "Hook": hook,
            "Outcome": outcome,
            "HookInvocations": 1,
            "HookDuration": elapsed.as_millis() as u64,
        })
        .to_string();
        self.write(line);
    }

    fn write(&self, line: String) {
        match &self.sink {
            Sink::Stdout => println!("{line}"),
            Sink::Captured(lines) => lines.lock().expect("metric lines").push(line),
        }
    }

    /// The EMF document for one `event` at `at`: the metric's value is 1, with no dimensions.
    fn line(&self, event: SecurityEvent, at: SystemTime) -> String {
        let timestamp = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_millis());
        let name = event.metric_name();
        let mut document = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [[]],
                    "Metrics": [{ "Name": name, "Unit": "Count" }],
                }],
            },
            "event": name,
        });
        document[name] = serde_json::json!(1);
        document.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_an_emf_document_counting_one_event() {
        let metrics = Metrics::from_source(&[("METRICS_NAMESPACE", "lambda-auth/prod")]);
        let at = UNIX_EPOCH + std::time::Duration::from_millis(1_795_926_600_123);
        let line: serde_json::Value =
            serde_json::from_str(&metrics.line(SecurityEvent::LockedOut, at)).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_795_926_600_123_u64);
        assert_eq!(directive["Namespace"], "lambda-auth/prod");
        assert_eq!(directive["Dimensions"], serde_json::json!([[]]));
        assert_eq!(directive["Metrics"][0]["Name"], "LockedOutAttempts");
        assert_eq!(line["LockedOutAttempts"], 1);
    }

    #[test]
    fn a_hook_call_is_counted_and_timed_by_hook_and_outcome() {
        let metrics = Metrics::capturing();
        metrics.hook(
            "pre-token-generation",
            "timed_out",
            std::time::Duration::from_millis(1234),
        );
        let line: serde_json::Value = serde_json::from_str(&metrics.lines()[0]).unwrap();
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["Hook", "Outcome"]])
        );
        assert_eq!(line["Hook"], "pre-token-generation");
        assert_eq!(line["Outcome"], "timed_out");
        assert_eq!(line["HookInvocations"], 1);
        assert_eq!(line["HookDuration"], 1234);
    }

    #[test]
    fn the_namespace_defaults_when_unset_or_empty() {
        let empty: [(&str, &str); 1] = [("METRICS_NAMESPACE", "")];
        assert_eq!(Metrics::from_source(&empty).namespace, DEFAULT_NAMESPACE);
        let unset: [(&str, &str); 0] = [];
        assert_eq!(Metrics::from_source(&unset).namespace, DEFAULT_NAMESPACE);
    }
}
