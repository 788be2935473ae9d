//! `empty-function`: a Lambda function that answers `200 {}` and does nothing else.
//! `loadtest` serves it through the local gateway, with and without the authorizer in front,
//! so the gateway's and the Runtime API emulator's own share of a request can be measured.

use lambda_http::http::HeaderValue;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::{Body, Request, Response, run, service_fn};
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run(service_fn(|_request: Request| async {
        let mut response = Response::new(Body::from("{}"));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok::<_, Infallible>(response)
    }))
    .await
}
