//! The template, the function crates and the sample events describe the same functions.

use crate::support::{function_crates, template_model as model, workspace};
use std::collections::BTreeSet;

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
    let mut sampled = BTreeSet::new();
    for entry in std::fs::read_dir(workspace().join("events")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        if let (Some(method), Some(resource)) =
            (event["httpMethod"].as_str(), event["resource"].as_str())
        {
            sampled.insert((method.to_owned(), resource.to_owned()));
        }
    }
    for route in &model().routes {
        let key = (route.method.as_str().to_owned(), route.path.clone());
        assert!(
            sampled.contains(&key),
            "no event in events/ for {} {}",
            key.0,
            key.1
        );
    }
}
