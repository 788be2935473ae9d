//! The authorization endpoint (RFC 6749 §4.1 with PKCE, OpenID Connect Core §3.1) and the
//! hosted pages it signs users in with:
//!
//! - `GET /authorize` (and `POST /authorize`, the same parameters as a form) checks the
//!   request ([`request`]); with a live login session at the service it answers the client
//!   at once (a code, or the consent page for a third-party client), otherwise the sign-in
//!   page;
//! - `POST /login`: the username and password, checked exactly as the password grant checks
//!   them ([`token::sign_in`]); an account with a second factor gets the second-factor page;
//! - `POST /login/passkey`: a passkey's answer to a sign-in challenge, no username typed
//!   ([`token::sign_in::passkey`]), from the page's script (`GET /login/passkeys.js`);
//! - `POST /login/second-factor`: an authenticator or recovery code, or a passkey;
//! - `POST /login/sign-up`: a new account under the sign-up rules of `POST /signup`
//!   ([`signup::create_account`]), signed in at once; `prompt=create` opens its page;
//! - `GET`/`POST /login/password-reset`, `POST /login/password-reset/confirm`: a reset code
//!   by email, then the code and a new password, as the recovery routes check them;
//! - `POST /login/consent`: a third-party client's access allowed or denied;
//! - `GET /login/federated`, `GET`/`POST /login/federated/callback`: sign-in through an
//!   upstream provider, and linking one to a signed-in account, which
//!   `POST /login/federated/link` confirms ([`federated`]);
//! - `GET`/`POST /logout`: RP-initiated logout ([`logout`]);
//! - `GET /login/style.css`: the pages' stylesheet in the operator's colour.
//!
//! A completed sign-in starts a login session at the service ([`cookies`]), which every later
//! authorization request of any client reuses until it ends; the client gets a single-use
//! code for `POST /token`. Every form carries a CSRF token bound to a cookie; every answer
//! carries the pages' headers ([`pages::guarded`]).

pub mod brand;
pub mod cookies;
mod federated;
mod flow;
mod logout;
pub mod pages;
pub mod params;
pub mod request;
mod reset;

use lambda_http::http::StatusCode;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};
use shared::factors::hashing::PasswordHasher;
use shared::factors::mfa::MfaSettings;
use shared::factors::passkeys::webauthn::PasskeySettings;
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::{Route, not_found, route};
use shared::platform::metrics::Metrics;
use shared::stores::{MongoStores, Stores};
use shared::tokens::TokenSettings;

/// What the function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts, counters, second factors, sessions, relying parties, codes.
    pub stores: S,
    /// Verifies passwords.
    pub hasher: PasswordHasher,
    /// The time.
    pub clock: Clock,
    /// Security events.
    pub metrics: Metrics,
    /// Opens TOTP secrets.
    pub mfa: MfaSettings,
    /// The WebAuthn relying party.
    pub passkeys: PasskeySettings,
    /// Failed password checks one address may cause per hour (`LOGIN_FAILURES_PER_IP`).
    pub password_failures_per_ip: Option<shared::abuse::rate_limits::Limit>,
    /// The issuer and the session lifetimes.
    pub tokens: TokenSettings,
    /// How the pages look.
    pub brand: brand::Brand,
    /// Checks the `id_token_hint` of a logout against the published keys.
    pub id_tokens: shared::tokens::id_tokens::IdTokenVerifier,
    /// Creates accounts from the sign-up page, as `POST /signup` does.
    pub accounts: signup::State<S>,
    /// Sends and redeems reset codes from the forgot-password pages, as
    /// `POST /password-reset` and `POST /password-reset/confirm` do.
    pub recovery: recovery::State<S>,
    /// The upstream providers users may sign in through.
    pub upstreams: shared::federation::upstream::Upstreams,
    /// The user-migration hook (`HOOK_USER_MIGRATION`) a sign-in calls for an unknown name, and
    /// the pre-sign-up hook (`HOOK_PRE_SIGN_UP`) a first sign-in through another provider calls.
    pub hooks: shared::hooks::Hooks,
}

impl State<MongoStores> {
    /// The state from the environment: hashing, second-factor and token settings, the public
    /// keys (never the signing key), and the pages' branding.
    pub fn new(env: &impl Source, stores: MongoStores) -> Result<Self, ConfigError> {
        Ok(Self {
            hasher: PasswordHasher::from_source(env)?,
            clock: Clock::system(),
            metrics: Metrics::from_source(env),
            mfa: MfaSettings::from_source(env)?,
            passkeys: PasskeySettings::from_source(env)?,
            password_failures_per_ip: shared::abuse::rate_limits::password_failures_per_ip(env)?,
            tokens: TokenSettings::from_source(env)?,
            brand: brand::Brand::from_source(env)?,
            id_tokens: shared::tokens::id_tokens::IdTokenVerifier::from_source(env)?,
            accounts: signup::State::new(env, stores.clone())?,
            recovery: recovery::State::new(env, stores.clone())?,
            upstreams: shared::federation::upstream::Upstreams::from_source(env)?,
            hooks: shared::hooks::Hooks::from_source(
                env,
                &[
                    shared::hooks::Trigger::UserMigration,
                    shared::hooks::Trigger::PreSignUp,
                    shared::hooks::Trigger::CustomMessage,
                ],
                Metrics::from_source(env),
            )?,
            stores,
        })
    }
}

