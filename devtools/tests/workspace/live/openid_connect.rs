//! The OpenID Provider judged by a third-party client, the Rust `openidconnect` crate, against
//! the real function binaries (two instances each) and a real database: discovery, the code
//! flow with PKCE and a nonce through the hosted pages over HTTP, RS256 id_token verification
//! from the published JWKS (with `at_hash`), UserInfo, refresh; then a replayed code and
//! parallel exchanges of one code across the instances.

use devtools::stack::{Stack, StackOptions};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, MongoRelyingPartyStore, RelyingParty, RelyingPartyId,
    RelyingPartyStore as _,
};
use shared::access::scopes::Scopes;
use std::collections::BTreeMap;

pub(super) const PASSWORD: &str = "correct horse battery staple";
pub(super) const REDIRECT: &str = "http://127.0.0.1/callback";

async fn stack(name: &str) -> Stack {
    stack_with(name, Vec::new(), &[], None).await
}

/// A stack on a database server of its own running `hooks`, with template `parameters`, whose
/// functions append their output to `<log_dir>/<function>.log` when given.
pub(super) async fn stack_with(
    name: &str,
    hooks: Vec<devtools::hooks::LocalHook>,
    parameters: &[(&str, &str)],
    log_dir: Option<std::path::PathBuf>,
) -> Stack {
    let secantusd = std::env::var("SECANTUSD").unwrap_or_else(|_| {
        panic!("SECANTUSD is not set: run `make test`, or set it to the secantusd-rs binary `make tools` installs")
    });
    let data_dir = std::env::temp_dir().join(format!("{name}-{}", uuid::Uuid::new_v4().simple()));
    Stack::start(StackOptions {
        template: crate::support::workspace().join("template.yaml"),
        bin_dir: crate::support::bin_dir_with_functions(),
        data_dir: data_dir.clone(),
        port: 0,
        instances: 2,
        mongodb_uri: None,
        database_name: name.to_owned(),
        secantusd: Some(secantusd.into()),
        keys: None,
        function_log_dir: log_dir,
        log_requests: false,
        parameter_overrides: parameters
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect(),
        outbox_dir: Some(data_dir.join("outbox")),
        public_host: None,
        federation_secrets: None,
        hooks,
        remove_data_dir_on_stop: true,
    })
    .await
    .expect("the local stack starts with its own server")
}

/// Registers a public, first-party relying party straight in the stack's database.
pub(super) async fn relying_party(stack: &Stack, name: &str) -> RelyingPartyId {
    let client = mongodb::Client::with_uri_str(&stack.mongodb_uri)
        .await
        .unwrap();
    let store = MongoRelyingPartyStore::new(&client.database(name));
    let party = RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Notes".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: vec![RedirectUri::register(REDIRECT).unwrap()],
        post_logout_redirect_uris: Vec::new(),
        scopes: Scopes::parse("openid profile email offline_access"),
        first_party: true,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: std::time::SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    };
    store.create(&party).await.unwrap();
    party.id
}

/// A browser that keeps cookies and does not follow redirects.
pub(super) struct Browser {
    http: reqwest::Client,
    pub(super) cookies: BTreeMap<String, String>,
}

impl Browser {
    pub(super) fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let (pair, _) = value.to_str().unwrap().split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    pub(super) async fn get(&mut self, url: &str) -> (StatusCode, String, Option<String>) {
        let response = self
            .http
            .get(url)
            .header("Cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    pub(super) async fn post(
        &mut self,
        url: &str,
        form: &[(String, String)],
    ) -> (StatusCode, String, Option<String>) {
        let response = self
            .http
            .post(url)
            .header("Cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    async fn answer(
        &mut self,
        response: reqwest::Response,
    ) -> (StatusCode, String, Option<String>) {
        self.keep(&response);
        let status = response.status();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|value| value.to_str().unwrap().to_owned());
        (status, response.text().await.unwrap(), location)
    }
}

/// The page's first form: its action and hidden fields.
pub(super) fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let form = page.split("<form").nth(1).expect("a form");
    let page = form.split("</form>").next().unwrap();
    let action = page
        .split("action=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a form")
        .to_owned();
    let fields = page
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|rest| {
            let (name, rest) = rest.split_once('"').unwrap();
            let value = rest
                .split_once("value=\"")
                .unwrap()
                .1
                .split_once('"')
                .unwrap()
                .0;
            let value = value
                .replace("&#43;", "+")
                .replace("&#61;", "=")
                .replace("&#x2f;", "/")
                .replace("&#47;", "/")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            (name.to_owned(), value)
        })
        .collect();
    (action, fields)
}

