//! `migrate`: checks (and with `--apply`, prepares) a users collection written by the FastAPI
//! tutorial app. Dry run by default. Exit status: 0 clean (and applied, with `--apply`),
//! 2 collisions found (nothing changed), 1 any other failure.

use clap::Parser;
use shared::identity::users::UserCollectionSettings;
use shared::platform::config::ProcessEnv;
use shared::platform::database::DatabaseSettings;
use std::process::ExitCode;

/// Take over the FastAPI app's users: report case-insensitive username collisions, and with
/// --apply add username_canonical to every document and create the unique index.
#[derive(Parser)]
struct Args {
    /// Write the changes (default: report only).
    #[arg(long)]
    apply: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = DatabaseSettings::from_source(&ProcessEnv)
        .and_then(|db| Ok((db, UserCollectionSettings::from_source(&ProcessEnv)?)));
    let (database_settings, users) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("migrate: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "migrate: database {}, collection {}{}",
        database_settings.name,
        users.collection,
        if args.apply { "" } else { " (dry run)" }
    );
    let result = async {
        let database = shared::platform::database::connect(&database_settings).await?;
        devtools::migrate::run(&database, &users, args.apply, |line| {
            eprintln!("migrate: {line}");
        })
        .await
    }
    .await;
    match result {
        Ok(report) => {
            print!("{report}");
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(error) => {
            eprintln!("migrate failed: {error}");
            ExitCode::FAILURE
        }
    }
}
