//! The `--env-vars` file for `sam local invoke` / `sam local start-api`: per function, the
//! values its `*_SECRET_ARN` variables would fetch, given directly, with the ARN emptied so
//! the function skips Secrets Manager. `sam local` overrides only variables the template
//! declares, which is why the template declares `MONGODB_URI`, `JWT_PRIVATE_KEY`,
//! `JWT_PUBLIC_KEY` and `SECOND_FACTOR_KEYS` (empty) beside their ARNs.

use crate::template::ApiModel;
use serde_json::{Map, Value, json};

/// What the functions are given instead of their secrets.
#[derive(Debug, Clone)]
pub struct LocalValues {
    /// The MongoDB connection string, as seen from inside sam's containers.
    pub mongodb_uri: String,
    /// The database name.
    pub database_name: String,
    /// The PKCS#8 PEM private key (token only).
    pub private_pem: String,
    /// The SPKI PEM public key (authorizer, jwks).
    pub public_pem: String,
    /// The second-factor data keys (token, account).
    pub second_factor_keys: String,
}

/// The upstream providers' secrets when none is configured.
const NO_FEDERATION_SECRETS: &str = "{}";

/// The env-vars document for every function of `model`: for each `NAME_SECRET_ARN` a
/// function has, `NAME` with its value and the ARN set to `""`; `DB_NAME` where it is read.
pub fn env_vars(model: &ApiModel, values: &LocalValues) -> Value {
    let mut functions = Map::new();
    for (id, function) in &model.functions {
        let mut variables = Map::new();
        for name in function.environment.keys() {
            let Some(secret) = name.strip_suffix("_SECRET_ARN") else {
                continue;
            };
            let value = match secret {
                "MONGODB_URI" => &values.mongodb_uri,
                "JWT_PRIVATE_KEY" => &values.private_pem,
                "JWT_PUBLIC_KEY" => &values.public_pem,
                "SECOND_FACTOR_KEYS" => &values.second_factor_keys,
                // No upstream provider locally unless configured: an empty object of secrets.
                "FEDERATION_SECRETS" => &NO_FEDERATION_SECRETS.to_owned(),
                other => panic!("{id}: no local value for the secret {other}"),
            };
            variables.insert(secret.to_owned(), json!(value));
            variables.insert(name.clone(), json!(""));
        }
        if function.environment.contains_key("DB_NAME") {
            variables.insert("DB_NAME".to_owned(), json!(values.database_name));
        }
        if !variables.is_empty() {
            functions.insert(id.clone(), Value::Object(variables));
        }
    }
    Value::Object(functions)
}
