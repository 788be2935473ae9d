use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[]).await;
    let state = or_exit(
        signup::State::new(&start.env, start.stores),
        "hashing settings",
    );
    let unique_index = state.stores.users.require_unique_index().await;
    or_exit(unique_index, "unique username index");
    shared::platform::serve::http(&start.env, &state, signup::handle).await
}
