//! Reads the routes, functions, TOKEN authorizers and gateway responses of the SAM template,
//! so the local API serves exactly what `template.yaml` deploys.

use regex::Regex;
use serde_norway::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// SAM's defaults when a function sets neither `Timeout` nor `MemorySize`.
const SAM_DEFAULT_TIMEOUT_SECONDS: u64 = 3;
const SAM_DEFAULT_MEMORY_MB: u64 = 128;

/// What the local API needs from the template.
#[derive(Debug, Clone)]
pub struct ApiModel {
    /// The API's stage name.
    pub stage: String,
    /// Every `Type: Api` event of every function, in template order.
    pub routes: Vec<Route>,
    /// Functions by logical id.
    pub functions: BTreeMap<String, FunctionSpec>,
    /// TOKEN authorizers by name.
    pub authorizers: BTreeMap<String, TokenAuthorizer>,
    /// Gateway responses by type (`UNAUTHORIZED`, `ACCESS_DENIED`, ...).
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
    /// The API's CORS configuration, answered on `OPTIONS` preflights.
    pub cors: Option<Cors>,
    /// The authorizer guarding preflights (`AddDefaultAuthorizerToCorsPreflight`, on by
    /// default in SAM): `None` when preflights are open.
    pub preflight_authorizer: Option<String>,
}

/// SAM's `Cors` settings, header values unquoted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cors {
    /// `Access-Control-Allow-Origin`.
    pub allow_origin: String,
    /// `Access-Control-Allow-Headers`.
    pub allow_headers: Option<String>,
    /// `Access-Control-Allow-Methods`.
    pub allow_methods: Option<String>,
    /// `Access-Control-Max-Age`.
    pub max_age: Option<String>,
    /// `Access-Control-Allow-Credentials: true` when set.
    pub allow_credentials: bool,
}

/// One method on one resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case HTTP method, or `ANY`.
    pub method: String,
    /// The resource path, with `{name}` and `{name+}` parameters.
    pub path: String,
    /// Logical id of the function behind it.
    pub function: String,
    /// Name of the authorizer in front of it, if any.
    pub authorizer: Option<String>,
}

/// A Lambda function as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The binary (`bootstrap`) name: `BuildProperties.Binary`, else the `CodeUri` folder name.
    pub binary: String,
    /// The function timeout.
    pub timeout: Duration,
    /// Configured memory in MB.
    pub memory_mb: u64,
    /// Environment variables with parameters resolved.
    pub environment: BTreeMap<String, String>,
}

/// A Lambda TOKEN authorizer.
#[derive(Debug, Clone)]
pub struct TokenAuthorizer {
    /// Logical id of the authorizer function.
    pub function: String,
    /// The identity source header.
    pub header: String,
    /// The token validation expression, anchored as API Gateway applies it.
    pub validation: Option<Regex>,
    /// How long a decision is cached per token (`ReauthorizeEvery`, default 300 s).
    pub cache_ttl: Duration,
}

/// A customised gateway response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayResponse {
    /// Status code override.
    pub status: Option<u16>,
    /// Extra headers (static values, quotes removed).
    pub headers: Vec<(String, String)>,
    /// The `application/json` body template.
    pub body_template: Option<String>,
}

/// Why the template could not be read.
#[derive(Debug, thiserror::Error)]
#[error("template.yaml: {0}")]
pub struct TemplateError(String);

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

/// Parses template text. `overrides` supply parameter values (as `sam deploy
/// --parameter-overrides` would); other parameters take their `Default`.
pub fn parse(text: &str, overrides: &BTreeMap<String, String>) -> Result<ApiModel, TemplateError> {
    let root: Value = serde_norway::from_str(text).map_err(|error| err(error.to_string()))?;
    let params = Parameters::new(&root, overrides)?;
    let resources = root
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or_else(|| err("no Resources"))?;
    let globals = root
        .get("Globals")
        .and_then(|globals| globals.get("Function"));

    let mut functions = BTreeMap::new();
    let mut routes = Vec::new();
    let mut apis = BTreeMap::new();
    for (id, resource) in resources {
        let id = id
            .as_str()
            .ok_or_else(|| err("resource id is not a string"))?
            .to_owned();
        match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::Serverless::Function") => {
                functions.insert(id.clone(), function_spec(&id, resource, globals, &params)?);
                routes.extend(api_routes(&id, resource)?);
            }
            Some("AWS::Serverless::Api") => {
                apis.insert(id, resource.clone());
            }
            _ => {}
        }
    }
    let (api_id, api) = match apis.len() {
        1 => apis.into_iter().next().expect("one API"),
        n => {
            return Err(err(format!(
                "expected exactly one AWS::Serverless::Api, found {n}"
            )));
        }
    };
    let properties = api
        .get("Properties")
        .ok_or_else(|| err(format!("{api_id} has no Properties")))?;
    let stage = params
        .resolve(properties.get("StageName"))
        .ok_or_else(|| err("the API has no StageName"))?;
    let auth = properties.get("Auth");
    let default_authorizer = auth.and_then(|auth| params.resolve(auth.get("DefaultAuthorizer")));
    let authorizers = authorizers(auth, &params)?;
    for route in &mut routes {
        route.authorizer = match route.authorizer.as_deref() {
            Some("NONE") => None,
            Some(name) => Some(name.to_owned()),
            None => default_authorizer.clone(),
        };
        if let Some(name) = &route.authorizer
            && !authorizers.contains_key(name)
        {
            return Err(err(format!(
                "route {} {} names unknown authorizer {name}",
                route.method, route.path
            )));
        }
        if !functions.contains_key(&route.function) {
            return Err(err(format!(
                "route {} {} has no function",
                route.method, route.path
            )));
        }
    }
    let gateway_responses = gateway_responses(properties.get("GatewayResponses"), &params);
    let cors = cors(properties.get("Cors"), &params)?;
    let preflight_open = auth
        .and_then(|auth| auth.get("AddDefaultAuthorizerToCorsPreflight"))
        .and_then(Value::as_bool)
        .is_some_and(|add| !add);
    let preflight_authorizer = if preflight_open {
        None
    } else {
        default_authorizer
    };
    Ok(ApiModel {
        stage,
        routes,
        functions,
        authorizers,
        gateway_responses,
        cors,
        preflight_authorizer,
    })
}

