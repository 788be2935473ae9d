use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{LambdaEvent, run, service_fn};
use shared::config::ProcessEnv;
use shared::telemetry::or_exit;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let verifier = or_exit(TokenVerifier::from_source(&ProcessEnv), "public keys");

    let verifier = &verifier;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| async move {
            authorizer::authorize(verifier, &event.payload)
        },
    ))
    .await
}
