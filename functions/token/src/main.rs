use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[
        "JWT_PRIVATE_KEY",
        shared::factors::mfa::SECOND_FACTOR_KEYS,
    ])
    .await;
    let state = or_exit(
        token::State::new(&start.env, start.stores),
        "hashing, signing key and second-factor settings",
    );
    shared::platform::serve::http(&start.env, &state, token::handle).await
}
