//! The authorization endpoint and the hosted pages with in-memory stores, driven as a
//! browser drives them: fetch the page, post its form with the CSRF token and the cookies,
//! follow the redirect. The code it ends with is exchanged at the token handler.

use lambda_http::http::header;
use lambda_http::{Body, Response};
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use shared::access::redirect_uris::RedirectUri;
use shared::access::relying_parties::{
    ClientKind, IdTokenAlgorithm, RelyingParty, RelyingPartyId, RelyingPartyStore as _,
};
use shared::access::scopes::Scopes;
use shared::authorization::pkce::s256;
use shared::factors::hashing::{HashingParams, PasswordHasher};
use shared::factors::second_factors::SecondFactorStore as _;
use shared::factors::totp::TotpSecret;
use shared::identity::credentials::{Password, Username};
use shared::identity::users::UserStore as _;
use shared::testing::{
    ManualClock, MemoryStores, event_json, id_token_key, request_from, response_json,
    response_text, token_pair, token_settings,
};
use std::collections::BTreeMap;
use std::time::SystemTime;

const REDIRECT: &str = "https://notes.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ0Hf1Xe-vaNAPcM8vN0QSQqWmQ5yk6bEQcZs";
const PASSWORD: &str = "correct horse battery staple";

struct Setup {
    login: login::State<MemoryStores>,
    token: token::State<MemoryStores>,
    first_party: RelyingPartyId,
    third_party: RelyingPartyId,
    time: ManualClock,
    outbox: shared::testing::RecordingMailer,
}

fn party(first_party: bool) -> RelyingParty {
    RelyingParty {
        id: RelyingPartyId::generate().unwrap(),
        name: if first_party { "Notes" } else { "Elsewhere" }.to_owned(),
        kind: ClientKind::Public,
        redirect_uris: vec![
            RedirectUri::register(REDIRECT).unwrap(),
            RedirectUri::register("http://127.0.0.1/native").unwrap(),
        ],
        post_logout_redirect_uris: vec![RedirectUri::register("https://notes.example/").unwrap()],
        scopes: Scopes::parse("openid profile email offline_access products:write"),
        first_party,
        id_token_algorithm: IdTokenAlgorithm::Rs256,
        created_at: SystemTime::now(),
        created_by: shared::testing::seeded_account_id("admin"),
    }
}

