//! Lambda's `Invoke` API (`RequestResponse`), signed with SigV4 from the credentials Lambda
//! puts in the function's environment. `AWS_ENDPOINT_URL_LAMBDA` (the SDKs' variable) points
//! it elsewhere: `make dev`'s local Lambda service.

use crate::platform::config::{ConfigError, Source};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::{Duration, SystemTime};

/// The most of an answer that is read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// A Lambda function ARN (with an optional version or alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionArn {
    pub(crate) region: String,
}

impl FunctionArn {
    /// `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub(crate) fn parse(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        let valid_name = |name: &str| {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        let shape = matches!(parts.as_slice(), ["arn", partition, "lambda", region, account, "function", name, ..]
            if partition.starts_with("aws")
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && valid_name(name));
        let qualifier_ok = match parts.get(7) {
            None => true,
            Some(qualifier) => {
                parts.len() == 8
                    && !qualifier.is_empty()
                    && qualifier
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
            }
        };
        (shape && qualifier_ok).then(|| Self {
            region: parts[3].to_owned(),
        })
    }
}

/// Why an invocation gave no response payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeFailure {
    /// The function raised an error (`X-Amz-Function-Error`), or Lambda ended it (a timeout,
    /// a crash).
    Raised {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
    /// No answer in time.
    TimedOut,
    /// The service could not be reached, or refused the call (throttled, not found, denied).
    Unreachable(String),
}

/// A function that answers in place of Lambda (tests): the event in, the answer out.
pub type Answering = std::sync::Arc<dyn Fn(&[u8]) -> Result<Vec<u8>, InvokeFailure> + Send + Sync>;

/// Invokes functions through Lambda's API.
#[derive(Clone)]
pub struct Invoker {
    client: reqwest::Client,
    endpoint: Option<String>,
    credentials: Credentials,
    answering: Option<Answering>,
}

impl std::fmt::Debug for Invoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invoker")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Invoker {
    /// An invoker signing with `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` (what Lambda sets from the execution role), calling
    /// `AWS_ENDPOINT_URL_LAMBDA` when set, else the ARN's regional endpoint.
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let key = crate::platform::config::required(source, "AWS_ACCESS_KEY_ID")?;
        let secret = crate::platform::config::required(source, "AWS_SECRET_ACCESS_KEY")?;
        let credentials = Credentials::new(
            key,
            secret,
            source.get("AWS_SESSION_TOKEN"),
            None,
            "environment",
        );
        Ok(Self::new(
            credentials,
            source.get("AWS_ENDPOINT_URL_LAMBDA"),
        ))
    }

    /// An invoker with `credentials`, calling `endpoint` (or the regional one).
    pub fn new(credentials: Credentials, endpoint: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap_or_default();
        Self {
            client,
            endpoint: endpoint.map(|endpoint| endpoint.trim_end_matches('/').to_owned()),
            credentials,
            answering: None,
        }
    }

    /// An invoker whose every call `answering` answers, with no Lambda (handler tests).
    pub fn answering(answering: Answering) -> Self {
        Self {
            answering: Some(answering),
            ..Self::new(Credentials::new("test", "test", None, None, "test"), None)
        }
    }

    /// Invokes `function` (an ARN) with `payload` and waits at most `budget` for its answer.
    pub async fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        budget: Duration,
    ) -> Result<Vec<u8>, InvokeFailure> {
        match tokio::time::timeout(budget, self.send(function, payload)).await {
            Ok(result) => result,
            Err(_) => Err(InvokeFailure::TimedOut),
        }
    }

    async fn send(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeFailure> {
        if let Some(answering) = &self.answering {
            return answering(&payload);
        }
        let unreachable = |reason: String| InvokeFailure::Unreachable(reason);
        let arn = FunctionArn::parse(function)
            .ok_or_else(|| unreachable("not a function ARN".to_owned()))?;
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://lambda.{}.amazonaws.com", arn.region));
        let url = format!(
            "{endpoint}/2015-03-31/functions/{}/invocations",
            function.replace(':', "%3A").replace('$', "%24")
        );
        let headers = [
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ];
        let identity = Identity::from(self.credentials.clone());
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&arn.region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|error| unreachable(format!("signing: {error}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&payload),
        )
        .map_err(|error| unreachable(format!("signing: {error}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|error| unreachable(format!("signing: {error}")))?
            .into_parts();
        let mut request = self.client.post(&url);
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request
            .body(payload)
            .send()
            .await
            .map_err(|error| unreachable(format!("calling Lambda: {error}")))?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = read_limited(response).await?;
        if !status.is_success() {
            let kind = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|error| error.get("Type").or(error.get("__type")).cloned())
                .and_then(|kind| kind.as_str().map(str::to_owned))
                .unwrap_or_default();
            return Err(unreachable(format!("Lambda answered {status} {kind}")));
        }
        if function_error {
            let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |key: &str| {
                report
                    .get(key)
                    .and_then(|value| value.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let error_type = text("errorType");
            // Lambda's own reports (a timeout, a crash, out of memory) are failures, not an
            // answer the function meant.
            if error_type.starts_with("Sandbox.") {
                return Err(InvokeFailure::TimedOut);
            }
            if error_type.starts_with("Runtime.") {
                return Err(InvokeFailure::Unreachable(format!(
                    "the function ended without answering ({error_type})"
                )));
            }
            return Err(InvokeFailure::Raised {
                error_type,
                message: text("errorMessage"),
            });
        }
        Ok(body)
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, InvokeFailure> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| InvokeFailure::Unreachable(format!("reading the answer: {error}")))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(InvokeFailure::Unreachable("answer too large".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_are_checked() {
        let good = [
            "arn:aws:lambda:us-east-1:123456789012:function:my-hook",
            "arn:aws:lambda:eu-west-1:123456789012:function:my_hook:live",
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:hook:$LATEST",
        ];
        for arn in good {
            assert!(FunctionArn::parse(arn).is_some(), "{arn}");
        }
        assert_eq!(FunctionArn::parse(good[1]).unwrap().region, "eu-west-1");
        let bad = [
            "",
            "my-hook",
            "arn:aws:lambda:us-east-1:12345:function:my-hook",
            "arn:aws:s3:us-east-1:123456789012:function:my-hook",
            "arn:aws:lambda:us-east-1:123456789012:layer:my-hook",
            "arn:aws:lambda:us-east-1:123456789012:function:my/hook",
            "arn:aws:lambda:us-east-1:123456789012:function:h:1:2",
        ];
        for arn in bad {
            assert!(FunctionArn::parse(arn).is_none(), "{arn}");
        }
    }
}
