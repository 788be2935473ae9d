//! The token issuer's URL (RFC 8414 `issuer`, the `iss` of every access token). Configured
//! (`JWT_ISSUER`, for a custom domain) or, when it is not, the API's own URL as API Gateway
//! names it, `https://{api id}.execute-api.{region}.amazonaws.com/{stage}`: built by the
//! token and metadata functions from the request's API id and stage and the function's region
//! (`AWS_REGION`), and by the authorizer from the method ARN, so all three agree without the
//! template having to name the API (which would make the functions and the API depend on each
//! other), and whatever domain (a custom one included) the request came through.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt as _};

/// The API URL of a request API Gateway passed on, from its API id, its stage and the
/// region (`AWS_REGION`, which Lambda sets; else the region in an `execute-api` domain name).
pub fn of_request(request: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return None;
    };
    let api = context.apiid.as_deref().filter(|api| !api.is_empty())?;
    let stage = context.stage.as_deref().filter(|stage| !stage.is_empty())?;
    let region = std::env::var("AWS_REGION")
        .ok()
        .filter(|region| !region.is_empty())
        .or_else(|| region_of_domain(context.domain_name.as_deref()?))?;
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Some(format!(
        "https://{api}.execute-api.{region}.{suffix}/{stage}"
    ))
}

fn region_of_domain(domain: &str) -> Option<String> {
    let (_, rest) = domain.split_once(".execute-api.")?;
    rest.split('.').next().map(str::to_owned)
}

/// The API URL a TOKEN authorizer's method ARN names
/// (`arn:{partition}:execute-api:{region}:{account}:{api id}/{stage}/{method}/{path}`).
pub fn of_method_arn(method_arn: &str) -> Option<String> {
    let mut parts = method_arn.splitn(6, ':');
    let (_, partition, service, region, _account, rest) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "execute-api" || region.is_empty() {
        return None;
    }
    let mut path = rest.split('/');
    let (api, stage) = (path.next()?, path.next()?);
    if api.is_empty() || stage.is_empty() {
        return None;
    }
    let suffix = if partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Some(format!(
        "https://{api}.execute-api.{region}.{suffix}/{stage}"
    ))
}

/// Checks a configured issuer: an `http(s)://` URL without query or fragment; the trailing
/// `/` is dropped.
pub fn checked(configured: &str) -> Result<String, &'static str> {
    let trimmed = configured.trim().trim_end_matches('/');
    let is_url = trimmed.starts_with("https://") || trimmed.starts_with("http://");
    if !is_url || trimmed.contains(['?', '#', ' ']) || trimmed.len() < "http://x".len() {
        return Err("must be an https URL without query or fragment (or empty: the API's URL)");
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_method_arn_and_the_request_name_the_same_url() {
        assert_eq!(
            of_method_arn("arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/users/me")
                .as_deref(),
            Some("https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
        );
        assert_eq!(
            of_method_arn("arn:aws-cn:execute-api:cn-north-1:1:a/s/GET/x").as_deref(),
            Some("https://a.execute-api.cn-north-1.amazonaws.com.cn/s")
        );
        for bad in [
            "",
            "arn:aws:lambda:eu-west-1:1:abc/prod",
            "arn:aws:execute-api::1:a/s",
        ] {
            assert_eq!(of_method_arn(bad), None, "{bad}");
        }
        let request = crate::testing::request_from(&crate::testing::event_json("me.json"));
        let arn = crate::testing::event_json("authorizer.json")["methodArn"].clone();
        assert_eq!(
            of_request(&request),
            of_method_arn(arn.as_str().unwrap()),
            "the token function and the authorizer agree"
        );
    }

    #[test]
    fn a_configured_issuer_must_be_a_url() {
        assert_eq!(
            checked("https://auth.example.com/").as_deref(),
            Ok("https://auth.example.com")
        );
        assert_eq!(
            checked("http://127.0.0.1:3000").as_deref(),
            Ok("http://127.0.0.1:3000")
        );
        for bad in ["lambda-auth", "https://x?y", "ftp://x", "https://"] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }
}