async fn setup() -> Setup {
    let hasher = PasswordHasher::new(HashingParams::FAST_INSECURE_FOR_TESTS).unwrap();
    let stores = MemoryStores::default();
    let hash = hasher
        .hash(&Password::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    stores
        .users
        .insert(&Username::parse("alice").unwrap(), &hash, SystemTime::now())
        .await
        .unwrap();
    let first = party(true);
    let third = party(false);
    stores.relying_parties.create(&first).await.unwrap();
    stores.relying_parties.create(&third).await.unwrap();
    let time = ManualClock::at(SystemTime::now());
    let outbox = shared::testing::RecordingMailer::default();
    let (issuer, _, public_pem) = token_pair();
    let id_tokens = shared::tokens::id_tokens::IdTokenVerifier::from_pem(&format!(
        "{public_pem}{}",
        shared::testing::id_token_key_pems().1
    ))
    .unwrap();
    let roles = shared::access::roles::Roles::parse("editor=products:write").unwrap();
    Setup {
        login: login::State {
            stores: stores.clone(),
            hasher: hasher.clone(),
            clock: time.clock(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            mfa: shared::testing::mfa_settings(),
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
                .unwrap(),
            tokens: token_settings(),
            brand: login::brand::Brand::default(),
            id_tokens,
            accounts: signup::State {
                stores: stores.clone(),
                hasher: hasher.clone(),
                clock: time.clock(),
                mailer: shared::mail::sender::Mailer::Off,
                mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
                metrics: shared::platform::metrics::Metrics::capturing(),
                breached: shared::factors::breached_passwords::BreachedPasswords::off(),
                hooks: shared::hooks::Hooks::none(),
            },
            recovery: recovery::State {
                stores: stores.clone(),
                hasher: hasher.clone(),
                mailer: shared::mail::sender::Mailer::Recording(outbox.clone()),
                mail: shared::mail::sender::MailSettings::from_source(&[]).unwrap(),
                clock: time.clock(),
                metrics: shared::platform::metrics::Metrics::capturing(),
                reset_answer_time: std::time::Duration::from_millis(20),
                roles: shared::access::roles::Roles::default(),
                breached: shared::factors::breached_passwords::BreachedPasswords::off(),
                hooks: shared::hooks::Hooks::none(),
            },
            upstreams: shared::federation::upstream::Upstreams::from_source(&[(
                "FEDERATION_PROVIDERS",
                r#"[{"id":"corp","issuer":"https://sso.corp.example","client_id":"c","name":"Corp SSO"}]"#,
            )])
            .unwrap(),
            hooks: shared::hooks::Hooks::none(),
        },
        token: token::State {
            stores,
            hasher,
            issuer,
            mfa: shared::testing::mfa_settings(),
            clock: time.clock(),
            metrics: shared::platform::metrics::Metrics::capturing(),
            roles,
            passkeys: shared::factors::passkeys::webauthn::PasskeySettings::default(),
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(&[])
                .unwrap(),
            id_token_key: Some(id_token_key()),
            password_grant: true,
            upstreams: shared::federation::upstream::Upstreams::for_id_tokens(&[]).unwrap(),
            hooks: shared::hooks::Hooks::none(),
            hook_scopes_beyond_roles: false,
        },
        first_party: first.id,
        third_party: third.id,
        time,
        outbox,
    }
}

/// A browser: its cookies, kept across requests.
#[derive(Default)]
struct Browser {
    cookies: BTreeMap<String, String>,
}

fn authorization_query(
    client: &RelyingPartyId,
    extra: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let mut query: BTreeMap<String, String> = [
        ("response_type", "code"),
        ("client_id", client.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile offline_access"),
        ("state", "af0ifjsldkj"),
        ("nonce", "n-0S6_WzA2Mj"),
        ("code_challenge_method", "S256"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    query.insert("code_challenge".to_owned(), s256(VERIFIER));
    for (name, value) in extra {
        query.insert((*name).to_owned(), (*value).to_owned());
    }
    query
}

impl Browser {
    fn with_cookies(&self, mut event: Value) -> Value {
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            event["headers"]["Cookie"] = json!(cookie);
            event["multiValueHeaders"]["Cookie"] = json!([cookie]);
        }
        event
    }

    fn keep(&mut self, response: &Response<Body>) {
        for value in response.headers().get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, _) = text.split_once(';').unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn get(&mut self, setup: &Setup, query: &BTreeMap<String, String>) -> Response<Body> {
        self.get_at(setup, "login-authorize.json", query).await
    }

    async fn get_at(
        &mut self,
        setup: &Setup,
        file: &str,
        query: &BTreeMap<String, String>,
    ) -> Response<Body> {
        let event = shared::testing::with_query(event_json(file), json!(query));
        let response = login::handle(&setup.login, request_from(&self.with_cookies(event))).await;
        self.keep(&response);
        response
    }

    async fn post(
        &mut self,
        setup: &Setup,
        path: &str,
        fields: &[(String, String)],
    ) -> Response<Body> {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let file = match path {
            "/logout" => "login-logout-form.json",
            "/login" => "login.json",
            "/login/second-factor" => "login-second-factor.json",
            "/login/consent" => "login-consent.json",
            "/login/sign-up" => "login-sign-up.json",
            "/login/password-reset" => "login-password-reset.json",
            "/login/password-reset/confirm" => "login-password-reset-confirm.json",
            "/login/passkey" => "login-passkey.json",
            other => panic!("{other}"),
        };
        let event = shared::testing::with_body(event_json(file), &body);
        let response = login::handle(&setup.login, request_from(&self.with_cookies(event))).await;
        self.keep(&response);
        response
    }
}

/// The page's first form: its action and its hidden fields.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
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
            (name.to_owned(), unescape(value))
        })
        .collect();
    (action, fields)
}

fn unescape(text: &str) -> String {
    text.replace("&#43;", "+")
        .replace("&#61;", "=")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

fn with(fields: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = fields.to_vec();
    all.extend(
        more.iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    all
}

fn location(response: &Response<Body>) -> url::Url {
    assert_eq!(response.status(), 302, "{}", response_text(response));
    url::Url::parse(response.headers()[header::LOCATION].to_str().unwrap()).unwrap()
}

fn query_of(url: &url::Url) -> BTreeMap<String, String> {
    url.query_pairs().into_owned().collect()
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn exchange(setup: &Setup, client: &RelyingPartyId, code: &str) -> Value {
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", client.as_str()),
    ])
    .unwrap();
    let event = shared::testing::event_with_body("token.json", &body);
    let response = token::handle(&setup.token, request_from(&event)).await;
    let json = response_json(&response);
    assert_eq!(response.status(), 200, "{json}");
    json
}

fn assert_page_headers(response: &Response<Body>) {
    let headers = response.headers();
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("script-src https://auth.test/login/passkeys.js;"),
        "the passkey script alone, nothing inline: {csp}"
    );
    assert!(
        csp.contains("connect-src https://auth.test/passkeys/authentication-options;"),
        "requests to the passkey challenge route alone: {csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// Signs alice in through the pages for `query`: the redirect's query.
async fn sign_in(
    setup: &Setup,
    browser: &mut Browser,
    query: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let page = browser.get(setup, query).await;
    assert_eq!(page.status(), 200, "{}", response_text(&page));
    let (action, fields) = form_of(&response_text(&page));
    assert_eq!(action, "/login");
    let answer = browser
        .post(
            setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    query_of(&location(&answer))
}

#[tokio::test]
async fn a_first_party_sign_in_redirects_with_a_code_state_and_iss_that_buy_an_id_token() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    let page = browser.get(&setup, &query).await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    assert!(
        browser.cookies.contains_key("__Host-lambda-auth-csrf"),
        "{:?}",
        browser.cookies
    );
    let html = response_text(&page);
    assert!(html.contains("<label for=\"username\">"), "labelled fields");
    assert!(html.contains("Notes"), "the client's name");
    let (_, fields) = form_of(&html);
    let carried: BTreeMap<_, _> = fields.iter().cloned().collect();
    assert_eq!(carried["state"], "af0ifjsldkj");
    let answer = browser
        .post(
            &setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_page_headers(&answer);
    let set_cookies: Vec<_> = answer
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .collect();
    let session_cookie = set_cookies
        .iter()
        .find(|cookie| cookie.starts_with("__Host-lambda-auth-session="))
        .expect("a login session cookie");
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session_cookie.contains(flag), "{session_cookie}");
    }
    let target = location(&answer);
    assert_eq!(
        format!(
            "{}://{}{}",
            target.scheme(),
            target.host_str().unwrap(),
            target.path()
        ),
        REDIRECT
    );
    let returned = query_of(&target);
    assert_eq!(returned["state"], "af0ifjsldkj");
    assert_eq!(returned["iss"], "https://auth.test");
    let tokens = exchange(&setup, &setup.first_party, &returned["code"]).await;
    assert!(tokens["refresh_token"].is_string());
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["preferred_username"], "alice");
    assert!(claims["sid"].is_string());
}

#[tokio::test]
async fn the_login_session_signs_the_next_request_in_without_a_page_and_max_age_zero_asks_again() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    sign_in(&setup, &mut browser, &query).await;
    let again = browser.get(&setup, &query).await;
    let returned = query_of(&location(&again));
    assert!(
        returned.contains_key("code"),
        "single sign-on: {returned:?}"
    );
    setup.time.advance(std::time::Duration::from_secs(2));
    let fresh = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("max_age", "0")]),
        )
        .await;
    assert_eq!(fresh.status(), 200, "max_age=0 asks for the password again");
    let recent = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("max_age", "60")]),
        )
        .await;
    assert_eq!(
        recent.status(),
        302,
        "a sign-in 2 s old satisfies max_age=60"
    );
    let forced = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("prompt", "login")]),
        )
        .await;
    assert_eq!(forced.status(), 200, "prompt=login too");
}

