use shared::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let unique_index = start.stores.users.ensure_indexes().await;
    or_exit(unique_index, "unique username index");
    let state = or_exit(signup::State::new(&start.env, start.stores), "settings");
    shared::serve::http(&start.env, &state, signup::handle).await
}
