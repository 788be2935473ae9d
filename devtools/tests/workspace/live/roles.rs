//! Roles and scopes over HTTP through the local API, whose gateway caches the authorizer's
//! answer per token and evaluates its policy as API Gateway does: a plain user's token is
//! refused the scoped routes before and after its answer is cached, also in parallel from
//! every instance, while an editor's reaches both; `grant-role` makes the editor and ends
//! the sessions that carried the old scopes.

use super::local_api::{Local, start_with_parameters};
use devtools::roles::{RoleChange, change};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::access::roles::Roles;
use shared::identity::users::UserCollectionSettings;
use shared::stores::MongoStores;

const PASSWORD: &str = "correct horse battery staple";
/// The default roles and an editor of the catalogue.
const ROLES: &str = "admin=users:admin,clients:admin,products:write;editor=products:write";

impl Local {
    async fn create_product(&self, bearer: &str, id: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/products", self.url))
            .header("Authorization", bearer)
            .json(&json!({"id": id, "name": "Desk mat", "price_cents": 2500, "currency": "EUR"}))
            .send()
            .await
            .unwrap();
        (
            response.status(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    async fn grant(&self, username: &str, role: &str) -> RoleChange {
        let stores = MongoStores::new(&self.database, &UserCollectionSettings::default());
        let roles = Roles::parse(ROLES).unwrap();
        change(&stores, &roles, username, role, false)
            .await
            .unwrap()
    }
}

fn bearer(token: &Value) -> String {
    format!("Bearer {}", token.as_str().unwrap())
}

#[tokio::test]
async fn scopes_hold_at_the_gateway_before_and_after_its_answer_is_cached() {
    let local = start_with_parameters(&[("Roles", ROLES)]).await;
    let user = format!("Bearer {}", local.access_token("ursula", PASSWORD).await);
    assert_eq!(
        local.signup("adam", PASSWORD).await.status(),
        StatusCode::CREATED
    );
    let before_grant = local.login("adam", PASSWORD).await;
    assert!(before_grant.get("scope").is_none());

    // A plain user: the list first (an Allow gets cached), then the write, then both again.
    assert_eq!(
        local.get("/products", Some(&user)).await.status(),
        StatusCode::OK
    );
    let (status, body) = local.create_product(&user, "prod-user").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let invocations = local.authorizer_invocations();
    let refused = join_all((0..12).map(|n| {
        let user = user.clone();
        let local = &local;
        async move {
            local
                .create_product(&user, &format!("prod-user-{n}"))
                .await
                .0
        }
    }))
    .await;
    assert!(
        refused
            .iter()
            .all(|status| *status == StatusCode::FORBIDDEN),
        "{refused:?}"
    );
    assert_eq!(
        local.get("/products", Some(&user)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        local.authorizer_invocations(),
        invocations,
        "every answer came from the cached policy"
    );

    // grant-role: the old token dies with the sessions; the next login carries the scopes.
    assert_eq!(
        local.grant("Adam", "editor").await,
        RoleChange::Changed(vec!["editor".to_owned()])
    );
    assert_eq!(
        local.grant("adam", "editor").await,
        RoleChange::Unchanged(vec!["editor".to_owned()])
    );
    assert_eq!(
        local.me_status(&before_grant["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        local.refresh(&before_grant["refresh_token"]).await.0,
        StatusCode::BAD_REQUEST
    );
    let admin_login = local.login("adam", PASSWORD).await;
    assert_eq!(admin_login["scope"], "products:write");
    let admin = bearer(&admin_login["access_token"]);
    assert_eq!(
        local.get("/products", Some(&admin)).await.status(),
        StatusCode::OK
    );
    let (status, body) = local.create_product(&admin, "prod-admin").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        local.get("/users/me", Some(&admin)).await.status(),
        StatusCode::OK
    );

    // Read from the database: another instance may show its cached catalogue for a minute.
    let stored: Vec<String> = local
        .database
        .collection::<mongodb::bson::Document>("products")
        .distinct("_id", mongodb::bson::doc! {})
        .await
        .unwrap()
        .into_iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect();
    assert!(stored.contains(&"prod-admin".to_owned()));
    assert!(
        !stored.iter().any(|id| id.starts_with("prod-user")),
        "no refused write stored anything: {stored:?}"
    );
    local.stack.stop().await;
}