#[tokio::test]
async fn prompt_none_without_a_session_answers_login_required_at_the_redirect_uri() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let answer = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("prompt", "none")]),
        )
        .await;
    let returned = query_of(&location(&answer));
    assert_eq!(returned["error"], "login_required");
    assert_eq!(returned["state"], "af0ifjsldkj");
    assert_eq!(returned["iss"], "https://auth.test");
}

#[tokio::test]
async fn unregistered_redirect_uris_and_unknown_clients_get_the_error_page_and_no_redirect() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let first = setup.first_party.as_str();
    for (client, redirect) in [
        (first, "https://notes.example/callback/"),
        (first, "https://notes.example/callbackx"),
        (first, "https://notes.example/call"),
        (first, "http://notes.example/callback"),
        (first, "https://notes.example:8443/callback"),
        (first, "https://evil.example/callback"),
        (first, "http://localhost/native"),
        ("rp_bbbbbbbbbbbbbbbbbbbbbbbb", REDIRECT),
        ("", REDIRECT),
    ] {
        let mut query = authorization_query(&setup.first_party, &[("redirect_uri", redirect)]);
        query.insert("client_id".to_owned(), client.to_owned());
        let answer = browser.get(&setup, &query).await;
        assert_eq!(answer.status(), 400, "{client} {redirect}");
        assert!(answer.headers().get(header::LOCATION).is_none());
        assert_page_headers(&answer);
    }
    let native = browser
        .get(
            &setup,
            &authorization_query(
                &setup.first_party,
                &[("redirect_uri", "http://127.0.0.1:53127/native")],
            ),
        )
        .await;
    assert_eq!(
        native.status(),
        200,
        "a loopback redirect URI may name any port"
    );
}

#[tokio::test]
async fn a_known_client_with_a_bad_request_is_answered_at_its_redirect_uri() {
    let setup = setup().await;
    let mut browser = Browser::default();
    for (change, error) in [
        (("response_type", "token"), "unsupported_response_type"),
        (("code_challenge_method", "plain"), "invalid_request"),
        (("scope", "openid users:admin"), "invalid_scope"),
        (("prompt", "none login"), "invalid_request"),
        (("request", "eyJ"), "request_not_supported"),
    ] {
        let answer = browser
            .get(&setup, &authorization_query(&setup.first_party, &[change]))
            .await;
        let returned = query_of(&location(&answer));
        assert_eq!(returned["error"], error, "{change:?}");
        assert_eq!(returned["state"], "af0ifjsldkj");
        assert_eq!(returned["iss"], "https://auth.test");
    }
    let mut query = authorization_query(&setup.first_party, &[]);
    query.remove("code_challenge");
    let returned = query_of(&location(&browser.get(&setup, &query).await));
    assert_eq!(returned["error"], "invalid_request", "PKCE is required");
}

