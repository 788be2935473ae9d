//! Matching a request path against the template's resource paths, as API Gateway does:
//! literal segments beat `{param}` segments, and `{param+}` takes the rest of the path.

use crate::template::Route;
use std::collections::BTreeMap;

/// A route that matched, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    /// The matched route.
    pub route: &'a Route,
    /// `{name}` values from the path, percent-decoded.
    pub path_parameters: BTreeMap<String, String>,
}

/// The best route for `method` and `path`, if any; a path served only for other methods is
/// no match (API Gateway answers both with "Missing Authentication Token").
pub fn find<'a>(routes: &'a [Route], method: &str, path: &str) -> Option<Matched<'a>> {
    routes
        .iter()
        .filter(|route| route.method == method || route.method == "ANY")
        .filter_map(|route| {
            let parameters = match_path(&route.path, path)?;
            let specificity = (
                route.method != "ANY",
                route
                    .path
                    .split('/')
                    .filter(|s| !s.starts_with('{'))
                    .count(),
            );
            Some((
                specificity,
                Matched {
                    route,
                    path_parameters: parameters,
                },
            ))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, matched)| matched)
}

/// Whether any route serves `path`, whatever its method (for CORS preflights).
pub fn path_exists(routes: &[Route], path: &str) -> bool {
    routes
        .iter()
        .any(|route| match_path(&route.path, path).is_some())
}

fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let template: Vec<&str> = template
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let path = path.trim_matches('/');
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    let mut parameters = BTreeMap::new();
    for (index, part) in template.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            let rest = segments.get(index..).filter(|rest| !rest.is_empty())?;
            parameters.insert(name.to_owned(), decode(&rest.join("/")));
            return Some(parameters);
        }
        let segment = segments.get(index)?;
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                parameters.insert(name.to_owned(), decode(segment));
            }
            Some(_) => return None,
            None if part == segment => {}
            None => return None,
        }
    }
    (segments.len() == template.len()).then_some(parameters)
}

fn decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            function: path.into(),
            authorizer: None,
        }
    }

    #[test]
    fn paths_match_literally_by_parameter_and_greedily() {
        let routes = vec![
            route("GET", "/users/me"),
            route("GET", "/users/{id}"),
            route("ANY", "/files/{path+}"),
            route("POST", "/signup"),
        ];
        let found = |method: &str, path: &str| {
            find(&routes, method, path).map(|m| (m.route.path.clone(), m.path_parameters))
        };
        assert_eq!(
            found("GET", "/users/me").unwrap().0,
            "/users/me",
            "literal beats parameter"
        );
        let (path, parameters) = found("GET", "/users/b%C3%B6b").unwrap();
        assert_eq!(
            (path.as_str(), parameters["id"].as_str()),
            ("/users/{id}", "böb")
        );
        let (_, parameters) = found("DELETE", "/files/a/b/c.txt").unwrap();
        assert_eq!(parameters["path"], "a/b/c.txt");
        assert!(found("GET", "/signup").is_none(), "wrong method");
        assert!(found("GET", "/users").is_none());
        assert!(found("GET", "/users/me/extra").is_none());
        assert!(
            found("GET", "/files/").is_none(),
            "a greedy parameter needs a value"
        );
        assert!(found("GET", "/nowhere").is_none());
        assert_eq!(
            found("POST", "/signup/").unwrap().0,
            "/signup",
            "trailing slash"
        );
    }
}
