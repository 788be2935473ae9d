//! `GET /docs`: Swagger UI for `openapi.yaml`, with "Authorize" wired to the OAuth2 password
//! flow on `/token`, as the FastAPI app offers, and to the authorization code flow with PKCE
//! through `/authorize` as the relying party `DOCS_CLIENT_ID`. Every asset is embedded at build time from
//! the pinned npm package `swagger-ui-dist`; the page loads nothing from the internet.
//! `GET /docs/passkeys` is a demo page for passkeys (registration and sign-in through
//! `navigator.credentials`). `GET /openapi.json` serves the description with its server URL and `tokenUrl` pointed at
//! the stage the request came through.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Value, json};
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{ApiError, Route, json_response, not_found, route};

const DESCRIPTION: &str = include_str!("../../../openapi.yaml");

macro_rules! swagger_asset {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/node_modules/swagger-ui-dist/",
            $name
        ))
    };
}

/// Starts Swagger UI on the page; a file of its own, so the page's policy allows no inline
/// script. `CLIENT_ID` becomes the relying party the Authorize dialog's authorization code
/// flow signs in as (with PKCE; its redirect page is `/docs/oauth2-redirect.html`).
const INIT_SCRIPT: &str = r##"window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: true,
  oauth2RedirectUrl: new URL("docs/oauth2-redirect.html", window.location.href).toString()
});
window.ui.initOAuth({
  clientId: CLIENT_ID,
  scopes: "openid profile account",
  usePkceWithAuthorizationCodeGrant: true
});
"##;