#[tokio::test]
async fn every_form_refuses_a_missing_or_foreign_csrf_token() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    let page = browser.get(&setup, &query).await;
    let (_, fields) = form_of(&response_text(&page));
    let without: Vec<_> = fields
        .iter()
        .filter(|(name, _)| name != "csrf_token")
        .cloned()
        .collect();
    let other = shared::sessions::generate().unwrap();
    let foreign = with(&without, &[("csrf_token", other.secret.expose_secret())]);
    let credentials = [
        ("username", "alice"),
        ("password", PASSWORD),
        ("otp", "123456"),
        ("decision", "allow"),
        ("mfa_token", "x"),
        ("passkey", "{}"),
        ("account", "alice"),
        ("code", "a-code"),
        ("new_password", "a new and better passphrase"),
    ];
    for path in [
        "/login",
        "/login/second-factor",
        "/login/consent",
        "/login/sign-up",
        "/login/passkey",
        "/login/password-reset",
        "/login/password-reset/confirm",
    ] {
        for form in [&without, &foreign] {
            let answer = browser.post(&setup, path, &with(form, &credentials)).await;
            assert_eq!(answer.status(), 403, "{path}");
            assert!(answer.headers().get(header::LOCATION).is_none());
        }
        let mut stranger = Browser::default();
        let answer = stranger
            .post(&setup, path, &with(&fields, &credentials))
            .await;
        assert_eq!(
            answer.status(),
            403,
            "{path}: a form without the browser's cookie"
        );
    }
    assert!(setup.login.stores.sessions.is_empty(), "nothing signed in");
}

#[tokio::test]
async fn a_wrong_password_shows_the_token_endpoints_answer_on_the_page() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let page = browser
        .get(&setup, &authorization_query(&setup.first_party, &[]))
        .await;
    let (_, fields) = form_of(&response_text(&page));
    for username in ["alice", "nobody"] {
        let answer = browser
            .post(
                &setup,
                "/login",
                &with(
                    &fields,
                    &[("username", username), ("password", "wrong password!")],
                ),
            )
            .await;
        assert_eq!(answer.status(), 400);
        let html = response_text(&answer);
        assert!(html.contains("invalid username or password"), "{html}");
        assert!(
            html.contains("aria-describedby=\"form-error\""),
            "the error is tied to the fields"
        );
    }
}

#[tokio::test]
async fn with_totp_the_second_factor_page_completes_the_sign_in_with_otp_and_mfa() {
    let setup = setup().await;
    let alice = setup.login.stores.users.user("alice").unwrap().id;
    let secret = TotpSecret::generate().unwrap();
    let sealed = setup.login.mfa.seal(&alice, &secret).unwrap();
    let factors = &setup.login.stores.second_factors;
    factors
        .begin_enrolment(&alice, &sealed, SystemTime::now())
        .await
        .unwrap();
    let codes = shared::factors::recovery_codes::generate(&alice).unwrap();
    factors
        .confirm(&alice, &sealed, 0, &codes.hashes)
        .await
        .unwrap();

    let mut browser = Browser::default();
    let page = browser
        .get(&setup, &authorization_query(&setup.first_party, &[]))
        .await;
    let (_, fields) = form_of(&response_text(&page));
    let second = browser
        .post(
            &setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(second.status(), 200);
    assert!(
        setup.login.stores.sessions.is_empty(),
        "no session before the second factor"
    );
    let (action, fields) = form_of(&response_text(&second));
    assert_eq!(action, "/login/second-factor");
    let wrong = browser
        .post(
            &setup,
            "/login/second-factor",
            &with(&fields, &[("otp", "000000")]),
        )
        .await;
    assert_eq!(wrong.status(), 400);
    assert!(response_text(&wrong).contains("wrong or already used"));
    let code = secret.code_at(setup.login.clock.now()).unwrap();
    let answer = browser
        .post(
            &setup,
            "/login/second-factor",
            &with(&fields, &[("otp", &code)]),
        )
        .await;
    let returned = query_of(&location(&answer));
    let tokens = exchange(&setup, &setup.first_party, &returned["code"]).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
}

#[tokio::test]
async fn a_third_party_client_gets_the_consent_page_first_and_then_only_for_a_new_scope() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.third_party, &[]);
    let page = browser.get(&setup, &query).await;
    let (_, fields) = form_of(&response_text(&page));
    let consent = browser
        .post(
            &setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(consent.status(), 200, "the consent page, not a code");
    assert_page_headers(&consent);
    let html = response_text(&consent);
    assert!(
        html.contains("Elsewhere") && html.contains("offline_access"),
        "{html}"
    );
    let (action, fields) = form_of(&html);
    assert_eq!(action, "/login/consent");
    let denied = browser
        .post(
            &setup,
            "/login/consent",
            &with(&fields, &[("decision", "deny")]),
        )
        .await;
    assert_eq!(query_of(&location(&denied))["error"], "access_denied");
    let again = browser.get(&setup, &query).await;
    assert_eq!(
        again.status(),
        200,
        "the session signs in, consent is asked again"
    );
    let (_, fields) = form_of(&response_text(&again));
    let allowed = browser
        .post(
            &setup,
            "/login/consent",
            &with(&fields, &[("decision", "allow")]),
        )
        .await;
    let returned = query_of(&location(&allowed));
    exchange(&setup, &setup.third_party, &returned["code"]).await;
    let silent = browser
        .get(
            &setup,
            &authorization_query(&setup.third_party, &[("prompt", "none")]),
        )
        .await;
    let remembered = query_of(&location(&silent));
    assert!(
        remembered.contains_key("code"),
        "the allowed scopes are remembered: {remembered:?}"
    );
    let native = browser
        .get(
            &setup,
            &authorization_query(
                &setup.third_party,
                &[
                    ("prompt", "none"),
                    ("redirect_uri", "http://127.0.0.1:5000/native"),
                ],
            ),
        )
        .await;
    assert_eq!(
        query_of(&location(&native))["error"],
        "consent_required",
        "a loopback redirect URI proves nothing: asked every time"
    );
    let more = browser
        .get(
            &setup,
            &authorization_query(
                &setup.third_party,
                &[("prompt", "none"), ("scope", "openid profile email")],
            ),
        )
        .await;
    assert_eq!(
        query_of(&location(&more))["error"],
        "consent_required",
        "a scope not allowed before asks again"
    );
    let asked = browser
        .get(
            &setup,
            &authorization_query(&setup.third_party, &[("prompt", "consent")]),
        )
        .await;
    assert_eq!(asked.status(), 200, "prompt=consent shows the page anyway");
    assert!(response_text(&asked).contains("/login/consent"));
    let consents = shared::authorization::consents::ConsentStore::list(
        &setup.login.stores.consents,
        &setup
            .login
            .stores
            .users
            .find(&Username::parse("alice").unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .await
    .unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(
        consents[0].scopes,
        Scopes::parse("openid profile offline_access")
    );
}

#[tokio::test]
async fn a_disabled_accounts_login_session_is_refused_at_the_next_authorization_request() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    sign_in(&setup, &mut browser, &query).await;
    setup.login.stores.users.disable("alice");
    let answer = browser.get(&setup, &query).await;
    assert_eq!(answer.status(), 200, "the sign-in page again, no code");
    let none = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("prompt", "none")]),
        )
        .await;
    assert_eq!(query_of(&location(&none))["error"], "login_required");
}

