use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{LambdaEvent, run, service_fn};
use shared::telemetry::or_exit;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let env = or_exit(shared::secrets::load(&["JWT_PUBLIC_KEY"]).await, "secrets");
    let verifier = or_exit(TokenVerifier::from_source(&env), "public keys");

    let verifier = &verifier;
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| async move {
            authorizer::authorize(verifier, &event.payload)
        },
    ))
    .await
}
