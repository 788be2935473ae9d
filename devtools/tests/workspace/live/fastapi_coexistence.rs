//! The FastAPI tutorial app and this project serving the same users side by side, as the
//! switch-over in docs/src/fastapi.md describes: the tutorial's app (rebuilt in `devtools/fastapi-app`,
//! with the two-line change that chapter gives) runs as its own Python process against the
//! shared `user_model` collection, before and after this project rehashes a password and
//! before and after `migrate --apply`. `FASTAPI_APP_PYTHON` names the Python that has the
//! app's dependencies (`make integration` installs them).

use super::local_api::{Local, start_with_parameters};
use crate::support::workspace;
use reqwest::StatusCode;
use serde_json::json;
use shared::identity::users::UserCollectionSettings;

/// What the tutorial app answered, as its status code.
fn fastapi_app(local: &Local, stock: bool, command: &str, username: &str, password: &str) -> u16 {
    let python = std::env::var("FASTAPI_APP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "FASTAPI_APP_PYTHON is not set: it names a Python with the FastAPI app's \
             dependencies; `make integration` installs them and sets it"
        )
    });
    let uri = std::env::var("MONGODB_TEST_URI").expect("MONGODB_TEST_URI");
    let output = std::process::Command::new(python)
        .arg(workspace().join("devtools/fastapi-app/app.py"))
        .args([command, username, password])
        .env("MONGODB_URI", uri)
        .env("DB_NAME", local.database.name())
        .env("FASTAPI_APP_STOCK", if stock { "1" } else { "0" })
        .output()
        .expect("the FastAPI app runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.trim().parse().expect("a status code")
}

/// The tutorial app with the change docs/src/fastapi.md gives.
fn changed(local: &Local, command: &str, username: &str, password: &str) -> u16 {
    fastapi_app(local, false, command, username, password)
}

async fn password_hash(local: &Local, username: &str) -> String {
    let users = local
        .database
        .collection::<mongodb::bson::Document>("user_model");
    let document = users
        .find_one(mongodb::bson::doc! { "username": username })
        .await
        .unwrap()
        .expect("the account exists");
    document.get_str("password").unwrap().to_owned()
}

#[tokio::test]
async fn both_apps_serve_the_same_users_before_and_after_the_migration() {
    let local = start_with_parameters(&[
        ("UsersCollection", "user_model"),
        ("LegacyUserLookup", "true"),
    ])
    .await;
    let (carol, dave, erin) = ("carol", "dave", "erin");
    let (carols, daves, erins) = (
        "carol's first passphrase",
        "dave's own passphrase",
        "erin's tutorial passphrase",
    );

    // A user of the tutorial app, still on its sha256_crypt: both apps log her in, and this
    // project's login replaces the hash with argon2id.
    assert_eq!(fastapi_app(&local, true, "signup", carol, carols), 201);
    assert!(password_hash(&local, carol).await.starts_with("$5$"));
    assert_eq!(local.token(carol, carols).await.status(), StatusCode::OK);
    assert!(password_hash(&local, carol).await.starts_with("$argon2id$"));
    assert_eq!(
        changed(&local, "me", carol, carols),
        200,
        "the changed app reads argon2id"
    );
    assert_eq!(
        fastapi_app(&local, true, "login", carol, carols),
        500,
        "the stock app cannot: without the change the switch is one-way"
    );

    // A user who signed up here logs in there too.
    assert_eq!(
        local.signup(dave, daves).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(changed(&local, "me", dave, daves), 200);
    assert_eq!(changed(&local, "login", dave, "a wrong passphrase"), 401);

    // After migrate --apply, and for users the tutorial app signs up afterwards.
    let settings = UserCollectionSettings {
        collection: "user_model".to_owned(),
        legacy_lookup: true,
    };
    let report = devtools::migrate::run(&local.database, &settings, true, |_| {})
        .await
        .unwrap();
    assert!(report.collisions.is_empty());
    let look_alikes = report.look_alikes.expect("an applied pass keys the names");
    assert_eq!(
        (look_alikes.filled, look_alikes.groups.len()),
        (1, 0),
        "carol, the tutorial app's account, gets her look-alike key; dave had his from sign-up"
    );
    for (username, password) in [(carol, carols), (dave, daves)] {
        assert_eq!(changed(&local, "me", username, password), 200, "{username}");
        assert_eq!(
            local.token(username, password).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(changed(&local, "signup", erin, erins), 201);
    assert_eq!(local.token(erin, erins).await.status(), StatusCode::OK);
    assert_eq!(
        local
            .signup("ERIN", "someone else's passphrase")
            .await
            .status(),
        StatusCode::CONFLICT
    );

    // A case variant of an account here, made in the tutorial app while both run (its check
    // is case-sensitive): the owner keeps signing in, and the variant's password never
    // opens the owner's account.
    assert_eq!(
        changed(&local, "signup", "DAVE", "an impostor's passphrase"),
        201
    );
    assert_eq!(local.token(dave, daves).await.status(), StatusCode::OK);
    assert_eq!(local.token("DAVE", daves).await.status(), StatusCode::OK);
    assert_eq!(
        local
            .token("DAVE", "an impostor's passphrase")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );

    // A password changed here is the one the tutorial app checks.
    let session = local.login(carol, carols).await;
    let new_password = "carol's second passphrase";
    let change = json!({"current_password": carols, "new_password": new_password});
    let (status, body) = local
        .post_with_token("/users/me/password", &session["access_token"], Some(change))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(changed(&local, "login", carol, carols), 401);
    assert_eq!(changed(&local, "me", carol, new_password), 200);
    local.stack.stop().await;
}