impl<S: Stores> token::SignInContext for State<S> {
    type Stores = S;
    fn stores(&self) -> &S {
        &self.stores
    }
    fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn mfa(&self) -> &MfaSettings {
        &self.mfa
    }
    fn passkeys(&self) -> &PasskeySettings {
        &self.passkeys
    }
    fn password_failures_per_ip(&self) -> Option<shared::abuse::rate_limits::Limit> {
        self.password_failures_per_ip
    }
    fn session_ttl(&self) -> std::time::Duration {
        self.tokens.session_ttl
    }
    fn hooks(&self) -> &shared::hooks::Hooks {
        &self.hooks
    }
}

/// What a route of this function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// The authorization endpoint, parameters in the query.
    Authorize,
    /// The authorization endpoint, parameters in a form.
    AuthorizeForm,
    /// The username and password.
    SignIn,
    /// A passkey sign-in.
    Passkey,
    /// The second factor.
    SecondFactor,
    /// A new account.
    SignUp,
    /// The forgot-password page.
    ForgotPassword,
    /// A reset code asked for.
    RequestResetCode,
    /// A reset code and a new password.
    ConfirmReset,
    /// A third-party client's access allowed or denied.
    Consent,
    /// The stylesheet.
    Style,
    /// The passkey script.
    Script,
    /// A sign-in through an upstream provider begins.
    Federated,
    /// An upstream provider's answer, in the query.
    FederatedCallback,
    /// An upstream provider's answer, posted (`form_post`).
    FederatedCallbackForm,
    /// A link to the signed-in account confirmed or declined.
    ConfirmLink,
    /// RP-initiated logout, parameters in the query.
    Logout,
    /// RP-initiated logout, parameters in a form (and the confirmation).
    LogoutForm,
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, Endpoint); 18] = [
    (Route::get("/authorize"), Endpoint::Authorize),
    (Route::post("/authorize"), Endpoint::AuthorizeForm),
    (Route::post("/login"), Endpoint::SignIn),
    (Route::post("/login/passkey"), Endpoint::Passkey),
    (Route::post("/login/second-factor"), Endpoint::SecondFactor),
    (Route::post("/login/sign-up"), Endpoint::SignUp),
    (
        Route::get("/login/password-reset"),
        Endpoint::ForgotPassword,
    ),
    (
        Route::post("/login/password-reset"),
        Endpoint::RequestResetCode,
    ),
    (
        Route::post("/login/password-reset/confirm"),
        Endpoint::ConfirmReset,
    ),
    (Route::post("/login/consent"), Endpoint::Consent),
    (Route::get("/login/style.css"), Endpoint::Style),
    (Route::get("/login/passkeys.js"), Endpoint::Script),
    (Route::get("/login/federated"), Endpoint::Federated),
    (
        Route::get("/login/federated/callback"),
        Endpoint::FederatedCallback,
    ),
    (
        Route::post("/login/federated/callback"),
        Endpoint::FederatedCallbackForm,
    ),
    (Route::post("/login/federated/link"), Endpoint::ConfirmLink),
    (Route::get("/logout"), Endpoint::Logout),
    (Route::post("/logout"), Endpoint::LogoutForm),
];

/// Answers one request; any other route is a `404`. Every outcome is a response.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    let Some(endpoint) = route(&request, &ROUTES) else {
        return not_found(&request);
    };
    match endpoint {
        Endpoint::Style => return stylesheet(state),
        Endpoint::Script => return asset(PASSKEY_SCRIPT, "text/javascript; charset=utf-8"),
        _ => {}
    }
    let Some(issuer) = state
        .tokens
        .issuer_for(shared::tokens::issuer::of_request(&request))
    else {
        tracing::error!("no issuer: set JWT_ISSUER, or call through API Gateway");
        let frame = pages::Frame {
            brand: &state.brand,
            base_path: "",
        };
        return pages::html(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error(&frame, "The service is not configured to sign you in."),
        );
    };
    let context = flow::Context::new(state, &request, &issuer);
    let response = match endpoint {
        Endpoint::Authorize => flow::authorize(&context, false).await,
        Endpoint::AuthorizeForm => flow::authorize(&context, true).await,
        Endpoint::SignIn => flow::sign_in(&context).await,
        Endpoint::Passkey => flow::passkey(&context).await,
        Endpoint::SecondFactor => flow::second_factor(&context).await,
        Endpoint::SignUp => flow::sign_up(&context).await,
        Endpoint::ForgotPassword => reset::forgot_password(&context).await,
        Endpoint::RequestResetCode => reset::request_code(&context).await,
        Endpoint::ConfirmReset => reset::confirm(&context).await,
        Endpoint::Consent => flow::consent(&context).await,
        Endpoint::Federated => federated::start(&context).await,
        Endpoint::FederatedCallback => federated::callback(&context, false).await,
        Endpoint::FederatedCallbackForm => federated::callback(&context, true).await,
        Endpoint::ConfirmLink => federated::confirm_link(&context).await,
        Endpoint::Logout => logout::logout(&context, false).await,
        Endpoint::LogoutForm => logout::logout(&context, true).await,
        Endpoint::Style => stylesheet(state),
        Endpoint::Script => asset(PASSKEY_SCRIPT, "text/javascript; charset=utf-8"),
    };
    pages::scoped_to(response, &issuer)
}

/// The pages' only script: passkey sign-in and passkey second factor.
const PASSKEY_SCRIPT: &str = include_str!("../assets/passkeys.js");

fn stylesheet<S>(state: &State<S>) -> Response<Body> {
    asset(&state.brand.stylesheet(), "text/css; charset=utf-8")
}

/// A static file of the pages, cacheable for five minutes.
fn asset(text: &str, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(text.to_owned()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
