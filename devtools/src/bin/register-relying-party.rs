//! `register-relying-party --name <name> --redirect-uri <uri>…`: registers an application
//! users sign in to through `/authorize`, straight in the database named by `MONGODB_URI` and
//! `DB_NAME`, for local use (deployed stacks register theirs with
//! `POST /admin/relying-parties`). Prints its client id, and its secret once for
//! `--confidential`. Exit status: 0 registered, 2 a URI or scope refused, 1 any other failure.

use clap::Parser;
use devtools::relying_parties::{Registration, RegistrationError, register};
use secrecy::ExposeSecret as _;
use shared::access::relying_parties::IdTokenAlgorithm;
use shared::factors::hashing::PasswordHasher;
use shared::identity::users::UserCollectionSettings;
use shared::platform::config::ProcessEnv;
use shared::platform::database::DatabaseSettings;
use shared::stores::MongoStores;
use std::process::ExitCode;

/// Register a relying party (an OAuth client of the hosted sign-in), straight in the database.
#[derive(Parser)]
struct Args {
    /// Shown to users on the sign-in and consent pages.
    #[arg(long)]
    name: String,
    /// Where users may be sent back to after signing in (repeatable): https, or
    /// http://127.0.0.1 (any port) for a native or local app.
    #[arg(long = "redirect-uri", required = true)]
    redirect_uris: Vec<String>,
    /// Where users may be sent back to after signing out (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The scopes it may ask for, space-separated.
    #[arg(long, default_value = "openid profile email offline_access")]
    scopes: String,
    /// A server that authenticates with a secret (printed once), not a browser or native app.
    #[arg(long)]
    confidential: bool,
    /// The operator's own application: users see no consent page (without it, a third
    /// party's: the consent page until the user allows its scopes).
    #[arg(long)]
    first_party: bool,
    /// How its id_tokens are signed: RS256 or EdDSA.
    #[arg(long, default_value = "RS256", value_parser = algorithm)]
    id_token_alg: IdTokenAlgorithm,
}

fn algorithm(name: &str) -> Result<IdTokenAlgorithm, String> {
    IdTokenAlgorithm::parse(name).ok_or_else(|| format!("{name} is neither RS256 nor EdDSA"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = DatabaseSettings::from_source(&ProcessEnv).and_then(|database| {
        Ok((
            database,
            UserCollectionSettings::from_source(&ProcessEnv)?,
            PasswordHasher::from_source(&ProcessEnv)?,
        ))
    });
    let (database, collection, hasher) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("register-relying-party: {error}");
            return ExitCode::FAILURE;
        }
    };
    let stores = match shared::platform::database::connect(&database).await {
        Ok(db) => MongoStores::new(&db, &collection),
        Err(error) => {
            eprintln!("register-relying-party: {error}");
            return ExitCode::FAILURE;
        }
    };
    let registration = Registration {
        id: None,
        name: args.name,
        confidential: args.confidential,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        scopes: args.scopes,
        first_party: args.first_party,
        id_token_algorithm: args.id_token_alg,
    };
    match register(&stores, &hasher, registration).await {
        Ok((party, secret)) => {
            println!("client_id: {}", party.id);
            if let Some(secret) = secret {
                println!(
                    "client_secret (shown this once): {}",
                    secret.expose_secret()
                );
            }
            ExitCode::SUCCESS
        }
        Err(error @ RegistrationError::Refused(_)) => {
            eprintln!("register-relying-party: {error}");
            ExitCode::from(2)
        }
        Err(error @ RegistrationError::Failed(_)) => {
            eprintln!("register-relying-party: {error}");
            ExitCode::FAILURE
        }
    }
}