fn unquote(value: String) -> String {
    value.trim().trim_matches('\'').to_owned()
}

fn cors(declared: Option<&Value>, params: &Parameters) -> Result<Option<Cors>, TemplateError> {
    let Some(declared) = declared else {
        return Ok(None);
    };
    if let Some(origin) = params.resolve(Some(declared)) {
        return Ok(Some(Cors {
            allow_origin: unquote(origin),
            ..Cors::default()
        }));
    }
    let text = |key: &str| params.resolve(declared.get(key)).map(unquote);
    let allow_origin = text("AllowOrigin").ok_or_else(|| err("Cors needs AllowOrigin"))?;
    Ok(Some(Cors {
        allow_origin,
        allow_headers: text("AllowHeaders"),
        allow_methods: text("AllowMethods"),
        max_age: text("MaxAge"),
        allow_credentials: declared
            .get("AllowCredentials")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }))
}

struct Parameters(BTreeMap<String, String>);

impl Parameters {
    /// The declared parameters' defaults with `overrides` on top; like `sam deploy`, an
    /// override for a parameter the template does not declare is an error.
    fn new(root: &Value, overrides: &BTreeMap<String, String>) -> Result<Self, TemplateError> {
        let mut values = BTreeMap::new();
        let mut names = Vec::new();
        if let Some(declared) = root.get("Parameters").and_then(Value::as_mapping) {
            for (name, declaration) in declared {
                let Some(name) = name.as_str() else {
                    continue;
                };
                names.push(name);
                if let Some(default) = declaration.get("Default").and_then(scalar) {
                    values.insert(name.to_owned(), default);
                }
            }
        }
        if let Some(unknown) = overrides
            .keys()
            .find(|name| !names.contains(&name.as_str()))
        {
            return Err(err(format!("no parameter {unknown} in the template")));
        }
        values.extend(overrides.clone());
        values.insert("AWS::Region".to_owned(), "local".to_owned());
        values.insert("AWS::StackName".to_owned(), "local".to_owned());
        values.insert("AWS::AccountId".to_owned(), "123456789012".to_owned());
        values.insert("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned());
        Ok(Self(values))
    }

    /// A scalar, `!Ref Parameter` or `!Sub "...${Parameter}..."`, as a string.
    fn resolve(&self, value: Option<&Value>) -> Option<String> {
        let value = value?;
        if let Value::Tagged(tagged) = value {
            let inner = tagged.value.as_str()?;
            return match tagged.tag.to_string().as_str() {
                "!Ref" => self.0.get(inner).cloned(),
                "!Sub" => Some(self.substitute(inner)),
                _ => None,
            };
        }
        scalar(value)
    }

    fn substitute(&self, text: &str) -> String {
        let mut result = text.to_owned();
        for (name, value) in &self.0 {
            result = result.replace(&format!("${{{name}}}"), value);
        }
        result
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn function_spec(
    id: &str,
    resource: &Value,
    globals: Option<&Value>,
    params: &Parameters,
) -> Result<FunctionSpec, TemplateError> {
    let properties = resource
        .get("Properties")
        .ok_or_else(|| err(format!("{id} has no Properties")))?;
    let setting = |key: &str| {
        properties
            .get(key)
            .or_else(|| globals.and_then(|globals| globals.get(key)))
    };
    let number = |key: &str, default: u64| -> Result<u64, TemplateError> {
        match params.resolve(setting(key)) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| err(format!("{id}.{key} is not a number"))),
        }
    };
    let binary = resource
        .get("Metadata")
        .and_then(|metadata| metadata.get("BuildProperties"))
        .and_then(|build| params.resolve(build.get("Binary")))
        .or_else(|| {
            let code_uri = params.resolve(properties.get("CodeUri"))?;
            code_uri
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_owned)
        })
        .ok_or_else(|| {
            err(format!(
                "{id} has neither CodeUri nor BuildProperties.Binary"
            ))
        })?;

