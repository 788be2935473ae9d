#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let recent_authentication = shared::telemetry::or_exit(
        shared::mfa::recent_authentication_from(&start.env),
        "recent-authentication window",
    );
    let state = me::State {
        stores: start.stores,
        clock: shared::clock::Clock::system(),
        recent_authentication,
    };
    shared::serve::http(&start.env, &state, me::handle).await
}