/// The action and hidden fields of the page's form whose opening tag holds `marker`.
pub(super) fn form_marked(page: &str, marker: &str) -> (String, Vec<(String, String)>) {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("a form with {marker}: {page}"));
    let start = page[..at].rfind("<form").expect("a form around the marker");
    form_of(&page[start..])
}

/// Signs in through the hosted pages at `authorize_url`; the redirect's query.
pub(super) async fn sign_in(
    base: &str,
    browser: &mut Browser,
    authorize_url: &str,
    username: &str,
) -> BTreeMap<String, String> {
    let (status, page, _) = browser.get(authorize_url).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (action, mut fields) = form_of(&page);
    fields.push(("username".to_owned(), username.to_owned()));
    fields.push(("password".to_owned(), PASSWORD.to_owned()));
    let (status, body, location) = browser.post(&format!("{base}{action}"), &fields).await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let location = openidconnect::url::Url::parse(&location.unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next(), Some(REDIRECT));
    location.query_pairs().into_owned().collect()
}

pub(super) async fn signup(base: &str, username: &str) {
    let status = reqwest::Client::new()
        .post(format!("{base}/signup"))
        .json(&json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openidconnect_crate_signs_in_verifies_the_id_token_reads_userinfo_and_refreshes() {
    let stack = stack("oidc").await;
    let base = format!("http://{}", stack.address);
    signup(&base, "olivia").await;
    let client_id = relying_party(&stack, "oidc").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(base.clone()).unwrap(), &http)
            .await
            .expect("the discovery document is one openidconnect accepts");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.as_str().to_owned()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = Browser::new();
    let returned = sign_in(&base, &mut browser, authorize_url.as_str(), "olivia").await;
    assert_eq!(&returned["state"], state.secret(), "state echoed");
    assert_eq!(
        returned["iss"], base,
        "iss in the authorization response (RFC 9207)"
    );

    let code = returned["code"].clone();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the code exchange");
    let id_token = tokens.id_token().expect("an id_token with openid");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the RS256 id_token verifies from the JWKS with the nonce");
    assert_eq!(
        claims.preferred_username().map(|name| name.as_str()),
        Some("olivia")
    );
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert!(claims.auth_time().is_some());

    let userinfo: openidconnect::core::CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("UserInfo with the access token");
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(
        userinfo.preferred_username().map(|name| name.as_str()),
        Some("olivia")
    );

    let refreshed = client
        .exchange_refresh_token(tokens.refresh_token().expect("offline_access"))
        .unwrap()
        .request_async(&http)
        .await
        .expect("a refresh");
    let me = http
        .get(format!("{base}/users/me"))
        .bearer_auth(refreshed.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.status(),
        StatusCode::FORBIDDEN,
        "without the account scope an application cannot read the account"
    );

    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new("x".repeat(43)))
        .request_async(&http)
        .await;
    assert!(replay.is_err(), "a replayed code is refused");
    let after_replay = client
        .exchange_refresh_token(refreshed.refresh_token().unwrap())
        .unwrap()
        .request_async(&http)
        .await;
    assert!(
        after_replay.is_err(),
        "the replay ended the first exchange's session"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twelve_parallel_exchanges_of_one_code_across_instances_one_succeeds_in_rounds() {
    let stack = stack("oidcrace").await;
    let base = format!("http://{}", stack.address);
    signup(&base, "rachel").await;
    let client_id = relying_party(&stack, "oidcrace").await;
    let verifier = "dBjftJeZ4CVP-mJ0Hf1Xe-vaNAPcM8vN0QSQqWmQ5yk6bEQcZs";
    let challenge = shared::authorization::pkce::s256(verifier);
    let mut browser = Browser::new();
    for round in 0..5 {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .unwrap();
        let authorize = format!("{base}/authorize?{query}");
        let code = if round == 0 {
            sign_in(&base, &mut browser, &authorize, "rachel").await["code"].clone()
        } else {
            let (status, _, location) = browser.get(&authorize).await;
            assert_eq!(status, StatusCode::FOUND, "the login session signs in");
            let location = openidconnect::url::Url::parse(&location.unwrap()).unwrap();
            location
                .query_pairs()
                .find(|(name, _)| name == "code")
                .unwrap()
                .1
                .into_owned()
        };
        let http = reqwest::Client::new();
        let exchanges = (0..12).map(|_| {
            let http = http.clone();
            let form = [
                ("grant_type", "authorization_code".to_owned()),
                ("code", code.clone()),
                ("redirect_uri", REDIRECT.to_owned()),
                ("code_verifier", verifier.to_owned()),
                ("client_id", client_id.as_str().to_owned()),
            ];
            let url = format!("{base}/token");
            async move {
                let response = http.post(url).form(&form).send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            }
        });
        let answers = futures_util::future::join_all(exchanges).await;
        let winners: Vec<&Value> = answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::OK)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {answers:?}");
        for (status, body) in &answers {
            if *status != StatusCode::OK {
                assert_eq!(
                    (*status, body["error"].as_str()),
                    (StatusCode::BAD_REQUEST, Some("invalid_grant"))
                );
            }
        }
        let refresh = http
            .post(format!("{base}/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                (
                    "refresh_token",
                    winners[0]["refresh_token"].as_str().unwrap(),
                ),
                ("client_id", client_id.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            refresh.status(),
            StatusCode::BAD_REQUEST,
            "round {round}: the replays ended the winning exchange's session"
        );
    }
    stack.stop().await;
}

/// `register-relying-party` as a developer runs it: a confidential third-party application
/// whose printed secret verifies against what is stored, and a `localhost` redirect URI
/// refused with exit status 2 and nothing stored.
#[tokio::test]
async fn the_register_command_stores_a_confidential_party_and_refuses_a_localhost_uri() {
    use shared::access::relying_parties::RelyingPartyStore as _;
    let settings = shared::testing::test_database_settings();
    let binary =
        crate::support::bin_dir_with(&["register-relying-party"]).join("register-relying-party");
    let run = |args: &[&str]| {
        std::process::Command::new(&binary)
            .env("MONGODB_URI", &settings.uri)
            .env("DB_NAME", &settings.name)
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&[
        "--name",
        "Server app",
        "--redirect-uri",
        "https://server.example/callback",
        "--confidential",
        "--scopes",
        "openid email",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed = |label: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .unwrap_or_else(|| panic!("{label} in {stdout}"))
            .to_owned()
    };
    let id = RelyingPartyId::parse(&printed("client_id: ")).unwrap();
    let secret = printed("client_secret (shown this once): ");
    let database = shared::platform::database::connect(&settings)
        .await
        .unwrap();
    let stores = shared::stores::MongoStores::new(&database, &Default::default());
    let party = stores.relying_parties.find(&id).await.unwrap().unwrap();
    assert!(party.is_confidential() && !party.first_party);
    assert_eq!(party.scopes, Scopes::parse("openid email"));
    let hasher = shared::factors::hashing::PasswordHasher::new(Default::default()).unwrap();
    let verified = hasher
        .verify(
            &shared::identity::credentials::Password::presented(&secret),
            &party.secrets()[0].hash,
        )
        .await
        .unwrap();
    assert!(verified, "the printed secret is the stored one");

    let refused = run(&[
        "--name",
        "Local",
        "--redirect-uri",
        "http://localhost:8080/cb",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("localhost"));
    let refused = run(&[
        "--name",
        "Elsewhere",
        "--redirect-uri",
        "https://elsewhere.example/cb",
        "--scopes",
        "openid users:admin",
    ]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "administration is for first-party applications only"
    );
    assert_eq!(
        stores.relying_parties.list(None, 10).await.unwrap().len(),
        1
    );
}

/// A third-party application on the real binaries: the consent page once, then remembered
/// for the same scopes; the user lists it and takes it back, which ends the application's
/// refresh token, and its next sign-in asks again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remembered_consent_is_listed_and_taking_it_back_ends_the_applications_session() {
    let stack = stack("consents").await;
    let base = format!("http://{}", stack.address);
    signup(&base, "carla").await;
    let redirect = "https://elsewhere.example/callback";
    let client = mongodb::Client::with_uri_str(&stack.mongodb_uri)
        .await
        .unwrap();
    let party = RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: "Elsewhere".to_owned(),
        kind: ClientKind::Public,
        redirect_uris: vec![RedirectUri::register(redirect).unwrap()],
        post_logout_redirect_uris: Vec::new(),
        scopes: Scopes::parse("openid profile offline_access account"),
        first_party: false,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: std::time::SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    };
    MongoRelyingPartyStore::new(&client.database("consents"))
        .create(&party)
        .await
        .unwrap();
    let verifier = "a-verifier-of-at-least-forty-three-characters-consent";
    let authorize = |prompt: &str| {
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", party.id.as_str()),
            ("redirect_uri", redirect),
            ("scope", "openid profile offline_access account"),
            ("state", "s"),
            (
                "code_challenge",
                &shared::authorization::pkce::s256(verifier),
            ),
            ("code_challenge_method", "S256"),
            ("prompt", prompt),
        ])
        .unwrap();
        format!("{base}/authorize?{query}")
    };
    let exchange = |code: String| {
        let base = base.clone();
        let id = party.id.as_str().to_owned();
        async move {
            let answer: Value = reqwest::Client::new()
                .post(format!("{base}/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("code_verifier", verifier),
                    ("client_id", &id),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer
        }
    };
    let code_of = |location: Option<String>| {
        let location = openidconnect::url::Url::parse(&location.expect("a redirect")).unwrap();
        location
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .expect("a code")
    };

    let mut browser = Browser::new();
    let (_, page, _) = browser.get(&authorize("login")).await;
    let (action, mut fields) = form_of(&page);
    fields.push(("username".to_owned(), "carla".to_owned()));
    fields.push(("password".to_owned(), PASSWORD.to_owned()));
    let (status, consent, _) = browser.post(&format!("{base}{action}"), &fields).await;
    assert_eq!(status, StatusCode::OK, "the consent page first");
    let (action, mut fields) = form_of(&consent);
    assert_eq!(action, "/login/consent");
    fields.push(("decision".to_owned(), "allow".to_owned()));
    let (_, _, location) = browser.post(&format!("{base}{action}"), &fields).await;
    let first = exchange(code_of(location)).await;
    let access = first["access_token"].as_str().expect("tokens").to_owned();
    let refresh = first["refresh_token"]
        .as_str()
        .expect("offline_access")
        .to_owned();

    let (status, _, location) = browser.get(&authorize("none")).await;
    assert_eq!(status, StatusCode::FOUND);
    exchange(code_of(location)).await;

    let http = reqwest::Client::new();
    let listed: Value = http
        .get(format!("{base}/users/me/consents"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["consents"][0]["client_id"],
        party.id.as_str(),
        "{listed}"
    );
    assert_eq!(listed["consents"][0]["name"], "Elsewhere");
    let revoked = http
        .delete(format!("{base}/users/me/consents/{}", party.id))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let refreshed = http
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", party.id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refreshed.status(),
        StatusCode::BAD_REQUEST,
        "the application's session ended"
    );
    let (status, _, location) = browser.get(&authorize("none")).await;
    assert_eq!(status, StatusCode::FOUND);
    assert!(
        location.unwrap().contains("error=consent_required"),
        "asked again"
    );
}