    let mut environment = BTreeMap::new();
    for source in [globals, Some(properties)] {
        let variables = source
            .and_then(|source| source.get("Environment"))
            .and_then(|environment| environment.get("Variables"))
            .and_then(Value::as_mapping);
        for (name, value) in variables.into_iter().flatten() {
            let name = name
                .as_str()
                .ok_or_else(|| err(format!("{id}: variable name is not a string")))?;
            let value = params
                .resolve(Some(value))
                .ok_or_else(|| err(format!("{id}: cannot resolve environment variable {name}")))?;
            environment.insert(name.to_owned(), value);
        }
    }
    Ok(FunctionSpec {
        binary,
        timeout: Duration::from_secs(number("Timeout", SAM_DEFAULT_TIMEOUT_SECONDS)?),
        memory_mb: number("MemorySize", SAM_DEFAULT_MEMORY_MB)?,
        environment,
    })
}

fn api_routes(id: &str, resource: &Value) -> Result<Vec<Route>, TemplateError> {
    let events = resource
        .get("Properties")
        .and_then(|properties| properties.get("Events"))
        .and_then(Value::as_mapping);
    let mut routes = Vec::new();
    for (_, event) in events.into_iter().flatten() {
        if event.get("Type").and_then(Value::as_str) != Some("Api") {
            continue;
        }
        let properties = event
            .get("Properties")
            .ok_or_else(|| err(format!("{id}: Api event has no Properties")))?;
        let text = |key: &str| {
            properties
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let path = text("Path").ok_or_else(|| err(format!("{id}: Api event has no Path")))?;
        let method = text("Method")
            .ok_or_else(|| err(format!("{id}: Api event has no Method")))?
            .to_uppercase();
        let authorizer = properties
            .get("Auth")
            .and_then(|auth| auth.get("Authorizer"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        routes.push(Route {
            method,
            path,
            function: id.to_owned(),
            authorizer,
        });
    }
    Ok(routes)
}

fn authorizers(
    auth: Option<&Value>,
    params: &Parameters,
) -> Result<BTreeMap<String, TokenAuthorizer>, TemplateError> {
    let mut result = BTreeMap::new();
    let declared = auth
        .and_then(|auth| auth.get("Authorizers"))
        .and_then(Value::as_mapping);
    for (name, authorizer) in declared.into_iter().flatten() {
        let name = name
            .as_str()
            .ok_or_else(|| err("authorizer name is not a string"))?
            .to_owned();
        let payload = authorizer
            .get("FunctionPayloadType")
            .and_then(Value::as_str)
            .unwrap_or("TOKEN");
        if payload != "TOKEN" {
            return Err(err(format!(
                "authorizer {name}: only TOKEN authorizers are served locally"
            )));
        }
        let function = match authorizer.get("FunctionArn") {
            Some(Value::Tagged(tagged)) if tagged.tag == "!GetAtt" => tagged
                .value
                .as_str()
                .and_then(|target| target.strip_suffix(".Arn"))
                .map(str::to_owned),
            _ => None,
        }
        .ok_or_else(|| {
            err(format!(
                "authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn"
            ))
        })?;
        let identity = authorizer.get("Identity");
        let header = identity
            .and_then(|identity| params.resolve(identity.get("Header")))
            .unwrap_or_else(|| "Authorization".to_owned());
        let validation = identity
            .and_then(|identity| params.resolve(identity.get("ValidationExpression")))
            .map(|expression| Regex::new(&format!("^(?:{expression})$")))
            .transpose()
            .map_err(|error| err(format!("authorizer {name}: ValidationExpression: {error}")))?;
        let ttl = identity.and_then(|identity| params.resolve(identity.get("ReauthorizeEvery")));
        let cache_ttl = match ttl {
            None => Duration::from_secs(300),
            Some(text) => Duration::from_secs(text.parse().map_err(|_| {
                err(format!(
                    "authorizer {name}: ReauthorizeEvery is not a number"
                ))
            })?),
        };
        result.insert(
            name,
            TokenAuthorizer {
                function,
                header,
                validation,
                cache_ttl,
            },
        );
    }
    Ok(result)
}

fn gateway_responses(
    declared: Option<&Value>,
    params: &Parameters,
) -> BTreeMap<String, GatewayResponse> {
    let mut result = BTreeMap::new();
    for (kind, response) in declared.and_then(Value::as_mapping).into_iter().flatten() {
        let Some(kind) = kind.as_str() else { continue };
        let status = params
            .resolve(response.get("StatusCode"))
            .and_then(|status| status.parse().ok());
        let headers = response
            .get("ResponseParameters")
            .and_then(|parameters| parameters.get("Headers"))
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(name, value)| {
                let value = params.resolve(Some(value))?;
                Some((name.as_str()?.to_owned(), unquote(value)))
            })
            .collect();
        let body_template = response
            .get("ResponseTemplates")
            .and_then(|templates| params.resolve(templates.get("application/json")));
        result.insert(
            kind.to_owned(),
            GatewayResponse {
                status,
                headers,
                body_template,
            },
        );
    }
    result
}

#[cfg(test)]
mod tests;
