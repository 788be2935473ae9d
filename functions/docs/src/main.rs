use lambda_http::{run, service_fn};
use shared::telemetry::or_exit;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let docs = or_exit(docs::Docs::new(), "openapi.yaml");

    let docs = &docs;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(docs::handle(docs, &request))
    }))
    .await
}
