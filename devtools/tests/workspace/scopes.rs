//! Scopes at the authorizer, proven against API Gateway's per-token cache: the policy the
//! authorizer answers for a token's first request, evaluated by the local gateway's reading
//! of API Gateway's matching rules, gives the right answer for every protected route, and the
//! routes it guards are exactly those the template puts behind it.

use crate::support::template_model;
use devtools::gateway::authorizer::{Decision, Outcome};
use shared::access::scopes::{Caller, PROTECTED_ROUTES, ProtectedRoute, SCOPES, Scopes};
use shared::testing::{token_pair, token_settings};
use shared::tokens::Authentication;
use std::collections::BTreeSet;
use std::time::SystemTime;

const ALICE: &str = "2bd806c97f0e00af1a1fc332";
const CLIENT: &str = "cl_abcdefghijklmnopqrstuvwx";
const STAGE: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod";

/// Method ARNs a request to `route` can have: each path parameter filled with an id-like
/// value and with `me`, so a wildcard of one route that would cover another route's literal
/// segment shows.
fn method_arns(route: &ProtectedRoute) -> Vec<String> {
    ["p-1a2b", "me"]
        .iter()
        .map(|value| {
            let path: Vec<&str> = route
                .path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        *value
                    } else {
                        segment
                    }
                })
                .collect();
            format!("{STAGE}/{}{}", route.method, path.join("/"))
        })
        .collect()
}

fn scope_sets() -> Vec<Scopes> {
    let mut sets = vec![
        Scopes::none(),
        SCOPES.iter().map(|(scope, _)| *scope).collect(),
    ];
    sets.extend(SCOPES.iter().map(|(scope, _)| Scopes::parse(scope)));
    sets
}

#[test]
fn the_authorizer_guards_exactly_the_routes_the_template_puts_behind_it() {
    let behind: BTreeSet<(String, String)> = template_model()
        .routes
        .into_iter()
        .filter(|route| route.authorizer.is_some())
        .map(|route| (route.method, route.path))
        .collect();
    let guarded: BTreeSet<(String, String)> = PROTECTED_ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(guarded, behind);
}

#[test]
fn a_cached_answer_for_any_first_route_is_right_for_every_route_and_scope_set() {
    let (issuer, verifier, _) = token_pair();
    let state = authorizer::State::new(verifier, token_settings());
    let with = |scopes: &Scopes, more: &str| Scopes::parse(&format!("{scopes} {more}"));
    let kinds = scope_sets().into_iter().flat_map(|scopes| {
        [
            (Caller::User, scopes.clone()),
            (Caller::Client, scopes.clone()),
            (Caller::RelyingParty, with(&scopes, "openid")),
            (Caller::RelyingParty, with(&scopes, "openid account")),
        ]
    });
    let relying_party = shared::access::client_id::RelyingPartyId::generate().unwrap();
    for (caller, scopes) in kinds {
        let token = match caller {
            Caller::User => {
                let mut login = Authentication::password(SystemTime::now());
                login.scopes = scopes.clone();
                issuer
                    .issue_for(ALICE, 0, &login, SystemTime::now())
                    .unwrap()
            }
            Caller::RelyingParty => {
                let mut login = Authentication::password(SystemTime::now());
                login.scopes = scopes.clone();
                login.client = Some(relying_party.as_str().to_owned());
                issuer
                    .issue_for(ALICE, 0, &login, SystemTime::now())
                    .unwrap()
            }
            Caller::Client => issuer
                .issue_for_client(
                    &token_settings().issuer,
                    CLIENT,
                    "0a1b2c3d",
                    &scopes,
                    SystemTime::now(),
                )
                .unwrap(),
        };
        for first in PROTECTED_ROUTES {
            let mut event = shared::testing::event_json("authorizer.json");
            event["authorizationToken"] = format!("Bearer {}", token.token).into();
            event["methodArn"] = method_arns(first)[0].clone().into();
            let request = serde_json::from_value(event).unwrap();
            let answer = authorizer::authorize(&state, &request).expect("a genuine token");
            let payload = serde_json::to_vec(&answer).unwrap();
            assert!(
                payload.len() < 8 * 1024,
                "{} bytes: keep the policy small",
                payload.len()
            );
            let decision = Decision::parse(&payload).expect("a well-formed answer");
            for route in PROTECTED_ROUTES {
                let expected = route.allows(caller, &scopes);
                for arn in method_arns(route) {
                    let outcome = decision.outcome(&arn);
                    assert_eq!(
                        matches!(outcome, Outcome::Allow(_)),
                        expected,
                        "{caller:?} with {scopes:?}, cached on {} {}, then {arn}: {outcome:?}",
                        first.method,
                        first.path
                    );
                }
            }
        }
    }
}

#[test]
fn a_plain_users_token_reaches_its_own_routes_and_no_scoped_one() {
    let plain = Scopes::none();
    for route in PROTECTED_ROUTES {
        let needs_scope = route.users.is_some_and(|scopes| !scopes.is_empty());
        assert_eq!(
            route.allows(Caller::User, &plain),
            !needs_scope,
            "{} {}",
            route.method,
            route.path
        );
    }
    let writes: Vec<_> = PROTECTED_ROUTES
        .iter()
        .filter(|route| route.path.starts_with("/products") && route.method != "GET")
        .collect();
    assert_eq!(writes.len(), 3);
    assert!(
        writes
            .iter()
            .all(|route| route.users == Some(&["products:write"][..]))
    );
}
