use shared::clock::Clock;
use shared::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let state = products::State::new(&start.env, start.stores, Clock::system());
    shared::serve::http(
        &start.env,
        &or_exit(state, "product cache"),
        products::handle,
    )
    .await
}
