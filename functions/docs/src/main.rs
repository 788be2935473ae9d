use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let env = shared::edge::startup::without_database(&[]).await;
    let state = or_exit(docs::State::from_source(&env), "docs settings");
    shared::platform::serve::http(&env, &state, docs::handle).await
}
