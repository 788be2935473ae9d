//! `sam local` cannot run here (it needs Docker), so its inputs are checked instead: the
//! `--env-vars` example in `events/env.json` gives each function every secret it would fetch,
//! with the ARN emptied, and only variables the template declares (the only ones `sam local`
//! overrides); `env-json` writes the same shape with real development values.

use crate::support::{template_model, workspace};
use devtools::sam_local::{LocalValues, env_vars};
use serde_json::Value;

fn example() -> Value {
    let text = std::fs::read_to_string(workspace().join("events/env.json")).unwrap();
    serde_json::from_str(&text).expect("events/env.json is JSON")
}

#[test]
fn the_example_gives_every_secret_directly_and_only_declared_variables() {
    let model = template_model();
    let example = example();
    for (id, function) in &model.functions {
        let given = example.get(id).and_then(Value::as_object);
        for name in function.environment.keys() {
            let Some(secret) = name.strip_suffix("_SECRET_ARN") else {
                continue;
            };
            let given = given.unwrap_or_else(|| panic!("{id} reads {name} but has no entry"));
            assert_eq!(
                given[name], "",
                "{id}: {name} emptied so the secret is skipped"
            );
            assert!(
                given[secret].as_str().is_some_and(|v| !v.is_empty()),
                "{id}: {secret}"
            );
        }
        for name in given.into_iter().flat_map(|given| given.keys()) {
            assert!(
                function.environment.contains_key(name),
                "{id}: {name} is not declared in template.yaml, so sam local would ignore it"
            );
        }
    }
    for id in example.as_object().unwrap().keys() {
        assert!(
            model.functions.contains_key(id),
            "{id} is not a function of the template"
        );
    }
}

#[test]
fn env_json_writes_the_examples_shape_with_real_values() {
    let values = LocalValues {
        mongodb_uri: "mongodb://host.docker.internal:27017".to_owned(),
        database_name: "lambda_auth".to_owned(),
        private_pem: "PRIVATE".to_owned(),
        public_pem: "PUBLIC".to_owned(),
        second_factor_keys: "KEYS".to_owned(),
    };
    let written = env_vars(&template_model(), &values);
    let shape = |document: &Value| -> Vec<(String, Vec<String>)> {
        document
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, variables)| {
                let mut names: Vec<String> =
                    variables.as_object().unwrap().keys().cloned().collect();
                names.sort();
                (id.clone(), names)
            })
            .collect()
    };
    assert_eq!(shape(&written), shape(&example()));
    assert_eq!(written["TokenFunction"]["JWT_PRIVATE_KEY"], "PRIVATE");
    assert_eq!(written["AuthorizerFunction"]["JWT_PUBLIC_KEY"], "PUBLIC");
    assert_eq!(written["AccountFunction"]["SECOND_FACTOR_KEYS"], "KEYS");
    assert!(written["MeFunction"].get("SECOND_FACTOR_KEYS").is_none());
    assert!(
        written["AuthorizerFunction"]
            .get("JWT_PRIVATE_KEY")
            .is_none()
    );
}
