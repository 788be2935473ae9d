use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequest;
use lambda_runtime::{LambdaEvent, run, service_fn};
use shared::platform::telemetry::or_exit;
use shared::tokens::TokenSettings;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = shared::edge::startup::without_database(&["JWT_PUBLIC_KEY"]).await;
    let verifier = or_exit(TokenVerifier::from_source(&env), "public keys");
    let settings = or_exit(TokenSettings::from_source(&env), "token settings");
    let state = &authorizer::State::new(verifier, settings);
    run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequest>| async move {
            authorizer::authorize(state, &event.payload)
        },
    ))
    .await
}