impl Browser {
    async fn get_path(&mut self, setup: &Setup, file: &str, query: Value) -> Response<Body> {
        let event = shared::testing::with_query(event_json(file), query);
        let response = login::handle(&setup.login, request_from(&self.with_cookies(event))).await;
        self.keep(&response);
        response
    }
}

#[tokio::test]
async fn a_logout_with_the_sessions_id_token_signs_out_and_returns_to_the_registered_uri() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    let returned = sign_in(&setup, &mut browser, &query).await;
    let tokens = exchange(&setup, &setup.first_party, &returned["code"]).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let answer = browser
        .get_path(
            &setup,
            "login-logout.json",
            json!({
                "id_token_hint": hint,
                "post_logout_redirect_uri": "https://notes.example/",
                "state": "bye"
            }),
        )
        .await;
    let target = location(&answer);
    assert_eq!(target.as_str(), "https://notes.example/?state=bye");
    assert!(
        !browser.cookies.contains_key("__Host-lambda-auth-session"),
        "the session cookie is cleared"
    );
    let stored = setup.login.stores.sessions.sessions();
    assert!(!stored.is_empty());
    let again = browser.get(&setup, &query).await;
    assert_eq!(again.status(), 200, "signed out: the sign-in page");
}

#[tokio::test]
async fn a_logout_without_a_hint_asks_first_and_unregistered_uris_or_foreign_hints_get_the_error_page()
 {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    sign_in(&setup, &mut browser, &query).await;
    let client = setup.first_party.as_str();
    for bad in [
        json!({ "client_id": client, "post_logout_redirect_uri": "https://evil.example/" }),
        json!({ "post_logout_redirect_uri": "https://notes.example/" }),
        json!({ "id_token_hint": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "client_id": client }),
    ] {
        let answer = browser
            .get_path(&setup, "login-logout.json", bad.clone())
            .await;
        assert_eq!(answer.status(), 400, "{bad}");
        assert!(answer.headers().get(header::LOCATION).is_none());
    }
    let ask = browser
        .get_path(
            &setup,
            "login-logout.json",
            json!({ "client_id": client, "post_logout_redirect_uri": "https://notes.example/", "state": "s" }),
        )
        .await;
    assert_eq!(ask.status(), 200, "the confirmation page");
    let (action, fields) = form_of(&response_text(&ask));
    assert_eq!(action, "/logout");
    let without_token: Vec<_> = fields
        .iter()
        .filter(|(name, _)| name != "csrf_token")
        .cloned()
        .collect();
    let forged = browser
        .post(
            &setup,
            "/logout",
            &with(&without_token, &[("decision", "logout")]),
        )
        .await;
    assert_eq!(forged.status(), 200, "without the CSRF token: asked again");
    let still = browser.get(&setup, &query).await;
    assert_eq!(still.status(), 302, "still signed in");
    let confirmed = browser
        .post(&setup, "/logout", &with(&fields, &[("decision", "logout")]))
        .await;
    assert_eq!(
        location(&confirmed).as_str(),
        "https://notes.example/?state=s"
    );
    let after = browser.get(&setup, &query).await;
    assert_eq!(after.status(), 200, "signed out");
}

