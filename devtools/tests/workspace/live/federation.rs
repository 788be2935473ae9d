//! Sign-in through upstream providers against real provider software: two issuers of panva's
//! `oidc-provider` (OpenID Certified; `devtools/upstream`) in front of the real function
//! binaries (two instances each) and a real database. The first issuer is trusted for
//! verified addresses, the second is not. Each attack the linking rules stop is tried here
//! over HTTP: a replayed or cross-browser `state`, a code from another issuer (mix-up), an
//! unverified (or untrusted) assertion of a victim's address, an unverified local sign-up
//! waiting for a social login's address, and parallel first logins with one identity.

use super::openid_connect::{Browser, form_marked};
use base64::Engine as _;
use devtools::stack::{Stack, StackOptions};
use reqwest::StatusCode;
use serde_json::Value;
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, MongoRelyingPartyStore, RelyingParty, RelyingPartyId,
    RelyingPartyStore as _,
};
use shared::access::scopes::Scopes;
use shared::identity::email_address::EmailAddress;
use shared::identity::identities::IdentityStore as _;
use shared::identity::users::UserStore as _;
use shared::stores::{MongoStores, Stores as _};

const REDIRECT: &str = "http://127.0.0.1/callback";
const VERIFIER: &str = "a-code-verifier-of-at-least-forty-three-characters-long";

struct Federated {
    stack: Stack,
    base: String,
    client: RelyingPartyId,
    stores: MongoStores,
    upstreams: devtools::upstream::Upstreams,
}

async fn federated(name: &str) -> Federated {
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let port = devtools::upstream::free_port().unwrap();
    let upstreams = devtools::upstream::start(
        &crate::support::workspace().join("devtools/upstream"),
        &["first", "second", "gh:github"],
        &format!("http://127.0.0.1:{port}/login/federated/callback"),
    )
    .await
    .unwrap_or_else(|error| panic!("{error} (make test installs it: `make upstream-provider`)"));
    let data_dir = std::env::temp_dir().join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    let stack = Stack::start(StackOptions {
        template: crate::support::workspace().join("template.yaml"),
        bin_dir: crate::support::bin_dir_with_functions(),
        data_dir: data_dir.clone(),
        port,
        instances: 2,
        mongodb_uri: None,
        database_name: name.to_owned(),
        secantusd: Some(secantusd.into()),
        keys: None,
        function_log_dir: None,
        log_requests: false,
        parameter_overrides: [(
            "FederationProviders".to_owned(),
            upstreams.providers_json.clone(),
        )]
        .into(),
        outbox_dir: Some(data_dir.join("outbox")),
        public_host: None,
        federation_secrets: Some(upstreams.secrets_json.clone()),
        hooks: Vec::new(),
        remove_data_dir_on_stop: true,
    })
    .await
    .expect("the local stack starts with its own server");
    let base = format!("http://{}", stack.address);
    let database = mongodb::Client::with_uri_str(&stack.mongodb_uri)
        .await
        .unwrap()
        .database(name);
    let party = RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Notes".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: vec![RedirectUri::register(REDIRECT).unwrap()],
        post_logout_redirect_uris: Vec::new(),
        scopes: Scopes::parse("openid profile email account"),
        first_party: true,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: std::time::SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    };
    MongoRelyingPartyStore::new(&database)
        .create(&party)
        .await
        .unwrap();
    let stores = MongoStores::new(&database, &Default::default());
    Federated {
        stack,
        base,
        client: party.id,
        stores,
        upstreams,
    }
}

impl Federated {
    /// An authorization request of the test client, with `extra` parameters.
    fn authorize_url(&self, extra: &str) -> String {
        let challenge = shared::authorization::pkce::s256(VERIFIER);
        format!(
            "{}/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid%20profile%20account&state=st&nonce=nc&code_challenge={challenge}&code_challenge_method=S256{extra}",
            self.base,
            self.client.as_str(),
            openidconnect::url::form_urlencoded::byte_serialize(REDIRECT.as_bytes())
                .collect::<String>(),
        )
    }

