//! `grant-role <username> <role>`: gives an account a role defined by `ROLES` (the template's
//! `Roles`; `admin` by default), or with `--revoke` takes it away, in the database named by
//! `MONGODB_URI` and `DB_NAME`. This is how the first administrator is made: the API never
//! grants a role to an account that has none of `users:admin`. The account's sessions end,
//! so its next login carries the new scopes. A role with `users:admin` needs the account's
//! second factor on first. Exit status: 0 done (or nothing to do), 2 unknown role or
//! account or no second factor, 1 any other failure.

use clap::Parser;
use devtools::roles::{RoleChange, RoleError, change};
use shared::access::roles::Roles;
use shared::identity::users::UserCollectionSettings;
use shared::platform::config::ProcessEnv;
use shared::platform::database::DatabaseSettings;
use shared::stores::MongoStores;
use std::process::ExitCode;

/// Give an account a role (or take it away), straight in the database.
#[derive(Parser)]
struct Args {
    /// The account's username (any letter case).
    username: String,
    /// The role, as `ROLES` defines it (default roles: admin).
    role: String,
    /// Take the role away instead.
    #[arg(long)]
    revoke: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = DatabaseSettings::from_source(&ProcessEnv).and_then(|db| {
        Ok((
            db,
            UserCollectionSettings::from_source(&ProcessEnv)?,
            Roles::from_source(&ProcessEnv)?,
        ))
    });
    let (database, collection, roles) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("grant-role: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        let db = shared::platform::database::connect(&database).await?;
        let stores = MongoStores::new(&db, &collection);
        change(&stores, &roles, &args.username, &args.role, args.revoke).await
    }
    .await;
    match result {
        Ok(RoleChange::Changed(held)) => {
            println!(
                "grant-role: {} now holds [{}]; its sessions ended, its next login carries the new scopes",
                args.username,
                held.join(", ")
            );
            ExitCode::SUCCESS
        }
        Ok(RoleChange::Unchanged(held)) => {
            println!(
                "grant-role: {} already holds [{}]; nothing changed",
                args.username,
                held.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(
            error @ (RoleError::UnknownRole { .. }
            | RoleError::NoSuchAccount(_)
            | RoleError::NoSecondFactor(_)),
        ) => {
            eprintln!("grant-role: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("grant-role: {error}");
            ExitCode::FAILURE
        }
    }
}
