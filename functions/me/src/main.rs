#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let start = shared::startup::with_database(&[]).await;
    let state = me::State {
        stores: start.stores,
    };
    shared::serve::http(&start.env, &state, me::handle).await
}
