use shared::platform::clock::Clock;
use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[]).await;
    let state = products::State::new(&start.env, start.stores, Clock::system());
    shared::platform::serve::http(
        &start.env,
        &or_exit(state, "product cache"),
        products::handle,
    )
    .await
}
