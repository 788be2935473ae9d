//! Building the REST API proxy event (payload version 1.0) from a real HTTP request.

use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The parts of an incoming request an event is made of.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// Upper-case method.
    pub method: String,
    /// The path as requested, without the query string.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// Headers in arrival order (names lower-case, as HTTP/1.1 servers see them).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// The client's address.
    pub source_ip: String,
}

/// Where the request landed.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The resource path template (`/users/{id}`).
    pub resource: &'a str,
    /// Path parameters.
    pub path_parameters: &'a BTreeMap<String, String>,
    /// The API stage.
    pub stage: &'a str,
    /// This request's id.
    pub request_id: &'a str,
    /// The authorizer's principal and context, when an authorizer ran.
    pub authorizer: Option<&'a Map<String, Value>>,
}

/// The local API's made-up API id and account.
pub const API_ID: &str = "localapi01";
/// The account id used in ARNs.
pub const ACCOUNT_ID: &str = "123456789012";

/// The `methodArn` API Gateway gives a TOKEN authorizer for this request.
pub fn method_arn(stage: &str, method: &str, path: &str) -> String {
    format!(
        "arn:aws:execute-api:local:{ACCOUNT_ID}:{API_ID}/{stage}/{method}/{}",
        path.trim_start_matches('/')
    )
}

/// The proxy event for `request` at `target`.
pub fn proxy_event(
    request: &IncomingRequest,
    target: &Target<'_>,
    now: std::time::SystemTime,
) -> Value {
    let (headers, multi_headers) = single_and_multi(request.headers.iter().cloned());
    let query_pairs = request
        .query
        .as_deref()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let (query, multi_query) = single_and_multi(query_pairs.into_iter());
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(&request.body)),
            true,
        ),
    };
    let epoch_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut context = json!({
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "resourceId": "local",
        "resourcePath": target.resource,
        "httpMethod": request.method,
        // The path the client used: locally there is no stage in the URL, as behind a custom
        // domain with an empty base path (on an execute-api URL it would be `/{stage}/…`).
        "path": request.path,
        "protocol": "HTTP/1.1",
        "stage": target.stage,
        "domainName": header("host").unwrap_or_else(|| "localhost".to_owned()),
        "domainPrefix": "localhost",
        "requestId": target.request_id,
        "extendedRequestId": target.request_id,
        "requestTime": httpdate_like(now),
        "requestTimeEpoch": epoch_ms,
        "identity": { "sourceIp": request.source_ip, "userAgent": header("user-agent") },
    });
    if let Some(authorizer) = target.authorizer {
        context["authorizer"] = Value::Object(authorizer.clone());
    }
    let parameters = if target.path_parameters.is_empty() {
        Value::Null
    } else {
        json!(target.path_parameters)
    };
    json!({
        "resource": target.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": parameters,
        "stageVariables": Value::Null,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// API Gateway's two views of repeated names: the last value, and every value in order.
fn single_and_multi(pairs: impl Iterator<Item = (String, String)>) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::String(value.clone()));
        match multi.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(value)),
            _ => {
                multi.insert(name, json!([value]));
            }
        }
    }
    if single.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(single), Value::Object(multi))
    }
}

fn httpdate_like(now: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(now).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn request(query: Option<&str>, headers: &[(&str, &str)], body: &[u8]) -> IncomingRequest {
        IncomingRequest {
            method: "POST".into(),
            path: "/items/42".into(),
            query: query.map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_vec(),
            source_ip: "127.0.0.1".into(),
        }
    }

    fn event(request: &IncomingRequest, authorizer: Option<&Map<String, Value>>) -> Value {
        let parameters = BTreeMap::from([("id".to_owned(), "42".to_owned())]);
        let target = Target {
            resource: "/items/{id}",
            path_parameters: &parameters,
            stage: "prod",
            request_id: "req-1",
            authorizer,
        };
        proxy_event(
            request,
            &target,
            UNIX_EPOCH + Duration::from_secs(1_795_926_600),
        )
    }

    #[test]
    fn repeated_query_parameters_and_headers_appear_in_both_views() {
        let request = request(
            Some("tag=a&tag=b&q=hello%20world&empty="),
            &[
                ("accept", "text/html"),
                ("accept", "application/json"),
                ("host", "localhost:3000"),
            ],
            b"",
        );
        let event = event(&request, None);
        assert_eq!(
            event["queryStringParameters"],
            json!({"tag": "b", "q": "hello world", "empty": ""})
        );
        assert_eq!(
            event["multiValueQueryStringParameters"]["tag"],
            json!(["a", "b"])
        );
        assert_eq!(event["headers"]["accept"], "application/json");
        assert_eq!(
            event["multiValueHeaders"]["accept"],
            json!(["text/html", "application/json"])
        );
        assert_eq!(event["requestContext"]["domainName"], "localhost:3000");
    }

    #[test]
    fn absent_query_headers_and_body_are_null() {
        let event = event(&request(None, &[], b""), None);
        for key in [
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "headers",
            "multiValueHeaders",
            "body",
        ] {
            assert_eq!(event[key], Value::Null, "{key}");
        }
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn a_binary_body_is_base64_encoded_and_text_is_passed_as_is() {
        let binary = event(&request(None, &[], &[0xff, 0x00, 0x10]), None);
        assert_eq!(binary["body"], "/wAQ");
        assert_eq!(binary["isBase64Encoded"], true);
        let text = event(&request(None, &[], "{\"a\":\"ü\"}".as_bytes()), None);
        assert_eq!(text["body"], "{\"a\":\"ü\"}");
        assert_eq!(text["isBase64Encoded"], false);
    }

    #[test]
    fn the_request_context_carries_stage_ids_path_parameters_and_authorizer() {
        let mut authorizer = Map::new();
        authorizer.insert("principalId".into(), "alice".into());
        let event = event(&request(None, &[], b""), Some(&authorizer));
        assert_eq!(event["resource"], "/items/{id}");
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        let context = &event["requestContext"];
        assert_eq!(context["stage"], "prod");
        assert_eq!(context["path"], "/items/42", "the URL the client used");
        assert_eq!(context["requestId"], "req-1");
        assert_eq!(context["requestTimeEpoch"], 1_795_926_600_000u64);
        assert_eq!(context["authorizer"]["principalId"], "alice");
    }

    #[test]
    fn the_event_is_accepted_by_lambda_http() {
        let event = event(
            &request(Some("a=1"), &[("content-type", "application/json")], b"{}"),
            None,
        );
        let parsed =
            lambda_http::request::from_str(&event.to_string()).expect("a REST proxy event");
        assert_eq!(
            parsed.uri().path(),
            "/prod/items/42",
            "lambda_http prefixes the stage, as on AWS"
        );
    }

    #[test]
    fn method_arns_follow_api_gateways_format() {
        assert_eq!(
            method_arn("prod", "GET", "/users/me"),
            "arn:aws:execute-api:local:123456789012:localapi01/prod/GET/users/me"
        );
    }
}