/// The embedded assets: name, media type, bytes. All are text, so API Gateway needs no
/// binary media types; the favicon goes into the page as a data URI.
const ASSETS: [(&str, &str, &[u8]); 6] = [
    (
        "swagger-ui-bundle.js",
        "application/javascript",
        swagger_asset!("swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css",
        swagger_asset!("swagger-ui.css"),
    ),
    (
        "oauth2-redirect.html",
        "text/html; charset=utf-8",
        swagger_asset!("oauth2-redirect.html"),
    ),
    (
        "oauth2-redirect.js",
        "application/javascript",
        swagger_asset!("oauth2-redirect.js"),
    ),
    (
        "passkeys.js",
        "application/javascript",
        include_bytes!("passkeys/page.js"),
    ),
    (
        "passkeys.css",
        "text/css",
        include_bytes!("passkeys/page.css"),
    ),
];

/// `GET /docs/passkeys`: a page that signs up, registers a passkey and signs in with it
/// through `navigator.credentials` and this API's routes.
const PASSKEYS_PAGE: &str = include_str!("passkeys/page.html");

/// The page's Content-Security-Policy: its own scripts and styles only (Swagger UI sets
/// inline styles), images from itself or data URIs, requests to this API only, and no
/// framing (against clickjacking of the Authorize dialog).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const FAVICON: &[u8] = swagger_asset!("favicon-32x32.png");

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>lambda-auth API</title>
  <link rel="icon" type="image/png" href="data:image/png;base64,FAVICON">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-init.js"></script>
</body>
</html>
"##;

/// The description and the page, prepared once per execution environment.
pub struct State {
    description: Value,
    page: String,
    init_script: String,
    enabled: bool,
}

/// Why the docs function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The embedded `openapi.yaml` does not parse.
    #[error("openapi.yaml: {0}")]
    Description(#[from] serde_norway::Error),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl State {
    /// Parses the embedded `openapi.yaml` and renders the page; serving them.
    pub fn new() -> Result<Self, serde_norway::Error> {
        use base64::Engine as _;
        let favicon = base64::engine::general_purpose::STANDARD.encode(FAVICON);
        Ok(Self {
            description: serde_norway::from_str(DESCRIPTION)?,
            page: PAGE.replace("FAVICON", &favicon),
            init_script: init_script(None),
            enabled: true,
        })
    }

    /// [`State::new`], switched off when `DOCS_ENABLED` is `false` (every route is then a
    /// `404`, as if it did not exist), its Authorize dialog signing in as the relying party
    /// `DOCS_CLIENT_ID` (empty: the user types one).
    pub fn from_source(source: &impl Source) -> Result<Self, StartError> {
        let client = source
            .get("DOCS_CLIENT_ID")
            .filter(|id| !id.trim().is_empty());
        if let Some(id) = &client
            && shared::access::client_id::RelyingPartyId::parse(id.trim()).is_none()
        {
            return Err(StartError::Config(ConfigError::Invalid {
                var: "DOCS_CLIENT_ID",
                reason: "must be a relying party id (rp_ and 24 letters or digits)".to_owned(),
            }));
        }
        Ok(Self {
            enabled: shared::platform::config::flag(source, "DOCS_ENABLED", true)?,
            init_script: init_script(client.as_deref().map(str::trim)),
            ..Self::new()?
        })
    }

    /// The description for clients that reach the API under `base` (`""` or `/prod`).
    pub fn description_for(&self, base: &str) -> Value {
        let mut description = self.description.clone();
        let server = if base.is_empty() { "/" } else { base };
        description["servers"] = json!([{ "url": server, "description": "This API" }]);
        let flow = &mut description["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
            ["password"];
        flow["tokenUrl"] = json!(format!("{base}/token"));
        flow["refreshUrl"] = json!(format!("{base}/token"));
        let flow = &mut description["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
            ["authorizationCode"];
        flow["authorizationUrl"] = json!(format!("{base}/authorize"));
        flow["tokenUrl"] = json!(format!("{base}/token"));
        flow["refreshUrl"] = json!(format!("{base}/token"));
        description
    }
}

/// The page's start-up script, naming `client` (a checked relying party id) for the
/// authorization code flow.
fn init_script(client: Option<&str>) -> String {
    let client = client.map_or_else(|| "\"\"".to_owned(), |id| json!(id).to_string());
    INIT_SCRIPT.replace("CLIENT_ID", &client)
}

/// What a route of this function serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The Swagger UI page.
    Page,
    /// One of the page's embedded assets.
    Asset,
    /// The OpenAPI description.
    Description,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 3] = [
    (Route::get("/docs"), Endpoint::Page),
    (Route::get("/docs/{asset}"), Endpoint::Asset),
    (Route::get("/openapi.json"), Endpoint::Description),
];

/// Handles `/docs`, `/docs/{asset}` and `/openapi.json`; any other route is a `404`. Every
/// outcome is a response.
pub async fn handle(docs: &State, request: Request) -> Response<Body> {
    if !docs.enabled {
        return ApiError::NotFound.into_response();
    }
    match route(&request, &ROUTES) {
        Some(Endpoint::Description) => public(json_response(
            StatusCode::OK,
            &docs.description_for(&base_path(&request)),
        )),
        Some(Endpoint::Asset) => {
            let path = request.raw_http_path();
            match path.rsplit_once("/docs/").map_or("", |(_, name)| name) {
                "passkeys" => page(PASSKEYS_PAGE),
                "swagger-init.js" => script(&docs.init_script),
                name => asset(name),
            }
        }
        // `/docs/` matches the `/docs` resource too, but the page's relative asset links
        // only resolve from `/docs`.
        Some(Endpoint::Page) if request.raw_http_path().ends_with('/') => asset(""),
        Some(Endpoint::Page) => page(&docs.page),
        None => not_found(&request),
    }
}

/// The part of the client's path before the resource path: the stage (`/prod`) on an
/// execute-api URL, a base path on a custom domain, nothing locally.
fn base_path(request: &Request) -> String {
    let client_path = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.path.clone(),
        _ => None,
    };
    let resource_path = request.raw_http_path();
    client_path
        .as_deref()
        .and_then(|full| full.strip_suffix(&*resource_path))
        .unwrap_or("")
        .trim_end_matches('/')
        .to_owned()
}

fn page(html: &str) -> Response<Body> {
    let mut response = Response::new(Body::Text(html.to_owned()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    public(response)
}

fn asset(name: &str) -> Response<Body> {
    let Some((_, media_type, bytes)) = ASSETS.iter().find(|(known, _, _)| *known == name) else {
        return json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": "not_found", "message": "no such asset" }),
        );
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut response = Response::new(Body::Text(text));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    public(response)
}

/// The start-up script, made for this deployment's client id.
fn script(text: &str) -> Response<Body> {
    let mut response = Response::new(Body::Text(text.to_owned()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript"),
    );
    public(response)
}

/// Cacheable by anyone for an hour: the page, the assets and the description change only
/// with a deployment.
fn public(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
