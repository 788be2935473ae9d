//! Hooks against the real function binaries (two instances each), a real database and hook
//! functions run by the Runtime API emulator through the local Lambda service: a pre token
//! generation function written for Amazon Cognito (Node.js) runs unchanged and is judged by the
//! `openidconnect` crate; the Python and Rust examples add their claim; a hook that overreaches,
//! raises, stalls or answers garbage changes nothing it may not and issues no token.

use super::openid_connect::{PASSWORD, REDIRECT, relying_party, sign_in, signup, stack_with};
use devtools::hooks::LocalHook;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::Value;
use shared::identity::account_events::AccountEventStore as _;
use shared::identity::users::UserStore as _;
use shared::sessions::SessionStore as _;
use shared::stores::{MongoStores, Stores as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn hook(trigger: &str, path: &str) -> LocalHook {
    let program = crate::support::workspace().join(path);
    format!("{trigger}={}", program.display()).parse().unwrap()
}

fn log_dir(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{name}-logs-{}", uuid::Uuid::new_v4().simple()))
}

fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn password_grant(base: &str, username: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
}

async fn stores(stack: &devtools::stack::Stack, name: &str) -> MongoStores {
    let client = mongodb::Client::with_uri_str(&stack.mongodb_uri)
        .await
        .unwrap();
    MongoStores::new(&client.database(name), &Default::default())
}

async fn find(stores: &MongoStores, username: &str) -> shared::identity::users::User {
    let username = shared::identity::credentials::Username::parse(username).unwrap();
    stores
        .users()
        .find(&username)
        .await
        .unwrap()
        .expect("the account exists")
}

/// The hook metric lines (`Hook`, `Outcome`) the token function wrote.
fn hook_outcomes(log_dir: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(log_dir.join("token.log")).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("HookInvocations").is_some())
        .map(|line| {
            (
                line["Hook"].as_str().unwrap_or_default().to_owned(),
                line["Outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cognito_pre_token_generation_function_runs_unchanged_on_every_grant() {
    let name = "hookcognito";
    let logs = log_dir(name);
    let stack = stack_with(
        name,
        vec![hook(
            "pre-token-generation",
            "examples/hooks/cognito-claims-and-scopes.mjs",
        )],
        &[(
            "Roles",
            "admin=users:admin,clients:admin,products:write;editor=products:write",
        )],
        Some(logs.clone()),
    )
    .await;
    let base = format!("http://{}", stack.address);
    let stores = stores(&stack, name).await;

    // The password grant: claims added to the access token, which the authorizer accepts.
    signup(&base, "hana").await;
    let answer = password_grant(&base, "hana").await;
    assert_eq!(answer.status(), StatusCode::OK);
    let tokens: Value = answer.json().await.unwrap();
    let claims = claims_of(tokens["access_token"].as_str().unwrap());
    assert_eq!(claims["tenant"], "acme", "{claims}");
    assert_eq!(claims["username"], "hana");
    assert_eq!(claims["email_known"], false);
    let hana = find(&stores, "hana").await;
    assert_eq!(claims["sub"], hana.id.as_str());
    let me = reqwest::Client::new()
        .get(format!("{base}/users/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "the authorizer takes the customized token"
    );

    // The refresh grant runs the hook again.
    let refreshed: Value = reqwest::Client::new()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        claims_of(refreshed["access_token"].as_str().unwrap())["tenant"],
        "acme"
    );

    // An editor: the hook's scopesToAdd is kept off scopes the roles do not grant.
    signup(&base, "eddie").await;
    let eddie = find(&stores, "eddie").await;
    let changed = stores
        .users()
        .set_roles(
            &eddie.id,
            eddie.token_version,
            &["editor".to_owned()],
            std::time::SystemTime::now(),
        )
        .await
        .unwrap();
    assert!(changed);
    let tokens: Value = password_grant(&base, "eddie").await.json().await.unwrap();
    let scope = claims_of(tokens["access_token"].as_str().unwrap())["scope"].clone();
    assert_eq!(scope, "products:write", "reports:read is no role's scope");

    // The code flow, judged by the openidconnect crate: the id_token carries the hook's claims
    // without the suppressed email, and still verifies with its nonce and at_hash.
    let client_id = relying_party(&stack, name).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.as_str().to_owned()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = super::openid_connect::Browser::new();
    let returned = sign_in(&base, &mut browser, url.as_str(), "hana").await;
    let tokens = client
        .exchange_code(AuthorizationCode::new(returned["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().expect("an id_token");
    id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the customized id_token verifies");
    let id_claims = claims_of(&id_token.to_string());
    assert_eq!(id_claims["tenant"], "acme", "{id_claims}");
    assert_eq!(id_claims["groups"], serde_json::json!([]));
    assert_eq!(id_claims["sub"], hana.id.as_str());
    assert!(id_claims.get("email").is_none());
    assert_eq!(claims_of(tokens.access_token().secret())["tenant"], "acme");

    let outcomes = hook_outcomes(&logs);
    assert!(outcomes.len() >= 4, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|(hook, outcome)| hook == "pre-token-generation" && outcome == "answered"),
        "{outcomes:?}"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_python_and_rust_examples_add_their_claim() {
    let rust_hook = crate::support::bin_dir_with(&["add-claim-hook"]).join("add-claim-hook");
    for (name, program) in [
        (
            "hookpython",
            crate::support::workspace().join("examples/hooks/add_claim.py"),
        ),
        ("hookrust", rust_hook),
    ] {
        let hook: LocalHook = format!("pre-token-generation={}", program.display())
            .parse()
            .unwrap();
        let stack = stack_with(name, vec![hook], &[], None).await;
        let base = format!("http://{}", stack.address);
        signup(&base, "pat").await;
        let tokens: Value = password_grant(&base, "pat").await.json().await.unwrap();
        let claims = claims_of(tokens["access_token"].as_str().expect("a token"));
        assert_eq!(claims["plan"], "free", "{name}: {claims}");
        stack.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hook_that_overreaches_raises_stalls_or_answers_garbage_issues_nothing_it_may_not() {
    let name = "hookrules";
    let logs = log_dir(name);
    let stack = stack_with(
        name,
        vec![hook(
            "pre-token-generation",
            "devtools/tests/hooks/pre-token-modes.mjs",
        )],
        &[("HookTimeoutMilliseconds", "1000")],
        Some(logs.clone()),
    )
    .await;
    let base = format!("http://{}", stack.address);
    let stores = stores(&stack, name).await;
    for user in ["overreach", "raise", "slow", "garbage"] {
        signup(&base, user).await;
    }

    // Overreaching, eight times in parallel across both instances: only `kept` is added.
    let answers =
        futures_util::future::join_all((0..8).map(|_| password_grant(&base, "overreach"))).await;
    let overreach = find(&stores, "overreach").await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        let tokens: Value = answer.json().await.unwrap();
        let claims = claims_of(tokens["access_token"].as_str().unwrap());
        assert_eq!(claims["kept"], true, "{claims}");
        assert_eq!(claims["sub"], overreach.id.as_str());
        assert_eq!(claims["ver"], 0);
        assert!(claims["exp"].as_u64().unwrap() < 4_000_000_000);
        assert!(
            claims.get("scope").is_none(),
            "no scope beyond the roles: {claims}"
        );
        assert!(claims["sid"].is_string() && claims["amr"] == serde_json::json!(["pwd"]));
    }

    // Raising, stalling, garbage: 503, no detail of the hook, the session ended, the account's
    // history says so, and a stalled hook does not hold the login.
    for user in ["raise", "slow", "garbage"] {
        let started = Instant::now();
        let answer = password_grant(&base, user).await;
        let elapsed = started.elapsed();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE, "{user}");
        assert!(answer.headers().contains_key("retry-after"));
        let body = answer.text().await.unwrap();
        let error: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "service_unavailable");
        assert!(
            !body.contains("hunter2") && !body.contains("billing"),
            "{body}"
        );
        assert!(elapsed < Duration::from_secs(3), "{user}: {elapsed:?}");
        let account = find(&stores, user).await;
        let active = stores
            .sessions()
            .active_sessions(&account.id, std::time::SystemTime::now())
            .await
            .unwrap();
        assert!(
            active.is_empty(),
            "{user}: the session started for the tokens ended"
        );
        let events = stores.events().page(&account.id, None, 10).await.unwrap();
        assert!(
            events
                .iter()
                .any(|event| event.kind == shared::identity::account_events::EventKind::HookFailed),
            "{user}: {events:?}"
        );
    }
    let outcomes: Vec<String> = hook_outcomes(&logs)
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect();
    for expected in ["answered", "function_error", "timed_out", "malformed"] {
        assert!(
            outcomes.iter().any(|outcome| outcome == expected),
            "{expected}: {outcomes:?}"
        );
    }
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_migration_hook_imports_a_user_once_however_many_first_logins_race() {
    let name = "hookmigrate";
    let logs = log_dir(name);
    let stack = stack_with(
        name,
        vec![hook("user-migration", "examples/hooks/user_migration.py")],
        &[],
        Some(logs.clone()),
    )
    .await;
    let base = format!("http://{}", stack.address);
    let stores = stores(&stack, name).await;
    let login = |username: &'static str, password: &'static str| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{base}/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", username),
                    ("password", password),
                ])
                .send()
                .await
                .unwrap()
        }
    };

    // Unknown to the old system, or the wrong password: refused, and nothing is created.
    for (username, password) in [
        ("nobody", "old system passphrase"),
        ("olga", "a wrong passphrase"),
    ] {
        let answer = login(username, password).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{username}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "invalid_grant");
    }
    let olga_name = shared::identity::credentials::Username::parse("olga").unwrap();
    assert!(stores.users().find(&olga_name).await.unwrap().is_none());

    // Ten parallel first logins across both instances: each signs in, one account exists.
    let answers =
        futures_util::future::join_all((0..10).map(|_| login("olga", "old system passphrase")))
            .await;
    let mut subjects = std::collections::BTreeSet::new();
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        let tokens: Value = answer.json().await.unwrap();
        subjects.insert(claims_of(tokens["access_token"].as_str().unwrap())["sub"].to_string());
    }
    assert_eq!(subjects.len(), 1, "one account: {subjects:?}");
    let olga = find(&stores, "olga").await;
    assert_eq!(
        olga.email.as_ref().map(|email| email.as_str()),
        Some("olga@old.example"),
        "the old system's verified address"
    );
    assert!(
        olga.password_hash.starts_with("$argon2id$"),
        "the password is hashed here by argon2id"
    );
    let events = stores.events().page(&olga.id, None, 50).await.unwrap();
    let imported = events
        .iter()
        .filter(|event| event.kind == shared::identity::account_events::EventKind::AccountImported)
        .count();
    assert_eq!(imported, 1);

    // Now the account is here: the old system is not asked again, and the password signs in.
    let before = stack
        .gateway
        .pool("token")
        .map(|pool| pool.invocation_count());
    assert!(before.is_some());
    let calls_before = hook_outcomes_of(&logs, "user-migration");
    assert_eq!(
        login("olga", "old system passphrase").await.status(),
        StatusCode::OK
    );
    assert_eq!(hook_outcomes_of(&logs, "user-migration"), calls_before);

    // An unverified address of the old system is not taken.
    assert_eq!(
        login("oscar", "another old passphrase").await.status(),
        StatusCode::OK
    );
    assert!(find(&stores, "oscar").await.email.is_none());
    stack.stop().await;
}

/// How many times the token function called `hook`.
fn hook_outcomes_of(log_dir: &std::path::Path, hook: &str) -> usize {
    hook_outcomes(log_dir)
        .into_iter()
        .filter(|(name, _)| name == hook)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pre_sign_up_hook_refuses_with_its_message_or_verifies_and_stores_nothing_it_refused() {
    let name = "hooksignup";
    let stack = stack_with(
        name,
        vec![hook("pre-sign-up", "devtools/tests/hooks/pre-sign-up.mjs")],
        &[],
        None,
    )
    .await;
    let base = format!("http://{}", stack.address);
    let stores = stores(&stack, name).await;
    let http = reqwest::Client::new();
    let signup = |body: Value| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/signup"))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };

    // Refused over the API, four times in parallel: the hook's message, nothing stored.
    let answers = futures_util::future::join_all(
        (0..4).map(|_| signup(serde_json::json!({"username": "adminalice", "password": PASSWORD}))),
    )
    .await;
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "sign_up_refused");
        assert_eq!(body["message"], "Names starting with admin are reserved.");
    }
    let refused = shared::identity::credentials::Username::parse("adminalice").unwrap();
    assert!(stores.users().find(&refused).await.unwrap().is_none());

    // Refused on the hosted page, with the same message.
    let client_id = relying_party(&stack, name).await;
    let mut browser = super::openid_connect::Browser::new();
    let authorize = format!(
        "{base}/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid&state=s&code_challenge={}&code_challenge_method=S256&prompt=create",
        client_id.as_str(),
        "http%3A%2F%2F127.0.0.1%2Fcallback",
        shared::authorization::pkce::s256(
            "a-code-verifier-of-at-least-forty-three-characters-long"
        ),
    );
    let (status, page, _) = browser.get(&authorize).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (action, mut fields) = super::openid_connect::form_of(&page);
    fields.push(("username".to_owned(), "AdminBob".to_owned()));
    fields.push(("password".to_owned(), PASSWORD.to_owned()));
    let (status, page, _) = browser.post(&format!("{base}{action}"), &fields).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        page.contains("Names starting with admin are reserved."),
        "{page}"
    );

    // Allowed, with an address the hook vouches for: verified, and no code mailed.
    let answer = signup(serde_json::json!({
        "username": "tina", "password": PASSWORD, "email": "tina@example.org"
    }))
    .await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["email"]["verified"], true, "{body}");
    let tina = find(&stores, "tina").await;
    assert_eq!(
        tina.email.map(|e| e.as_str().to_owned()).as_deref(),
        Some("tina@example.org")
    );
    // Any other address waits for its code as without the hook.
    let answer = signup(serde_json::json!({
        "username": "uma", "password": PASSWORD, "email": "uma@example.com"
    }))
    .await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["email"]["verified"], false, "{body}");
    assert_eq!(body["email"]["verification_sent"], true, "{body}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn custom_messages_replace_the_mails_text_and_a_failing_confirmation_hook_changes_nothing() {
    let name = "hookmessages";
    let logs = log_dir(name);
    let stack = stack_with(
        name,
        vec![
            hook("custom-message", "examples/hooks/custom-message.mjs"),
            hook(
                "post-confirmation",
                "devtools/tests/hooks/post_confirmation_raises.py",
            ),
        ],
        &[],
        Some(logs.clone()),
    )
    .await;
    let base = format!("http://{}", stack.address);
    let stores = stores(&stack, name).await;
    let outbox = stack
        .outbox_dir
        .clone()
        .expect("the stack writes mail to files");
    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{base}/signup"))
        .json(&serde_json::json!({
            "username": "cora", "password": PASSWORD, "email": "cora@example.com"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let mails = devtools::outbox::messages(&outbox);
    let welcome = mails.last().expect("the verification mail");
    assert_eq!(welcome.subject, "Welcome to Acme: confirm your address");
    assert!(welcome.text.contains("Hello cora,"), "{}", welcome.text);
    let code = welcome
        .code()
        .expect("the code in the hook's body")
        .to_owned();
    assert!(!code.contains("{####}") && code.len() >= 8, "{code}");

    // The code verifies; the post-confirmation hook raises, and nothing else changes.
    let verified = http
        .post(format!("{base}/email/verify"))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    let cora = find(&stores, "cora").await;
    assert_eq!(
        cora.email.map(|e| e.as_str().to_owned()).as_deref(),
        Some("cora@example.com")
    );
    let events = stores.events().page(&cora.id, None, 20).await.unwrap();
    assert!(
        events
            .iter()
            .any(|event| event.kind == shared::identity::account_events::EventKind::HookFailed),
        "{events:?}"
    );
    let recovery_log = std::fs::read_to_string(logs.join("recovery.log")).unwrap();
    assert!(
        recovery_log.contains(r#""Hook":"post-confirmation","Outcome":"function_error""#),
        "the failure is counted"
    );
    assert!(
        !recovery_log.contains("the CRM is down"),
        "the hook's error stays out of the logs"
    );

    // The reset code comes in the hook's words too, and it works.
    let reset = http
        .post(format!("{base}/password-reset"))
        .json(&serde_json::json!({ "username": "cora" }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::ACCEPTED);
    let mails = devtools::outbox::messages(&outbox);
    let reset_mail = mails.last().unwrap();
    assert_eq!(reset_mail.subject, "Your Acme password reset");
    let code = reset_mail.code().unwrap().to_owned();
    let confirmed = http
        .post(format!("{base}/password-reset/confirm"))
        .json(&serde_json::json!({ "code": code, "new_password": "an entirely new passphrase 42" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        confirmed.status(),
        StatusCode::OK,
        "{}",
        confirmed.text().await.unwrap()
    );
    stack.stop().await;
}

/// The events the recording hook wrote (`EVENT {...}` lines) in `log_dir`.
fn recorded_events(log_dir: &std::path::Path) -> Vec<Value> {
    let mut events = Vec::new();
    for entry in std::fs::read_dir(log_dir).unwrap() {
        let path = entry.unwrap().path();
        let is_hook = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("hook-"));
        if !is_hook {
            continue;
        }
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if let Some(json) = line.strip_prefix("EVENT ") {
                events.push(serde_json::from_str(json).unwrap());
            }
        }
    }
    events
}

/// `event` read as the `aws_lambda_events` type of its trigger.
fn read_as_aws_lambda_events(event: &Value) -> Result<(), String> {
    use aws_lambda_events::event::cognito::{
        CognitoEventUserPoolsCustomMessage, CognitoEventUserPoolsMigrateUser,
        CognitoEventUserPoolsPostConfirmation, CognitoEventUserPoolsPreSignup,
        CognitoEventUserPoolsPreTokenGenV2,
    };
    let source = event["triggerSource"].as_str().unwrap_or_default();
    let value = event.clone();
    let read = match source {
        _ if source.starts_with("PreSignUp_") => {
            serde_json::from_value::<CognitoEventUserPoolsPreSignup>(value).map(|_| ())
        }
        _ if source.starts_with("PostConfirmation_") => {
            serde_json::from_value::<CognitoEventUserPoolsPostConfirmation>(value).map(|_| ())
        }
        _ if source.starts_with("TokenGeneration_") => {
            serde_json::from_value::<CognitoEventUserPoolsPreTokenGenV2>(value).map(|_| ())
        }
        _ if source.starts_with("UserMigration_") => {
            serde_json::from_value::<CognitoEventUserPoolsMigrateUser>(value).map(|_| ())
        }
        "CustomMessage_Notice" => return Ok(()),
        _ if source.starts_with("CustomMessage_") => {
            serde_json::from_value::<CognitoEventUserPoolsCustomMessage>(value).map(|_| ())
        }
        other => return Err(format!("no type for {other}")),
    };
    read.map_err(|error| format!("{source}: {error}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_sent_reads_as_cognito_in_aws_lambda_events_and_the_powertools_schemas() {
    let name = "hookshapes";
    let logs = log_dir(name);
    let recorder = "devtools/tests/hooks/record_events.py";
    let hooks = shared::hooks::Trigger::ALL
        .iter()
        .map(|trigger| hook(trigger.name(), recorder))
        .collect();
    let stack = stack_with(name, hooks, &[], Some(logs.clone())).await;
    let base = format!("http://{}", stack.address);
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();
    // Sign-up with an address (pre sign-up, the sign-up's code), its verification (post
    // confirmation), a password grant (pre token generation), an unknown name's sign-in and
    // reset request (user migration), a reset (its code) and a notice (the password changed).
    let created = post(
        "/signup",
        serde_json::json!({"username": "sam", "password": PASSWORD, "email": "sam@example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let outbox = stack.outbox_dir.clone().unwrap();
    let code = devtools::outbox::messages(&outbox)
        .last()
        .unwrap()
        .code()
        .unwrap()
        .to_owned();
    let verified = post("/email/verify", serde_json::json!({ "code": code }))
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::OK);
    assert_eq!(password_grant(&base, "sam").await.status(), StatusCode::OK);
    let _ = password_grant(&base, "newcomer").await;
    let _ = post(
        "/password-reset",
        serde_json::json!({"username": "stranger"}),
    )
    .await;
    let reset = post("/password-reset", serde_json::json!({"username": "sam"}))
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::ACCEPTED);
    let code = devtools::outbox::messages(&outbox)
        .last()
        .unwrap()
        .code()
        .unwrap()
        .to_owned();
    let confirmed = post(
        "/password-reset/confirm",
        serde_json::json!({"code": code, "new_password": "another fine passphrase 9"}),
    )
    .await
    .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    stack.stop().await;

    let events = recorded_events(&logs);
    let sources: std::collections::BTreeSet<String> = events
        .iter()
        .map(|event| event["triggerSource"].as_str().unwrap().to_owned())
        .collect();
    for expected in [
        "PreSignUp_SignUp",
        "CustomMessage_SignUp",
        "PostConfirmation_ConfirmSignUp",
        "TokenGeneration_Authentication",
        "UserMigration_Authentication",
        "UserMigration_ForgotPassword",
        "CustomMessage_ForgotPassword",
        "CustomMessage_Notice",
    ] {
        assert!(
            sources.contains(expected),
            "{expected} not among {sources:?}"
        );
    }
    for event in &events {
        for field in [
            "version",
            "triggerSource",
            "region",
            "userPoolId",
            "userName",
            "callerContext",
            "request",
            "response",
        ] {
            assert!(event.get(field).is_some(), "{field} missing: {event}");
        }
        read_as_aws_lambda_events(event).unwrap();
    }
    assert!(
        !events
            .iter()
            .any(|event| event["request"]["password"].is_string()
                && event["triggerSource"] != "UserMigration_Authentication"),
        "only the migration's sign-in event carries a password"
    );

    // The independent implementation: Powertools' zod schemas, in Node.
    let input: String = events.iter().map(|event| format!("{event}\n")).collect();
    let dir = crate::support::workspace().join("devtools/hooks");
    assert!(
        dir.join("node_modules/@aws-lambda-powertools/parser")
            .is_dir(),
        "the Powertools parser is missing: run `make hook-schemas`"
    );
    let mut node = tokio::process::Command::new("node")
        .arg(dir.join("validate-events.mjs"))
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use tokio::io::AsyncWriteExt as _;
    let mut stdin = node.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = node.wait_with_output().await.unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    for checked in [
        "ok PreSignUp_SignUp",
        "ok PostConfirmation_ConfirmSignUp",
        "ok TokenGeneration_Authentication",
        "ok UserMigration_Authentication",
        "ok CustomMessage_SignUp",
        "ok CustomMessage_ForgotPassword",
    ] {
        assert!(report.contains(checked), "{checked}: {report}");
    }
}