#[tokio::test]
async fn the_consent_form_cannot_stand_in_for_the_fresh_sign_in_prompt_login_asks_for() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.third_party, &[]);
    let page = browser.get(&setup, &query).await;
    let (_, fields) = form_of(&response_text(&page));
    let consent = browser
        .post(
            &setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    assert_eq!(consent.status(), 200);
    setup.time.advance(std::time::Duration::from_secs(11 * 60));
    let fresh = browser
        .get(
            &setup,
            &authorization_query(&setup.third_party, &[("prompt", "login")]),
        )
        .await;
    assert_eq!(fresh.status(), 200, "the sign-in page");
    let (_, fields) = form_of(&response_text(&fresh));
    let replayed = browser
        .post(
            &setup,
            "/login/consent",
            &with(&fields, &[("decision", "allow")]),
        )
        .await;
    assert_eq!(
        replayed.status(),
        200,
        "no code from an 11-minute-old sign-in: the sign-in page again"
    );
    assert!(replayed.headers().get(header::LOCATION).is_none());
}

#[tokio::test]
async fn a_form_page_lets_its_form_lead_to_the_clients_origin_and_nowhere_else() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let page = browser
        .get(&setup, &authorization_query(&setup.first_party, &[]))
        .await;
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("form-action 'self' https://notes.example;"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_new_sign_in_ends_the_browsers_previous_login_session() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    sign_in(&setup, &mut browser, &query).await;
    let forced = browser
        .get(
            &setup,
            &authorization_query(&setup.first_party, &[("prompt", "login")]),
        )
        .await;
    let (_, fields) = form_of(&response_text(&forced));
    browser
        .post(
            &setup,
            "/login",
            &with(&fields, &[("username", "alice"), ("password", PASSWORD)]),
        )
        .await;
    let alice = setup.login.stores.users.user("alice").unwrap().id;
    let live = shared::sessions::SessionStore::active_sessions(
        &setup.login.stores.sessions,
        &alice,
        setup.login.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(live.len(), 1, "one browser, one login session: {live:?}");
}

#[tokio::test]
async fn the_pages_lock_a_name_as_token_does_and_show_its_exact_answer() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let page = browser
        .get(&setup, &authorization_query(&setup.first_party, &[]))
        .await;
    let (_, fields) = form_of(&response_text(&page));
    let wrong = with(
        &fields,
        &[("username", "alice"), ("password", "wrong password!")],
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(browser.post(&setup, "/login", &wrong).await.status());
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert_eq!(statuses[5], 429, "the sixth attempt meets the lock");
    let body = serde_urlencoded::to_string([
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ])
    .unwrap();
    let event = shared::testing::event_with_body("token.json", &body);
    let token = token::handle(&setup.token, request_from(&event)).await;
    assert_eq!(
        token.status(),
        429,
        "the lock the pages set holds at /token"
    );
    let expected = response_json(&token)["error_description"]
        .as_str()
        .unwrap()
        .to_owned();
    let locked = browser.post(&setup, "/login", &wrong).await;
    assert_eq!(locked.status(), 429);
    assert!(locked.headers().contains_key(header::RETRY_AFTER));
    let html = response_text(&locked);
    assert!(
        html.contains(&expected.replace('\'', "&#39;")),
        "the page shows /token's words, {expected:?}: {html}"
    );
}

#[tokio::test]
async fn max_age_zero_asks_for_the_password_again_and_moves_auth_time() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    let first = sign_in(&setup, &mut browser, &query).await;
    let tokens = exchange(&setup, &setup.first_party, &first["code"]).await;
    let before = claims_of(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_u64()
        .unwrap();
    setup.time.advance(std::time::Duration::from_secs(5));
    let again = sign_in(
        &setup,
        &mut browser,
        &authorization_query(&setup.first_party, &[("max_age", "0")]),
    )
    .await;
    let tokens = exchange(&setup, &setup.first_party, &again["code"]).await;
    let after = claims_of(tokens["id_token"].as_str().unwrap())["auth_time"]
        .as_u64()
        .unwrap();
    assert!(after >= before + 5, "auth_time moved: {before} -> {after}");
}

/// The hidden fields of the page's form whose action is `action`.
fn form_with_action(page: &str, action: &str) -> Vec<(String, String)> {
    let start = page
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("a form posting to {action}: {page}"));
    let form = &page[start..];
    let form = form.split("</form>").next().unwrap();
    form_of(&format!("<form {form}</form>")).1
}

#[tokio::test]
async fn prompt_create_shows_the_sign_up_page_and_its_new_account_is_signed_in_with_a_code() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[("prompt", "create")]);
    let page = browser.get(&setup, &query).await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    let html = response_text(&page);
    assert!(html.contains("Create an account"), "{html}");
    assert!(html.contains("autocomplete=\"new-password\""), "{html}");
    let (action, fields) = form_of(&html);
    assert_eq!(action, "/login/sign-up");
    let answer = browser
        .post(
            &setup,
            "/login/sign-up",
            &with(
                &fields,
                &[
                    ("username", "newcomer"),
                    ("password", "a long new passphrase"),
                ],
            ),
        )
        .await;
    let redirect = query_of(&location(&answer));
    assert_eq!(redirect["state"], "af0ifjsldkj");
    assert!(
        browser.cookies.contains_key("__Host-lambda-auth-session"),
        "the new account has a login session"
    );
    let tokens = exchange(&setup, &setup.first_party, &redirect["code"]).await;
    let created = setup
        .login
        .stores
        .users
        .find(&Username::parse("newcomer").unwrap())
        .await
        .unwrap()
        .expect("the account is stored");
    let id_token = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_token["sub"], created.id.as_str());
    assert_eq!(id_token["amr"], json!(["pwd"]));
}

