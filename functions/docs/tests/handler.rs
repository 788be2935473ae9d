//! The docs handler on its sample events: the page, its embedded assets and the description.

use serde_json::Value;
use shared::testing::{event_for_route, event_json, request_from, response_json, response_text};

/// The sample asset event, asking for `name`.
fn asset_event(name: &str) -> Value {
    let mut event = event_json("docs-asset.json");
    event["path"] = format!("/docs/{name}").into();
    event
}

fn docs() -> docs::State {
    docs::State::new().expect("openapi.yaml parses")
}

#[tokio::test]
async fn the_page_loads_only_embedded_assets() {
    let response = docs::handle(&docs(), request_from(&event_json("docs.json"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let html = response_text(&response);
    assert!(html.contains(r#"src="docs/swagger-ui-bundle.js""#));
    assert!(html.contains(r#"<script src="docs/swagger-init.js"></script>"#));
    assert!(
        !html.contains("<script>"),
        "no inline script: the policy allows none"
    );
    let init = docs::handle(&docs(), request_from(&asset_event("swagger-init.js"))).await;
    let init = response_text(&init);
    assert!(init.contains("SwaggerUIBundle"));
    assert!(
        init.contains("validatorUrl: null"),
        "no call to the online validator"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from the internet"
    );
    assert!(
        html.contains("data:image/png;base64,iVBOR"),
        "the favicon is inline"
    );
}

#[tokio::test]
async fn assets_are_served_with_their_media_type_and_unknown_ones_are_404() {
    let response = docs::handle(&docs(), request_from(&event_json("docs-asset.json"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/css");
    assert!(response_text(&response).contains(".swagger-ui"));

    let mut event = event_json("docs-asset.json");
    event["path"] = "/docs/swagger-ui-bundle.js".into();
    let response = docs::handle(&docs(), request_from(&event)).await;
    assert_eq!(response.headers()["content-type"], "application/javascript");
    assert!(response_text(&response).len() > 500_000);

    event["path"] = "/docs/..%2F..%2Fetc%2Fpasswd".into();
    let response = docs::handle(&docs(), request_from(&event)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
}

#[tokio::test]
async fn the_page_with_a_trailing_slash_is_404_and_other_routes_are_404() {
    let mut event = event_json("docs.json");
    event["path"] = "/docs/".into();
    let response = docs::handle(&docs(), request_from(&event)).await;
    assert_eq!(
        response.status(),
        404,
        "its relative asset links would not resolve"
    );

    let event = shared::testing::event_for_route("docs.json", "GET", "/documentation");
    let response = docs::handle(&docs(), request_from(&event)).await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response_text(&response),
        r#"{"error":"not_found","message":"no such route"}"#
    );
}

#[tokio::test]
async fn the_description_points_at_the_stage_it_was_reached_through() {
    let response = docs::handle(&docs(), request_from(&event_json("docs-openapi.json"))).await;
    assert_eq!(response.status(), 200);
    let description: serde_json::Value = serde_json::from_str(&response_text(&response)).unwrap();
    assert_eq!(description["openapi"], "3.1.0");
    assert_eq!(description["servers"][0]["url"], "/prod");
    let flow =
        &description["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"];
    assert_eq!(flow["tokenUrl"], "/prod/token");

    let mut local = event_json("docs-openapi.json");
    local["requestContext"]["path"] = "/openapi.json".into();
    let response = docs::handle(&docs(), request_from(&local)).await;
    let description: serde_json::Value = serde_json::from_str(&response_text(&response)).unwrap();
    assert_eq!(description["servers"][0]["url"], "/");
    assert_eq!(
        description["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"],
        "/token"
    );
}

#[tokio::test]
async fn the_page_forbids_framing_foreign_scripts_and_referrers() {
    let response = docs::handle(&docs(), request_from(&event_json("docs.json"))).await;
    let headers = response.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(
        !policy.contains("script-src 'self' 'unsafe-inline'"),
        "{policy}"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn switched_off_every_route_is_404() {
    let off = docs::State::from_source(&[("DOCS_ENABLED", "false")]).unwrap();
    for event in [
        event_json("docs.json"),
        asset_event("swagger-ui-bundle.js"),
        event_for_route("docs.json", "GET", "/openapi.json"),
    ] {
        let response = docs::handle(&off, request_from(&event)).await;
        assert_eq!(response.status(), 404);
        assert_eq!(response_json(&response)["error"], "not_found");
    }
    assert!(docs::State::from_source(&[("DOCS_ENABLED", "no")]).is_err());
    let on = docs::State::from_source(&[("DOCS_ENABLED", "true")]).unwrap();
    let page = docs::handle(&on, request_from(&event_json("docs.json"))).await;
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn the_passkeys_page_runs_only_its_own_script_against_the_documented_routes() {
    let response = docs::handle(&docs(), request_from(&asset_event("passkeys"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    let html = response_text(&response);
    assert!(html.contains(r#"<script src="passkeys.js"></script>"#));
    assert!(!html.contains("<script>"), "no inline script");
    let script = docs::handle(&docs(), request_from(&asset_event("passkeys.js"))).await;
    assert_eq!(script.headers()["content-type"], "application/javascript");
    let script = response_text(&script);
    for route in [
        "\"signup\"",
        "\"token\"",
        "\"passkeys/authentication-options\"",
        "\"users/me/passkeys/registration-options\"",
        "\"users/me/passkeys\"",
        "navigator.credentials.create",
        "navigator.credentials.get",
        "urn:lambda-auth:params:oauth:grant-type:passkey",
    ] {
        assert!(script.contains(route), "{route} in passkeys.js");
    }
    let css = docs::handle(&docs(), request_from(&asset_event("passkeys.css"))).await;
    assert_eq!(css.headers()["content-type"], "text/css");
}
