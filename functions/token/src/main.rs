use shared::telemetry::or_exit;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&["JWT_PRIVATE_KEY"]).await;
    let state = or_exit(
        token::State::new(&start.env, start.stores),
        "hashing settings and signing key",
    );
    shared::serve::http(&start.env, &state, token::handle).await
}