#[tokio::test]
async fn the_sign_up_page_refuses_a_taken_name_and_a_weak_password_and_stores_nothing() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[("prompt", "create")]);
    let page = browser.get(&setup, &query).await;
    let (_, fields) = form_of(&response_text(&page));
    let cases = [
        ("ALICE", "a long new passphrase", 409, "username"),
        ("newcomer", "newcomer", 422, "password"),
        ("newcomer", "short", 422, "password"),
        ("a", "a long new passphrase", 422, "username"),
    ];
    for (username, password, status, field) in cases {
        let answer = browser
            .post(
                &setup,
                "/login/sign-up",
                &with(&fields, &[("username", username), ("password", password)]),
            )
            .await;
        assert_eq!(answer.status(), status, "{username}/{password}");
        assert_page_headers(&answer);
        let html = response_text(&answer);
        assert!(html.contains("role=\"alert\""), "{html}");
        let invalid = format!("id=\"{field}\" name=\"{field}\"");
        let tag = html
            .split(&invalid)
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap();
        assert!(
            tag.contains("aria-invalid=\"true\"") && tag.contains("form-error"),
            "{field} is marked and tied to the error: {tag}"
        );
        assert!(html.contains("Create an account"), "the sign-up page again");
    }
    assert!(
        setup
            .login
            .stores
            .users
            .find(&Username::parse("newcomer").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(setup.login.stores.sessions.is_empty(), "nothing signed in");
}

#[tokio::test]
async fn the_sign_in_and_sign_up_pages_link_to_each_other_carrying_the_request() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[("prompt", "login")]);
    let html = response_text(&browser.get(&setup, &query).await);
    let carried = link_to(&html, "/authorize");
    assert_eq!(carried["prompt"], "login create");
    assert_eq!(carried["state"], "af0ifjsldkj");
    assert_eq!(carried["code_challenge"], query["code_challenge"]);
    let forgot = link_to(&html, "/login/password-reset");
    assert_eq!(
        forgot["prompt"], "login",
        "the forgot-password page carries the request"
    );
    let sign_up = browser.get(&setup, &carried).await;
    let html = response_text(&sign_up);
    assert!(html.contains("Create an account"), "{html}");
    let back = link_to(&html, "/authorize");
    assert_eq!(back["prompt"], "login");
}

#[tokio::test]
async fn the_pages_load_their_passkey_script_from_this_api_and_a_bad_passkey_signs_nobody_in() {
    let setup = setup().await;
    let script = login::handle(
        &setup.login,
        request_from(&event_json("login-passkeys-script.json")),
    )
    .await;
    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(response_text(&script).contains("navigator.credentials.get"));

    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    let html = response_text(&browser.get(&setup, &query).await);
    assert!(
        html.contains("<script src=\"/login/passkeys.js\" defer></script>"),
        "{html}"
    );
    assert!(
        html.contains("data-passkey-options=\"/passkeys/authentication-options\""),
        "{html}"
    );
    assert!(!html.contains("<script>"), "no inline script");
    let fields = form_with_action(&html, "/login/passkey");
    for (passkey, status) in [("", 400), ("{}", 400), ("not json", 400)] {
        let answer = browser
            .post(
                &setup,
                "/login/passkey",
                &with(&fields, &[("passkey", passkey)]),
            )
            .await;
        assert_eq!(answer.status(), status, "{passkey:?}");
        assert!(answer.headers().get(header::LOCATION).is_none());
        assert!(response_text(&answer).contains("role=\"alert\""));
    }
    assert!(setup.login.stores.sessions.is_empty(), "nothing signed in");
}

