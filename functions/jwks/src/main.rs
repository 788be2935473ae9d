use jwks::KeySet;
use lambda_http::{run, service_fn};
use shared::telemetry::or_exit;
use shared::tokens::TokenVerifier;
use std::convert::Infallible;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    let env = or_exit(shared::secrets::load(&["JWT_PUBLIC_KEY"]).await, "secrets");
    let verifier = or_exit(TokenVerifier::from_source(&env), "public keys");
    let keys = KeySet::new(&verifier);

    let keys = &keys;
    run(service_fn(move |request| async move {
        Ok::<_, Infallible>(jwks::handle(keys, request))
    }))
    .await
}
