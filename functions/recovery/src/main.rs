use shared::platform::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[]).await;
    let state = or_exit(
        recovery::State::new(&start.env, start.stores),
        "hashing and mail settings",
    );
    let email_index = state.stores.users.require_email_index().await;
    or_exit(email_index, "unique verified-address index");
    shared::platform::serve::http(&start.env, &state, recovery::handle).await
}
