//! A pre token generation hook in Rust, with the Cognito event types of `aws_lambda_events`:
//! adds the claim `plan` to every access token and id_token. Build it with
//! `cargo build -p add-claim-hook` and run it with
//! `make dev HOOKS=pre-token-generation=target/debug/add-claim-hook`, or deploy it as any Rust
//! Lambda function (`cargo lambda build --release --arm64`).

use aws_lambda_events::event::cognito::{
    ClaimsAndScopeOverrideDetailsV2, CognitoAccessTokenGenerationV2,
    CognitoEventUserPoolsPreTokenGenV2, CognitoIdTokenGenerationV2,
};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

async fn add_plan(
    event: LambdaEvent<CognitoEventUserPoolsPreTokenGenV2>,
) -> Result<CognitoEventUserPoolsPreTokenGenV2, Error> {
    let mut event = event.payload;
    let plan = || [("plan".to_owned(), serde_json::json!("free"))].into();
    let mut access = CognitoAccessTokenGenerationV2::default();
    access.claims_to_add_or_override = plan();
    let mut id = CognitoIdTokenGenerationV2::default();
    id.claims_to_add_or_override = plan();
    let mut details = ClaimsAndScopeOverrideDetailsV2::default();
    details.access_token_generation = Some(access);
    details.id_token_generation = Some(id);
    event.response.claims_and_scope_override_details = Some(details);
    Ok(event)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(add_plan)).await
}
