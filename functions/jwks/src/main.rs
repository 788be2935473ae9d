use shared::platform::telemetry::or_exit;
use shared::tokens::TokenSettings;
use shared::tokens::TokenVerifier;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let env = shared::edge::startup::without_database(&["JWT_PUBLIC_KEY"]).await;
    let verifier = or_exit(TokenVerifier::from_source(&env), "public keys");
    let id_token_keys = or_exit(
        shared::tokens::id_tokens::public_jwks_from_source(&env),
        "id_token keys",
    );
    let settings = or_exit(TokenSettings::from_source(&env), "token settings");
    let password_grant = or_exit(
        shared::platform::config::flag(&env, "PASSWORD_GRANT", true),
        "PASSWORD_GRANT",
    );
    let state = jwks::State::new(&verifier, id_token_keys, settings);
    let state = if password_grant {
        state
    } else {
        state.without_password_grant()
    };
    shared::platform::serve::http(&env, &state, jwks::handle).await
}
