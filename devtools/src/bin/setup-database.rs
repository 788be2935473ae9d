//! `setup-database`: the deploy step that creates every index the functions rely on (the
//! unique username index, the TTL indexes, the session lookups) in the database named by
//! `MONGODB_URI` (or the secret `MONGODB_URI_SECRET_ARN` names, read with your AWS
//! credentials), `DB_NAME` and `USERS_COLLECTION`. Idempotent; run it before the first deploy
//! and after upgrades. The functions only check the unique index, so their database user
//! needs no `createIndex`. It also gives existing accounts their look-alike key and lists
//! the accounts whose names already look alike (they keep signing in; see
//! [`shared::identity::users::look_alikes`]).

use shared::identity::users::UserCollectionSettings;
use shared::platform::database::DatabaseSettings;
use shared::stores::MongoStores;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let env = match shared::platform::secrets::load(&["MONGODB_URI"]).await {
        Ok(env) => env,
        Err(error) => {
            eprintln!("setup-database: {error}");
            return ExitCode::from(2);
        }
    };
    let settings = (
        DatabaseSettings::from_source(&env),
        UserCollectionSettings::from_source(&env),
    );
    let (Ok(database), Ok(users)) = settings else {
        let (database, users) = settings;
        for error in [database.err(), users.err()].into_iter().flatten() {
            eprintln!("setup-database: {error}");
        }
        return ExitCode::from(2);
    };
    let result = async {
        let stores = MongoStores::new(
            &shared::platform::database::connect(&database).await?,
            &users,
        );
        stores.ensure_indexes().await?;
        stores.users.fill_look_alike_keys().await
    }
    .await;
    match result {
        Ok(look_alikes) => {
            println!(
                "indexes ready in database {} (users in {})",
                database.name, users.collection
            );
            println!(
                "look-alike keys given to {} existing accounts",
                look_alikes.filled
            );
            for (key, accounts) in &look_alikes.groups {
                println!("accounts whose names look alike ({key}); the first holds the name:");
                for account in accounts {
                    println!("  {}  {:?}", account.id, account.username);
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("setup-database failed: {error}");
            ExitCode::FAILURE
        }
    }
}
