use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[
        shared::factors::mfa::SECOND_FACTOR_KEYS,
        "JWT_PUBLIC_KEY",
        shared::federation::providers::SECRETS_VAR,
    ])
    .await;
    let state = or_exit(
        login::State::new(&start.env, start.stores),
        "hashing, second-factor, token and page settings",
    );
    shared::platform::serve::http(&start.env, &state, login::handle).await
}
