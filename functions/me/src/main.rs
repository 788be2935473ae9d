#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let state = me::State {
        stores: start.stores,
        clock: shared::clock::Clock::system(),
    };
    shared::serve::http(&start.env, &state, me::handle).await
}