/// The link's target as a query map, from a page's `<a href>` holding `path`.
fn link_to(html: &str, path: &str) -> BTreeMap<String, String> {
    let href = html
        .split("<a href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .find(|href| href.starts_with(path))
        .unwrap_or_else(|| panic!("a link to {path}: {html}"));
    let url = url::Url::parse(&format!("https://api.example{href}")).unwrap();
    query_of(&url)
}

#[tokio::test]
async fn a_forgotten_password_is_reset_on_the_pages_with_the_emailed_code_and_every_session_ends() {
    use shared::identity::users::UserStore as _;
    use shared::sessions::SessionStore as _;
    let setup = setup().await;
    let alice = setup
        .login
        .stores
        .users
        .find(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    let address =
        shared::identity::email_address::EmailAddress::parse("alice@example.com").unwrap();
    let users = &setup.login.stores.users;
    users
        .set_pending_email(&alice.id, Some(&address), 0, SystemTime::now())
        .await
        .unwrap();
    users
        .verify_email(&alice.id, &address, 0, SystemTime::now())
        .await
        .unwrap();
    let mut browser = Browser::default();
    let query = authorization_query(&setup.first_party, &[]);
    sign_in(&setup, &mut browser, &query).await;
    let html = response_text(
        &browser
            .get(
                &setup,
                &authorization_query(&setup.first_party, &[("prompt", "login")]),
            )
            .await,
    );
    let carried = link_to(&html, "/login/password-reset");
    assert_eq!(carried["state"], "af0ifjsldkj");

    let event =
        shared::testing::with_query(event_json("login-forgot-password.json"), json!(carried));
    let page = login::handle(&setup.login, request_from(&browser.with_cookies(event))).await;
    assert_eq!(page.status(), 200);
    assert_page_headers(&page);
    let (action, fields) = form_of(&response_text(&page));
    assert_eq!(action, "/login/password-reset");

    // An unknown name gets the same page, and no mail.
    let unknown = browser
        .post(
            &setup,
            "/login/password-reset",
            &with(&fields, &[("account", "nobody")]),
        )
        .await;
    assert_eq!(unknown.status(), 200);
    let unknown_page = response_text(&unknown);
    assert!(setup.outbox.sent().is_empty(), "no account, no mail");
    let known = browser
        .post(
            &setup,
            "/login/password-reset",
            &with(&fields, &[("account", "alice@example.com")]),
        )
        .await;
    assert_eq!(known.status(), 200);
    let known_page = response_text(&known);
    let strip = |page: &str| page.split("csrf_token").next().unwrap().to_owned();
    assert_eq!(
        strip(&known_page),
        strip(&unknown_page),
        "one answer whatever the account"
    );
    let sent = setup.outbox.sent();
    assert_eq!(sent.len(), 1);
    let code = sent[0]
        .text
        .lines()
        .find(|line| line.contains("code is "))
        .and_then(|line| line.rsplit(' ').next())
        .unwrap()
        .to_owned();

    let (action, fields) = form_of(&known_page);
    assert_eq!(action, "/login/password-reset/confirm");
    let weak = browser
        .post(
            &setup,
            action.as_str(),
            &with(&fields, &[("code", &code), ("new_password", "alice")]),
        )
        .await;
    assert_eq!(weak.status(), 422, "the sign-up policy applies");
    let wrong = browser
        .post(
            &setup,
            action.as_str(),
            &with(
                &fields,
                &[
                    ("code", "not-the-code"),
                    ("new_password", "a new and better passphrase"),
                ],
            ),
        )
        .await;
    assert_eq!(wrong.status(), 400);
    assert!(response_text(&wrong).contains("aria-invalid"));
    let done = browser
        .post(
            &setup,
            action.as_str(),
            &with(
                &fields,
                &[
                    ("code", &code),
                    ("new_password", "a new and better passphrase"),
                ],
            ),
        )
        .await;
    assert_eq!(done.status(), 200);
    let done_page = response_text(&done);
    assert!(
        done_page.contains("Your password is changed"),
        "{done_page}"
    );
    let after = setup
        .login
        .stores
        .sessions
        .active_sessions(&alice.id, SystemTime::now())
        .await
        .unwrap();
    assert!(
        after.is_empty(),
        "every session ended, the login session included"
    );
    let again = browser.get(&setup, &query).await;
    assert_eq!(
        again.status(),
        200,
        "the login session is gone: the sign-in page"
    );

    let (action, fields) = form_of(&done_page);
    assert_eq!(action, "/login");
    let signed_in = browser
        .post(
            &setup,
            "/login",
            &with(
                &fields,
                &[
                    ("username", "alice"),
                    ("password", "a new and better passphrase"),
                ],
            ),
        )
        .await;
    assert!(query_of(&location(&signed_in)).contains_key("code"));
}

#[tokio::test]
async fn the_sign_in_and_sign_up_pages_offer_each_provider_with_the_request() {
    let setup = setup().await;
    let mut browser = Browser::default();
    for extra in [&[][..], &[("prompt", "create")][..]] {
        let response = browser
            .get(&setup, &authorization_query(&setup.first_party, extra))
            .await;
        assert_eq!(response.status(), 200);
        let page = response_text(&response);
        let at = page
            .find("Continue with Corp SSO")
            .expect("the provider's button");
        let href_start = page[..at].rfind("href=\"").unwrap() + 6;
        let href = unescape(&page[href_start..href_start + page[href_start..].find('"').unwrap()]);
        assert!(
            href.starts_with("/login/federated?provider=corp&"),
            "{href}"
        );
        assert!(
            href.contains(&format!("client_id={}", setup.first_party.as_str())),
            "{href}"
        );
        assert!(
            href.contains("code_challenge="),
            "the request goes along: {href}"
        );
    }
}

#[tokio::test]
async fn an_unknown_provider_or_an_answer_without_its_sign_in_is_refused() {
    let setup = setup().await;
    let mut browser = Browser::default();
    let mut query = authorization_query(&setup.first_party, &[]);
    query.insert("provider".to_owned(), "elsewhere".to_owned());
    let response = browser.get_at(&setup, "login-federated.json", &query).await;
    assert_eq!(response.status(), 400);
    assert!(response_text(&response).contains("That provider is not offered here."));

    let answer: BTreeMap<String, String> = [("code", "c"), ("state", "never-issued")]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let response = browser
        .get_at(&setup, "login-federated-callback.json", &answer)
        .await;
    assert_eq!(response.status(), 400, "no federation cookie");
    browser
        .cookies
        .insert("__Host-lambda-auth-federation".to_owned(), "b".repeat(43));
    let response = browser
        .get_at(&setup, "login-federated-callback.json", &answer)
        .await;
    assert_eq!(response.status(), 400, "a state no sign-in sent");
    assert!(response_text(&response).contains("start again"));
}
