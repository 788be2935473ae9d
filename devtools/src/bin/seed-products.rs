//! `seed-products`: inserts or refreshes the sample products in the database named by
//! `MONGODB_URI` and `DB_NAME`. Safe to run any number of times.

use shared::platform::config::ProcessEnv;
use shared::platform::database::DatabaseSettings;
use shared::products::MongoProductStore;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match DatabaseSettings::from_source(&ProcessEnv) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("seed-products: {error}");
            return ExitCode::from(2);
        }
    };
    let result = async {
        MongoProductStore::new(&shared::platform::database::connect(&settings).await?)
            .seed()
            .await
    }
    .await;
    match result {
        Ok(count) => {
            println!("seeded {count} products into database {}", settings.name);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("seed-products failed: {error}");
            ExitCode::FAILURE
        }
    }
}
