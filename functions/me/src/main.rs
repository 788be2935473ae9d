#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::edge::startup::with_database(&[]).await;
    let recent_authentication = shared::platform::telemetry::or_exit(
        shared::factors::mfa::recent_authentication_from(&start.env),
        "recent-authentication window",
    );
    let state = me::State {
        stores: start.stores,
        clock: shared::platform::clock::Clock::system(),
        recent_authentication,
    };
    shared::platform::serve::http(&start.env, &state, me::handle).await
}
