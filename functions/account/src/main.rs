use shared::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[shared::mfa::SECOND_FACTOR_KEYS]).await;
    let state = or_exit(
        account::State::new(&start.env, start.stores),
        "hashing and second-factor settings",
    );
    shared::serve::http(&start.env, &state, account::handle).await
}
