//! Dispatch on the API Gateway route a request matched. Every function lists the routes it
//! serves in one table; a request for any other route (a template route pointed at the wrong
//! function) is a logged `404`, never another route's action.

use super::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt as _, Response};

/// One route of the REST API: a method and a resource path exactly as `template.yaml`
/// declares them (`/docs/{asset}`, not the path a client sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// The HTTP method in upper case.
    pub method: &'static str,
    /// The resource path.
    pub path: &'static str,
}

impl Route {
    /// `GET path`.
    pub const fn get(path: &'static str) -> Self {
        Self {
            method: "GET",
            path,
        }
    }

    /// `POST path`.
    pub const fn post(path: &'static str) -> Self {
        Self {
            method: "POST",
            path,
        }
    }

    /// `PUT path`.
    pub const fn put(path: &'static str) -> Self {
        Self {
            method: "PUT",
            path,
        }
    }

    /// `DELETE path`.
    pub const fn delete(path: &'static str) -> Self {
        Self {
            method: "DELETE",
            path,
        }
    }
}

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The API Gateway resource path the request matched (`/users/me/password`), falling back
/// to the URI path outside API Gateway.
pub fn resource_path(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    }
    .unwrap_or_else(|| request.uri().path().to_owned())
}

/// The action `routes` gives the request's method and resource path, if it lists them.
pub fn route<A: Copy>(request: &Request, routes: &[(Route, A)]) -> Option<A> {
    let path = resource_path(request);
    let method = request.method().as_str();
    routes
        .iter()
        .find(|(route, _)| route.method == method && route.path == path)
        .map(|(_, action)| *action)
}

/// The `404` for a request no route of this function matches, logged as the configuration
/// error it is.
pub fn not_found(request: &Request) -> Response<Body> {
    tracing::warn!(
        method = %request.method(),
        resource = %resource_path(request),
        "no route of this function matches: check the template's events for it"
    );
    ApiError::NotFound.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Action {
        Token,
        Revoke,
    }

    const ROUTES: [(Route, Action); 2] = [
        (Route::post("/token"), Action::Token),
        (Route::post("/revoke"), Action::Revoke),
    ];

    fn request(method: &str, path: &str) -> Request {
        lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::Empty)
            .unwrap()
    }

    #[test]
    fn a_listed_method_and_path_find_their_action() {
        assert_eq!(
            route(&request("POST", "/token"), &ROUTES),
            Some(Action::Token)
        );
        assert_eq!(
            route(&request("POST", "/revoke"), &ROUTES),
            Some(Action::Revoke)
        );
    }

    #[test]
    fn another_method_or_path_finds_nothing_and_answers_404() {
        assert_eq!(route(&request("GET", "/token"), &ROUTES), None);
        assert_eq!(route(&request("POST", "/tokens"), &ROUTES), None);
        let response = not_found(&request("POST", "/tokens"));
        assert_eq!(response.status(), 404);
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert_eq!(text, r#"{"error":"not_found","message":"no such route"}"#);
    }
}
