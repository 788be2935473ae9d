use shared::platform::telemetry::or_exit;
use shared::tokens::TokenSettings;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let env = shared::edge::startup::without_database(&["JWT_PUBLIC_KEY"]).await;
    let verifier = or_exit(TokenVerifier::from_source(&env), "public keys");
    let settings = or_exit(TokenSettings::from_source(&env), "token settings");
    shared::platform::serve::http(&env, &jwks::State::new(&verifier, settings), jwks::handle).await
}
