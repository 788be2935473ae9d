use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[]).await;
    let state = or_exit(
        admin::State::new(&start.env, start.stores),
        "admin settings",
    );
    shared::platform::serve::http(&start.env, &state, admin::handle).await
}
