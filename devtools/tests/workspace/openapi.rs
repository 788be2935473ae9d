//! `openapi.yaml` and `template.yaml` describe the same routes, and every operation's
//! security matches whether the template puts the authorizer in front of it.

use crate::support::{template_model, workspace};
use std::collections::BTreeSet;

fn description() -> serde_json::Value {
    let text = std::fs::read_to_string(workspace().join("openapi.yaml")).unwrap();
    serde_norway::from_str(&text).expect("openapi.yaml is valid YAML")
}

fn template_routes() -> Vec<devtools::template::Route> {
    template_model().routes
}

#[test]
fn every_template_route_is_described_and_every_description_is_a_route() {
    let in_template: BTreeSet<(String, String)> = template_routes()
        .iter()
        .map(|route| (route.method.to_lowercase(), route.path.clone()))
        .collect();
    let described: BTreeSet<(String, String)> = description()["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, operations)| {
            operations
                .as_object()
                .unwrap()
                .keys()
                .filter(|key| *key != "parameters")
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    assert_eq!(in_template, described);
}

#[test]
fn exactly_the_authorized_routes_require_the_bearer_token() {
    let description = description();
    for route in template_routes() {
        let operation = &description["paths"][&route.path][route.method.to_lowercase()];
        let secured = operation["security"].as_array().is_some_and(|schemes| {
            schemes
                .iter()
                .any(|s| s.get("OAuth2PasswordBearer").is_some())
        });
        assert_eq!(
            secured,
            route.authorizer.is_some(),
            "{} {}",
            route.method,
            route.path
        );
        if secured {
            assert!(
                operation["responses"].get("401").is_some(),
                "{} {} documents the gateway's 401",
                route.method,
                route.path
            );
        }
    }
    let flow =
        &description["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"];
    assert_eq!(
        flow["tokenUrl"], "/token",
        "the OAuth2 password flow, as FastAPI's"
    );
}