    /// From the sign-in page of `authorize_url`, through `provider` signed in there as
    /// `login`, up to the URL the provider sends the browser back to (not yet followed).
    async fn through_provider(
        &self,
        browser: &mut Browser,
        authorize_url: &str,
        provider: &str,
        login: &str,
    ) -> String {
        let (status, page, _) = browser.get(authorize_url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let href = provider_href(&page, provider);
        let (status, body, location) = browser.get(&format!("{}{href}", self.base)).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        self.at_provider(browser, &location.unwrap(), login).await
    }

    /// Follows the provider's pages from `url`, signing in as `login`, until it sends the
    /// browser back here; returns that URL.
    async fn at_provider(&self, browser: &mut Browser, url: &str, login: &str) -> String {
        let mut url = url.to_owned();
        let mut origin = origin_of(&url);
        for _ in 0..10 {
            if url.starts_with(&self.base) {
                return url;
            }
            let (status, page, location) = browser.get(&url).await;
            let next = match (status, location) {
                (status, Some(location)) if status.is_redirection() => location,
                (StatusCode::OK, None) => {
                    let form = [
                        ("prompt".to_owned(), "login".to_owned()),
                        ("login".to_owned(), login.to_owned()),
                        ("password".to_owned(), "anything".to_owned()),
                    ];
                    let (status, body, location) = browser.post(&url, &form).await;
                    assert!(status.is_redirection(), "{status} {body}");
                    location.unwrap()
                }
                (status, _) => panic!("the provider answered {status}: {page}"),
            };
            url = if next.starts_with("http") {
                next
            } else {
                format!("{origin}{next}")
            };
            if !url.starts_with(&self.base) {
                origin = origin_of(&url);
            }
        }
        panic!("the provider did not send the browser back")
    }

    /// Follows `callback` here and exchanges the code; the id_token's claims.
    async fn signed_in(&self, browser: &mut Browser, callback: &str) -> Value {
        let (status, body, location) = browser.get(callback).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let code = code_in(&location.unwrap());
        self.exchange(&code).await
    }

    /// Follows `callback` of a link from the session to the confirmation page, answers it
    /// with `decision`, and exchanges the code the request goes on with.
    async fn confirmed_link(&self, browser: &mut Browser, callback: &str, decision: &str) -> Value {
        let (status, page, _) = browser.get(callback).await;
        assert_eq!(status, StatusCode::OK, "the confirmation page: {page}");
        assert!(page.contains("<h1>Link "), "{page}");
        let (action, mut fields) = form_marked(&page, "action=\"/login/federated/link\"");
        fields.push(("decision".to_owned(), decision.to_owned()));
        let (status, body, location) = browser
            .post(&format!("{}{action}", self.base), &fields)
            .await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let code = code_in(&location.unwrap());
        self.exchange(&code).await
    }

    /// The id_token's claims and the access token of the sign-in `callback` completes.
    async fn signed_in_with_token(&self, browser: &mut Browser, callback: &str) -> (Value, String) {
        let (status, body, location) = browser.get(callback).await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let code = code_in(&location.unwrap());
        let tokens = self.tokens(&code).await;
        let access = tokens["access_token"].as_str().unwrap().to_owned();
        (claims_of(&tokens), access)
    }

    async fn exchange(&self, code: &str) -> Value {
        claims_of(&self.tokens(code).await)
    }

    async fn tokens(&self, code: &str) -> Value {
        let tokens: Value = reqwest::Client::new()
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", self.client.as_str()),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens
    }

    /// A password account whose address is verified.
    async fn verified_account(
        &self,
        username: &str,
        address: &str,
    ) -> shared::identity::account_id::AccountId {
        let status = reqwest::Client::new()
            .post(format!("{}/signup", self.base))
            .json(&serde_json::json!({ "username": username, "password": "correct horse battery staple" }))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::CREATED);
        let user = self
            .stores
            .users()
            .find(&shared::identity::credentials::Username::parse(username).unwrap())
            .await
            .unwrap()
            .unwrap();
        let address = EmailAddress::parse(address).unwrap();
        let now = std::time::SystemTime::now();
        assert!(
            self.stores
                .users()
                .set_pending_email(&user.id, Some(&address), 0, now)
                .await
                .unwrap()
        );
        self.stores
            .users()
            .verify_email(&user.id, &address, 0, now)
            .await
            .unwrap();
        user.id
    }
}

