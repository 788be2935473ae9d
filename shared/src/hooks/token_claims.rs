//! What a pre-token-generation answer may change, and the change itself. Claims that carry
//! this service's guarantees are never changed: a hook's attempt is ignored and logged.

use super::cognito::{PreTokenGenerationResponse, TokenGeneration};
use crate::access::scopes::Scopes;
use serde_json::{Map, Value};

/// Claims no hook adds, replaces or removes: who the token is for and from (`sub`, `iss`,
/// `aud`, `azp`, `client_id`), when it holds (`exp`, `iat`, `nbf`, `auth_time`), what revokes
/// it (`ver`, `sid`, `jti`), how the user signed in (`amr`, `acr`), what binds an id_token to
/// its request (`nonce`, `at_hash`, `c_hash`), and `scope` (changed only through
/// `scopesToAdd` and `scopesToSuppress`).
pub const RESERVED_CLAIMS: [&str; 20] = [
    "iss",
    "sub",
    "aud",
    "azp",
    "client_id",
    "exp",
    "iat",
    "nbf",
    "auth_time",
    "ver",
    "sid",
    "jti",
    "amr",
    "acr",
    "nonce",
    "at_hash",
    "c_hash",
    "scope",
    "token_use",
    "cnf",
];

/// The most JSON the added claims of one token may take: the authorizer reads tokens up to
/// [`crate::tokens::MAX_TOKEN_BYTES`], and the standard claims need the rest.
pub const MAX_ADDED_CLAIMS_BYTES: usize = 4 * 1024;

/// What the hook asked for one token, within the rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimChanges {
    /// Claims to add or replace.
    pub add: Map<String, Value>,
    /// Claims to leave out (only ones a token may lack: the profile claims of an id_token).
    pub suppress: Vec<String>,
}

impl ClaimChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.suppress.is_empty()
    }
}

/// The changes to one sign-in's tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenChanges {
    /// The access token's.
    pub access: ClaimChanges,
    /// The id_token's.
    pub id: ClaimChanges,
    /// The access token's scopes after the hook's additions and removals.
    pub scopes: Scopes,
}

/// A hook answer that cannot be applied at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

/// Applies `response` to tokens about to carry `scopes`. A scope may be added only when
/// `addable` has it (the account's roles' scopes), unless `any_scope` (the operator's opt-in,
/// `HOOK_SCOPES_BEYOND_ROLES`); anything else that breaks a rule is left out and logged.
pub fn changes(
    response: PreTokenGenerationResponse,
    scopes: &Scopes,
    addable: &Scopes,
    any_scope: bool,
) -> Result<TokenChanges, Unusable> {
    let Some(details) = response.claims_and_scope_override_details else {
        return Ok(TokenChanges {
            scopes: scopes.clone(),
            ..TokenChanges::default()
        });
    };
    if details
        .group_override_details
        .as_ref()
        .is_some_and(|value| !value.is_null())
    {
        tracing::warn!(
            "hook's groupOverrideDetails ignored: roles change only through the admin API"
        );
    }
    let access = details.access_token_generation.unwrap_or_default();
    let id = details.id_token_generation.unwrap_or_default();
    let mut granted = scopes.clone();
    for scope in &access.scopes_to_add {
        if !is_scope_token(scope) {
            tracing::warn!("hook's scopesToAdd has a value that is not one scope: ignored");
            continue;
        }
        if !any_scope && !addable.contains(scope) {
            tracing::warn!(
                scope,
                "hook's scope is not one the account's roles grant: ignored"
            );
            continue;
        }
        granted.extend(std::iter::once(scope.clone()));
    }
    let scopes = granted
        .iter()
        .filter(|scope| !access.scopes_to_suppress.iter().any(|gone| gone == scope))
        .map(str::to_owned)
        .collect();
    Ok(TokenChanges {
        access: claim_changes(&access, "access token")?,
        id: claim_changes(&id, "id_token")?,
        scopes,
    })
}

/// RFC 6749 section 3.3's `scope-token`.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope.len() <= 128
        && scope.bytes().all(|byte| {
            byte == 0x21 || (0x23..=0x5b).contains(&byte) || (0x5d..=0x7e).contains(&byte)
        })
}

