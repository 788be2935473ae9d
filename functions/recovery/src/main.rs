use shared::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let state = or_exit(
        recovery::State::new(&start.env, start.stores),
        "hashing and mail settings",
    );
    shared::serve::http(&start.env, &state, recovery::handle).await
}