/// The link of the page's button for `provider`, unescaped.
fn provider_href(page: &str, provider: &str) -> String {
    let marker = format!("/login/federated?provider={provider}&#38;");
    let at = page
        .find(&marker)
        .unwrap_or_else(|| panic!("a button for {provider}: {page}"));
    let end = at + page[at..].find('"').unwrap();
    page[at..end].replace("&#38;", "&")
}

/// The code in the client's redirect `location`.
fn code_in(location: &str) -> String {
    openidconnect::url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("a code for the client")
}

/// The claims of the id_token in a token response.
fn claims_of(tokens: &Value) -> Value {
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    let payload = id_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// Forgets the provider's cookies (its session there), keeping this service's.
fn forget_provider_session(browser: &mut Browser) {
    browser
        .cookies
        .retain(|name, _| name.starts_with("lambda-auth-"));
}

fn origin_of(url: &str) -> String {
    openidconnect::url::Url::parse(url)
        .unwrap()
        .origin()
        .ascii_serialization()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_first_federated_login_creates_an_account_the_next_signs_in_to_it_and_a_state_works_once()
{
    let fed = federated("federation_first").await;
    let mut browser = Browser::new();
    let callback = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "first", "ada")
        .await;
    let claims = fed.signed_in(&mut browser, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]), "{claims}");
    assert_eq!(claims["preferred_username"], "ada");
    let (status, page, _) = browser.get(&callback).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a replayed state is refused: {page}"
    );

    let mut another = Browser::new();
    let again = fed
        .through_provider(&mut another, &fed.authorize_url(""), "first", "ada")
        .await;
    let (claims_again, access) = fed.signed_in_with_token(&mut another, &again).await;
    assert_eq!(
        claims_again["sub"], claims["sub"],
        "the same identity, the same account"
    );

    // The proposed name is replaced once, under the sign-up rules.
    let choose = |name: &'static str| {
        let (base, access) = (fed.base.clone(), access.clone());
        async move {
            reqwest::Client::new()
                .put(format!("{base}/users/me/username"))
                .bearer_auth(access)
                .json(&serde_json::json!({ "username": name }))
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(choose("ada.lovelace").await.status(), StatusCode::OK);
    let again = choose("countess").await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "username_chosen");

    let account =
        shared::identity::account_id::AccountId::parse(claims["sub"].as_str().unwrap()).unwrap();
    let identities = fed.stores.identities().list(&account).await.unwrap();
    assert_eq!(identities.len(), 1);
    assert!(identities[0].email_verified);
    let user = fed
        .stores
        .users()
        .find_by_id(&account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.email.unwrap().as_str(),
        "ada@example.com",
        "the trusted provider's verified address"
    );
    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_answer_from_another_issuer_or_another_browser_is_refused() {
    let fed = federated("federation_mixup").await;
    // A code the second issuer gave, with a state of a sign-in sent to the first.
    let mut browser = Browser::new();
    let from_second = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "second", "eve")
        .await;
    let second = openidconnect::url::Url::parse(&from_second).unwrap();
    let code_of_second = second
        .query_pairs()
        .find(|(name, _)| name == "code")
        .unwrap()
        .1
        .into_owned();
    for with_iss in [true, false] {
        let callback_of_first = {
            let (status, page, _) = browser.get(&fed.authorize_url("")).await;
            assert_eq!(status, StatusCode::OK);
            let href = provider_href(&page, "first");
            let (_, _, location) = browser.get(&format!("{}{href}", fed.base)).await;
            openidconnect::url::Url::parse(&location.unwrap()).unwrap()
        };
        let state_of_first = callback_of_first
            .query_pairs()
            .find(|(name, _)| name == "state")
            .unwrap()
            .1
            .into_owned();
        let mut mixed =
            openidconnect::url::Url::parse(&format!("{}/login/federated/callback", fed.base))
                .unwrap();
        mixed
            .query_pairs_mut()
            .append_pair("code", &code_of_second)
            .append_pair("state", &state_of_first);
        if with_iss {
            let iss = second
                .query_pairs()
                .find(|(name, _)| name == "iss")
                .unwrap()
                .1
                .into_owned();
            mixed.query_pairs_mut().append_pair("iss", &iss);
        }
        let (status, page, _) = browser.get(mixed.as_str()).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "mix-up (iss given: {with_iss}) refused: {page}"
        );
    }

    // A sign-in started in one browser, answered in another (login CSRF).
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let started_by_attacker = fed
        .through_provider(&mut attacker, &fed.authorize_url(""), "first", "mallory")
        .await;
    // The victim's browser has a federation cookie of its own, from a sign-in it started.
    let (_, page, _) = victim.get(&fed.authorize_url("")).await;
    let (status, _, _) = victim
        .get(&format!("{}{}", fed.base, provider_href(&page, "first")))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let (status, page, _) = victim.get(&started_by_attacker).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "another browser's answer: {page}"
    );
    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unverified_or_untrusted_assertion_of_a_victims_address_does_not_link() {
    let fed = federated("federation_unverified").await;
    let victim = fed.verified_account("victim", "victim@example.com").await;

    let mut attacker = Browser::new();
    let callback = fed
        .through_provider(
            &mut attacker,
            &fed.authorize_url(""),
            "first",
            "mallory|victim@example.com|unverified",
        )
        .await;
    let (status, page, _) = attacker.get(&callback).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Sign in to that account to link"), "{page}");
    let (action, mut fields) = form_marked(&page, "action=\"/login\"");
    fields.push(("username".to_owned(), "victim".to_owned()));
    fields.push(("password".to_owned(), "a guess that is wrong".to_owned()));
    let (status, _, _) = attacker
        .post(&format!("{}{action}", fed.base), &fields)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        fed.stores
            .identities()
            .list(&victim)
            .await
            .unwrap()
            .is_empty(),
        "not linked"
    );

    // email_verified true, from the issuer not trusted for it.
    let mut other = Browser::new();
    let untrusted = fed
        .through_provider(
            &mut other,
            &fed.authorize_url(""),
            "second",
            "trudy|victim@example.com",
        )
        .await;
    let (status, page, _) = other.get(&untrusted).await;
    assert_eq!(status, StatusCode::OK, "the owner must sign in: {page}");
    assert!(
        fed.stores
            .identities()
            .list(&victim)
            .await
            .unwrap()
            .is_empty(),
        "not linked"
    );

    // The owner, in the browser the identity came back to, signs in: then it links.
    let (action, mut fields) = form_marked(&page, "action=\"/login\"");
    fields.push(("username".to_owned(), "victim".to_owned()));
    fields.push((
        "password".to_owned(),
        "correct horse battery staple".to_owned(),
    ));
    let (status, page, _) = other.post(&format!("{}{action}", fed.base), &fields).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the owner confirms the link first: {page}"
    );
    assert!(
        page.contains("not verified"),
        "the page says the address is unverified: {page}"
    );
    assert!(
        fed.stores
            .identities()
            .list(&victim)
            .await
            .unwrap()
            .is_empty(),
        "not yet"
    );
    let (action, mut fields) = form_marked(&page, "action=\"/login/federated/link\"");
    fields.push(("decision".to_owned(), "allow".to_owned()));
    let (status, body, _) = other.post(&format!("{}{action}", fed.base), &fields).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let linked = fed.stores.identities().list(&victim).await.unwrap();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].subject, "trudy|victim@example.com");
    let mut later = Browser::new();
    let again = fed
        .through_provider(
            &mut later,
            &fed.authorize_url(""),
            "second",
            "trudy|victim@example.com",
        )
        .await;
    let claims = fed.signed_in(&mut later, &again).await;
    assert_eq!(claims["sub"], victim.as_str());
    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unverified_local_sign_up_does_not_capture_a_later_social_login_nor_do_parallel_first_logins_duplicate()
 {
    let fed = federated("federation_squat").await;
    let status = reqwest::Client::new()
        .post(format!("{}/signup", fed.base))
        .json(&serde_json::json!({ "username": "squatter", "password": "correct horse battery staple" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::CREATED);
    let squatter = fed
        .stores
        .users()
        .find(&shared::identity::credentials::Username::parse("squatter").unwrap())
        .await
        .unwrap()
        .unwrap();
    let address = EmailAddress::parse("late@example.com").unwrap();
    assert!(
        fed.stores
            .users()
            .set_pending_email(
                &squatter.id,
                Some(&address),
                0,
                std::time::SystemTime::now()
            )
            .await
            .unwrap()
    );

    let mut browser = Browser::new();
    let callback = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "first", "late")
        .await;
    let claims = fed.signed_in(&mut browser, &callback).await;
    assert_ne!(
        claims["sub"],
        squatter.id.as_str(),
        "the waiting address captured nothing"
    );

    // Six browsers come back with one new identity at once, across the instances.
    let mut callbacks = Vec::new();
    for _ in 0..6 {
        let mut browser = Browser::new();
        let callback = fed
            .through_provider(&mut browser, &fed.authorize_url(""), "first", "twin")
            .await;
        callbacks.push((browser, callback));
    }
    let finished =
        futures_util::future::join_all(callbacks.into_iter().map(|(mut browser, callback)| {
            let fed = &fed;
            async move { fed.signed_in(&mut browser, &callback).await }
        }))
        .await;
    let subjects: std::collections::BTreeSet<String> = finished
        .iter()
        .map(|claims| claims["sub"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(subjects.len(), 1, "one account: {subjects:?}");
    let twins = fed
        .stores
        .users()
        .list(&shared::identity::users::AccountQuery {
            prefix: Some("twin".to_owned()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        twins.len(),
        1,
        "the other first logins left no account: {twins:?}"
    );
    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_in_user_links_a_second_provider_and_signs_in_with_it() {
    let fed = federated("federation_link").await;
    let mut browser = Browser::new();
    let first = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "first", "grace")
        .await;
    let claims = fed.signed_in(&mut browser, &first).await;
    // Signed in moments ago: the link goes straight to the second provider.
    let (status, body, location) = browser
        .get(&fed.authorize_url("&link_provider=second"))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let back = fed
        .at_provider(&mut browser, &location.unwrap(), "grace-at-second")
        .await;
    let account =
        shared::identity::account_id::AccountId::parse(claims["sub"].as_str().unwrap()).unwrap();
    // Declined: nothing is linked, and the request goes on.
    let declined = fed.confirmed_link(&mut browser, &back, "deny").await;
    assert_eq!(declined["sub"], claims["sub"]);
    assert_eq!(
        fed.stores.identities().list(&account).await.unwrap().len(),
        1
    );
    let (status, body, location) = browser
        .get(&fed.authorize_url("&link_provider=second"))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let back = fed
        .at_provider(&mut browser, &location.unwrap(), "grace-at-second")
        .await;
    let linked = fed.confirmed_link(&mut browser, &back, "allow").await;
    assert_eq!(linked["sub"], claims["sub"]);
    assert_eq!(
        fed.stores.identities().list(&account).await.unwrap().len(),
        2
    );

    let mut later = Browser::new();
    let through_second = fed
        .through_provider(
            &mut later,
            &fed.authorize_url(""),
            "second",
            "grace-at-second",
        )
        .await;
    assert_eq!(
        fed.signed_in(&mut later, &through_second).await["sub"],
        claims["sub"]
    );
    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_way_to_sign_in_cannot_be_unlinked_even_by_parallel_unlinks() {
    let fed = federated("federation_unlink").await;
    let mut browser = Browser::new();
    let first = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "first", "hopper")
        .await;
    let (claims, access) = fed.signed_in_with_token(&mut browser, &first).await;
    let me = |access: String| {
        let base = fed.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/users/me"))
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let unlink = |access: String, id: String| {
        let base = fed.base.clone();
        async move {
            reqwest::Client::new()
                .delete(format!("{base}/users/me/identities/{id}"))
                .bearer_auth(access)
                .send()
                .await
                .unwrap()
        }
    };
    let account = me(access.clone()).await;
    assert_eq!(account["has_password"], false, "{account}");
    let only = account["identities"][0]["id"].as_str().unwrap().to_owned();
    let refused = unlink(access.clone(), only.clone()).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "last_sign_in_method");

    // Rounds: a second identity is linked from the session, then both are unlinked at once
    // (the two requests reach the two instances together): exactly one unlink wins.
    for round in 0..5 {
        let (provider, login) = if round % 2 == 0 {
            ("second", format!("hopper-{round}"))
        } else {
            ("first", format!("hopper-{round}"))
        };
        forget_provider_session(&mut browser);
        let (status, body, location) = browser
            .get(&fed.authorize_url(&format!("&link_provider={provider}")))
            .await;
        assert_eq!(status, StatusCode::FOUND, "{body}");
        let back = fed
            .at_provider(&mut browser, &location.unwrap(), &login)
            .await;
        let linked = fed.confirmed_link(&mut browser, &back, "allow").await;
        assert_eq!(linked["sub"], claims["sub"]);
        let account = me(access.clone()).await;
        let ids: Vec<String> = account["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|identity| identity["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2, "{account}");
        let answers =
            futures_util::future::join_all(ids.iter().map(|id| unlink(access.clone(), id.clone())))
                .await;
        let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
        assert!(
            statuses.contains(&StatusCode::NO_CONTENT) && statuses.contains(&StatusCode::CONFLICT),
            "round {round}: {statuses:?}"
        );
        let left = me(access.clone()).await["identities"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(left, 1, "round {round}: the account keeps a way to sign in");
    }
    fed.stack.stop().await;
}

impl Federated {
    /// What a native app's platform SDK does: signs in at the provider `id` as `login` for the
    /// client `client_id` with `nonce`, and gets the id_token itself.
    async fn platform_id_token(
        &self,
        id: &str,
        client_id: &str,
        login: &str,
        nonce: &str,
    ) -> String {
        let issuer = &self
            .upstreams
            .issuers
            .iter()
            .find(|(known, _)| known == id)
            .unwrap()
            .1;
        let secrets: Value = serde_json::from_str(&self.upstreams.secrets_json).unwrap();
        let secret = secrets[id].as_str().unwrap();
        let redirect = format!("{}/login/federated/callback", self.base);
        let verifier = "a-native-apps-own-verifier-of-forty-three-characters";
        let mut url = openidconnect::url::Url::parse(&format!("{issuer}/auth")).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", &redirect)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid email profile")
            .append_pair("state", "native")
            .append_pair("nonce", nonce)
            .append_pair(
                "code_challenge",
                &shared::authorization::pkce::s256(verifier),
            )
            .append_pair("code_challenge_method", "S256");
        let mut browser = Browser::new();
        let back = self.at_provider(&mut browser, url.as_str(), login).await;
        let code = openidconnect::url::Url::parse(&back)
            .unwrap()
            .query_pairs()
            .find(|(name, _)| name == "code")
            .unwrap()
            .1
            .into_owned();
        let tokens: Value = reqwest::Client::new()
            .post(format!("{issuer}/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("code_verifier", verifier),
                ("client_id", client_id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{tokens}"))
            .to_owned()
    }

    async fn token_exchange(&self, id_token: &str, nonce: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/token", self.base))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", id_token),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
                ("nonce", nonce),
                ("scope", "openid profile"),
                ("client_id", self.client.as_str()),
            ])
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_native_apps_id_token_is_exchanged_once_for_its_audience_and_nonce_only() {
    let fed = federated("federation_exchange").await;
    let id_token = fed
        .platform_id_token(
            "first",
            devtools::upstream::CLIENT_ID,
            "lovelace",
            "n-native-1",
        )
        .await;
    let wrong_nonce = fed.token_exchange(&id_token, "another-nonce").await;
    assert_eq!(wrong_nonce.status(), StatusCode::BAD_REQUEST);

    // Four presentations at once, across the instances: one is exchanged.
    let answers =
        futures_util::future::join_all((0..4).map(|_| fed.token_exchange(&id_token, "n-native-1")))
            .await;
    let statuses: Vec<StatusCode> = answers.iter().map(reqwest::Response::status).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == StatusCode::OK)
            .count(),
        1,
        "{statuses:?}"
    );
    let winner = answers
        .into_iter()
        .find(|answer| answer.status() == StatusCode::OK)
        .unwrap();
    let tokens: Value = winner.json().await.unwrap();
    let claims = claims_of(&tokens);
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(claims["preferred_username"], "lovelace");
    let replay = fed.token_exchange(&id_token, "n-native-1").await;
    assert_eq!(
        replay.status(),
        StatusCode::BAD_REQUEST,
        "a replay later too"
    );

    // The same identity through the hosted pages: the same account.
    let mut browser = Browser::new();
    let callback = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "first", "lovelace")
        .await;
    assert_eq!(
        fed.signed_in(&mut browser, &callback).await["sub"],
        claims["sub"]
    );

    // Another application's id_token (another audience) is not exchanged.
    let foreign = fed
        .platform_id_token("first", "other-app", "lovelace", "n-native-2")
        .await;
    let refused = fed.token_exchange(&foreign, "n-native-2").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant", "{body}");

    fed.stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_github_style_provider_signs_in_with_its_user_api_and_verified_primary_address() {
    let fed = federated("federation_github").await;
    let mut browser = Browser::new();
    let callback = fed
        .through_provider(&mut browser, &fed.authorize_url(""), "gh", "octo")
        .await;
    let claims = fed.signed_in(&mut browser, &callback).await;
    assert_eq!(claims["amr"], serde_json::json!(["fed"]));
    assert_eq!(claims["preferred_username"], "octo");
    let account =
        shared::identity::account_id::AccountId::parse(claims["sub"].as_str().unwrap()).unwrap();
    let identities = fed.stores.identities().list(&account).await.unwrap();
    assert_eq!(identities.len(), 1);
    let gh_issuer = &fed
        .upstreams
        .issuers
        .iter()
        .find(|(id, _)| id == "gh")
        .unwrap()
        .1;
    assert_eq!(&identities[0].issuer, gh_issuer);
    assert!(
        identities[0].subject.parse::<u64>().is_ok(),
        "keyed by the numeric user id: {}",
        identities[0].subject
    );
    let user = fed
        .stores
        .users()
        .find_by_id(&account)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user.email.unwrap().as_str(),
        "octo@example.com",
        "the primary verified address, not the unverified one listed first"
    );
    fed.stack.stop().await;
}
