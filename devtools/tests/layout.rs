//! The template, the function crates and the sample events describe the same functions.

use std::collections::BTreeSet;
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(workspace().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

fn model() -> devtools::template::ApiModel {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let overrides = [
        "MongoDbUriSecretArn",
        "JwtPrivateKeySecretArn",
        "JwtPublicKeySecretArn",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), "x".to_owned()))
    .collect();
    devtools::template::parse(&text, &overrides).unwrap()
}

#[test]
fn every_template_function_has_a_crate_and_every_crate_is_in_the_template() {
    let in_template: BTreeSet<String> = model()
        .functions
        .values()
        .map(|f| f.binary.clone())
        .collect();
    assert_eq!(in_template, function_crates());
}

#[test]
fn every_function_has_a_sample_event() {
    for function in function_crates() {
        let event = workspace().join("events").join(format!("{function}.json"));
        assert!(event.is_file(), "{} is missing", event.display());
        let text = std::fs::read_to_string(&event).unwrap();
        serde_json::from_str::<serde_json::Value>(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", event.display()));
    }
}

#[test]
fn every_route_has_a_sample_event_with_its_method_and_path() {
    let model = model();
    for route in &model.routes {
        let binary = &model.functions[&route.function].binary;
        let text =
            std::fs::read_to_string(workspace().join("events").join(format!("{binary}.json")))
                .unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["httpMethod"], route.method.as_str(), "{binary}");
        assert_eq!(event["resource"], route.path.as_str(), "{binary}");
    }
}