fn claim_changes(generation: &TokenGeneration, token: &str) -> Result<ClaimChanges, Unusable> {
    let allowed = |name: &str| {
        let ok = !name.is_empty() && name.len() <= 256 && !RESERVED_CLAIMS.contains(&name);
        if !ok {
            tracing::warn!(
                claim = name,
                token,
                "hook may not change this claim: ignored"
            );
        }
        ok
    };
    let suppress: Vec<String> = generation
        .claims_to_suppress
        .iter()
        .filter(|name| allowed(name))
        .cloned()
        .collect();
    let add: Map<String, Value> = generation
        .claims_to_add_or_override
        .iter()
        .filter(|(name, _)| allowed(name) && !suppress.contains(name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let size = serde_json::to_string(&add).map_or(usize::MAX, |text| text.len());
    if size > MAX_ADDED_CLAIMS_BYTES {
        return Err(Unusable(format!(
            "the {token}'s added claims take {size} bytes, more than {MAX_ADDED_CLAIMS_BYTES}"
        )));
    }
    Ok(ClaimChanges { add, suppress })
}

/// The OpenID Connect standard claims a scope releases (Core, section 5.4).
const SCOPED_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

/// `changes` without the standard claims of scopes the user did not grant: a hook adds no
/// `email` to an id_token whose application was not given `email`.
pub fn within_granted(mut changes: ClaimChanges, granted: &Scopes) -> ClaimChanges {
    changes.add.retain(|name, _| {
        SCOPED_CLAIMS
            .iter()
            .all(|(scope, claims)| granted.contains(scope) || !claims.contains(&name.as_str()))
    });
    changes
}

/// `claims` (a token's JSON object) with `changes` applied.
pub fn apply(claims: &mut Map<String, Value>, changes: &ClaimChanges) {
    for name in &changes.suppress {
        claims.remove(name);
    }
    for (name, value) in &changes.add {
        claims.insert(name.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::cognito::read_response;

    fn scopes(text: &str) -> Scopes {
        Scopes::parse(text)
    }

    fn answer(json: &str) -> PreTokenGenerationResponse {
        read_response(
            format!(r#"{{"response":{{"claimsAndScopeOverrideDetails":{json}}}}}"#).as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn claims_are_added_and_reserved_ones_are_left_alone() {
        let response = answer(
            r#"{"accessTokenGeneration":{"claimsToAddOrOverride":{"tier":"gold","sub":"someone-else","exp":1,"scope":"admin","org":{"id":7}},
                "claimsToSuppress":["ver","sid"]},
              "idTokenGeneration":{"claimsToAddOrOverride":{"nonce":"x","locale":"fr"},"claimsToSuppress":["email","at_hash"]}}"#,
        );
        let changes = changes(response, &scopes("account"), &scopes("account"), false).unwrap();
        let added: Vec<&str> = changes.access.add.keys().map(String::as_str).collect();
        assert_eq!(added, ["org", "tier"]);
        assert!(changes.access.suppress.is_empty());
        assert_eq!(changes.id.add.keys().collect::<Vec<_>>(), ["locale"]);
        assert_eq!(changes.id.suppress, ["email"]);
        let mut claims = serde_json::json!({"sub":"me","email":"a@example.com","exp":9})
            .as_object()
            .unwrap()
            .clone();
        apply(&mut claims, &changes.id);
        assert_eq!(
            serde_json::Value::Object(claims),
            serde_json::json!({"sub":"me","exp":9,"locale":"fr"})
        );
    }

    #[test]
    fn scopes_are_added_only_within_the_roles_unless_the_operator_allows_any() {
        let response = || {
            answer(
                r#"{"accessTokenGeneration":{"scopesToAdd":["products:write","admin","two words"],"scopesToSuppress":["account"]}}"#,
            )
        };
        let roles = scopes("account products:write");
        let within = changes(response(), &scopes("account openid"), &roles, false).unwrap();
        assert_eq!(within.scopes.to_string(), "openid products:write");
        let any = changes(response(), &scopes("account openid"), &roles, true).unwrap();
        assert_eq!(any.scopes.to_string(), "admin openid products:write");
    }

    #[test]
    fn standard_claims_of_scopes_not_granted_are_not_added() {
        let changes = ClaimChanges {
            add: serde_json::json!({"email": "x@example.com", "name": "X", "tier": "gold"})
                .as_object()
                .unwrap()
                .clone(),
            suppress: Vec::new(),
        };
        let kept = within_granted(changes.clone(), &scopes("openid profile"));
        let names: Vec<&str> = kept.add.keys().map(String::as_str).collect();
        assert_eq!(names, ["name", "tier"]);
        let all = within_granted(changes, &scopes("openid profile email"));
        assert_eq!(all.add.len(), 3);
    }

    #[test]
    fn no_details_change_nothing_and_oversized_claims_are_unusable() {
        let none = changes(
            PreTokenGenerationResponse::default(),
            &scopes("account"),
            &Scopes::none(),
            false,
        )
        .unwrap();
        assert!(none.access.is_empty() && none.id.is_empty());
        assert_eq!(none.scopes.to_string(), "account");
        let big = "x".repeat(MAX_ADDED_CLAIMS_BYTES);
        let response = answer(&format!(
            r#"{{"accessTokenGeneration":{{"claimsToAddOrOverride":{{"blob":"{big}"}}}}}}"#
        ));
        assert!(changes(response, &Scopes::none(), &Scopes::none(), false).is_err());
    }
}
