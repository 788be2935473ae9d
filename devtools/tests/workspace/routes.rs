//! Each function dispatches exactly the routes `template.yaml` sends it: its `ROUTES` table
//! lists the same methods and resource paths as the template's events for that function, so a
//! route added to one and not the other fails here instead of running the wrong action.

use crate::support::template_model;
use shared::platform::http::Route;
use std::collections::{BTreeMap, BTreeSet};

type Routes = BTreeSet<(String, String)>;

fn table<A>(routes: &[(Route, A)]) -> Routes {
    routes
        .iter()
        .map(|(route, _)| (route.method.to_owned(), route.path.to_owned()))
        .collect()
}

/// Every HTTP function's own route table, by binary name.
fn function_tables() -> BTreeMap<&'static str, Routes> {
    BTreeMap::from([
        ("signup", table(&signup::ROUTES)),
        ("token", table(&token::ROUTES)),
        ("login", table(&login::ROUTES)),
        ("me", table(&me::ROUTES)),
        ("products", table(&products::ROUTES)),
        ("account", table(&account::ROUTES)),
        ("recovery", table(&recovery::ROUTES)),
        ("admin", table(&admin::ROUTES)),
        ("jwks", table(&jwks::ROUTES)),
        ("docs", table(&docs::ROUTES)),
    ])
}

/// The template's routes by the binary of the function they invoke.
fn template_tables() -> BTreeMap<String, Routes> {
    let model = template_model();
    let mut tables: BTreeMap<String, Routes> = BTreeMap::new();
    for route in &model.routes {
        let binary = model.functions[&route.function].binary.clone();
        tables
            .entry(binary)
            .or_default()
            .insert((route.method.clone(), route.path.clone()));
    }
    tables
}

#[test]
fn every_function_serves_exactly_its_template_routes() {
    let template = template_tables();
    let functions = function_tables();
    for (binary, routes) in &template {
        let served = functions.get(binary.as_str()).unwrap_or_else(|| {
            panic!("{binary} has template routes {routes:?}: add its ROUTES table here")
        });
        assert_eq!(served, routes, "{binary}: ROUTES vs template.yaml");
    }
    for binary in functions.keys() {
        assert!(
            template.contains_key(*binary),
            "{binary} has a ROUTES table but no template route"
        );
    }
}

#[test]
fn every_http_function_is_checked() {
    let checked: BTreeSet<String> = function_tables().keys().map(|b| b.to_string()).collect();
    let expected: BTreeSet<String> = crate::support::function_crates()
        .into_iter()
        .filter(|function| function != "authorizer")
        .collect();
    assert_eq!(
        checked, expected,
        "every function crate but the authorizer (not an HTTP function) has its table listed"
    );
}
