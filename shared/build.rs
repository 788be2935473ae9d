//! Generates the table of protected routes and the scopes each requires from `openapi.yaml`,
//! the one place they are declared: an operation's `security` names the schemes that may
//! call it (`OAuth2PasswordBearer` for users' tokens, `OAuth2ClientCredentials` for machine
//! clients' tokens) and the scopes each must carry. The authorizer's policies are built from
//! this table, so a route can never be protected differently from its description.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

const USER_SCHEME: &str = "OAuth2PasswordBearer";
const CLIENT_SCHEME: &str = "OAuth2ClientCredentials";

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&manifest);
    let source = manifest.join("../openapi.yaml");
    println!("cargo:rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source)
        .unwrap_or_else(|error| panic!("{}: {error}", source.display()));
    let description: Value = serde_norway::from_str(&text).expect("openapi.yaml is valid YAML");

    let schemes = &description["components"]["securitySchemes"];
    let catalogue = schemes[USER_SCHEME]["flows"]["password"]["scopes"]
        .as_object()
        .expect("OAuth2PasswordBearer's password flow lists the scopes");
    let known: BTreeSet<&str> = catalogue.keys().map(String::as_str).collect();
    for scope in &known {
        assert!(
            !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'),
            "scope {scope:?}: RFC 6749 3.3 scope tokens are printable ASCII without quotes or backslashes"
        );
    }

    let mut out = String::from(
        "/// Every scope the API knows, with what it allows.\npub const SCOPES: &[(&str, &str)] = &[\n",
    );
    for (scope, about) in catalogue {
        let about = about.as_str().expect("scope descriptions are strings");
        writeln!(out, "    ({scope:?}, {about:?}),").unwrap();
    }
    let client_catalogue = schemes[CLIENT_SCHEME]["flows"]["clientCredentials"]["scopes"]
        .as_object()
        .expect(
            "OAuth2ClientCredentials's clientCredentials flow lists the scopes clients may hold",
        );
    out.push_str("];\n\n/// The scopes a machine client may be given.\npub const CLIENT_SCOPES: &[&str] = &[\n");
    for scope in client_catalogue.keys() {
        assert!(
            known.contains(scope.as_str()),
            "client scope {scope:?} is not in the password flow's list"
        );
        writeln!(out, "    {scope:?},").unwrap();
    }
    out.push_str("];\n\n/// Every route behind the authorizer, with the scopes each kind of token must carry.\npub const PROTECTED_ROUTES: &[ProtectedRoute] = &[\n");
    let paths = description["paths"].as_object().expect("paths");
    for (path, operations) in paths {
        for (method, operation) in operations.as_object().expect("operations") {
            if method == "parameters" {
                continue;
            }
            let Some(requirements) = operation["security"].as_array() else {
                continue;
            };
            let mut users = None;
            let mut clients = None;
            for requirement in requirements {
                for (scheme, scopes) in requirement.as_object().expect("a security requirement") {
                    let scopes: Vec<&str> = scopes
                        .as_array()
                        .expect("a scope list")
                        .iter()
                        .map(|scope| scope.as_str().expect("scope names are strings"))
                        .collect();
                    for scope in &scopes {
                        assert!(
                            known.contains(scope),
                            "{method} {path} requires {scope:?}, which the password flow does not list"
                        );
                    }
                    match scheme.as_str() {
                        USER_SCHEME => users = Some(scopes),
                        CLIENT_SCHEME => clients = Some(scopes),
                        other => panic!("{method} {path}: unknown security scheme {other}"),
                    }
                }
            }
            let method = method.to_uppercase();
            let resource: Vec<&str> = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') && segment.ends_with('}') {
                        "*"
                    } else {
                        segment
                    }
                })
                .collect();
            let resource = format!("{method}{}", resource.join("/"));
            writeln!(
                out,
                "    ProtectedRoute {{ method: {method:?}, path: {path:?}, resource: {resource:?}, users: {}, clients: {} }},",
                requirement(users.as_deref()),
                requirement(clients.as_deref()),
            )
            .unwrap();
        }
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("protected_routes.rs");
    std::fs::write(target, out).expect("write the route table");
}

fn requirement(scopes: Option<&[&str]>) -> String {
    match scopes {
        None => "None".to_owned(),
        Some(scopes) => format!("Some(&{scopes:?})"),
    }
}
