//! `POST /signup`: validates a JSON `{"username","password"}` (and an optional `"email"`),
//! hashes the password with argon2id and stores the account; a username taken in any letter
//! case is a `409`. An address is stored as waiting for verification and sent a code; it
//! becomes the account's only when the code comes back (`POST /email/verify`).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::abuse::rate_limits::VERIFICATION_MAILS_PER_IP;
use shared::factors::hashing::PasswordHasher;
use shared::identity::credentials::{Password, Username};
use shared::identity::email_address::EmailAddress;
use shared::identity::users::{Insertion, UserStore};
use shared::mail::flows::{self, Outgoing, Recipient};
use shared::mail::sender::{MailSettings, Mailer};
use shared::platform::clock::Clock;
use shared::platform::config::{ConfigError, Source};
use shared::platform::http::RequestSource;
use shared::platform::http::{
    ApiError, Route, body_text, has_content_type, json_object, json_response, not_found, route,
    string_field,
};
use shared::platform::metrics::Metrics;
use shared::stores::Stores;

/// What the sign-up function needs, built once per execution environment.
pub struct State<S> {
    /// Accounts.
    pub stores: S,
    /// Hashes the new password.
    pub hasher: PasswordHasher,
    /// The time an account is created at.
    pub clock: Clock,
    /// Where verification codes go.
    pub mailer: Mailer,
    /// Code lifetimes and the frontend URL.
    pub mail: MailSettings,
    /// Mail failures and rate limits.
    pub metrics: Metrics,
    /// Refuses passwords known from data breaches.
    pub breached: shared::factors::breached_passwords::BreachedPasswords,
    /// The pre-sign-up, post-confirmation and custom-message hooks (`HOOK_PRE_SIGN_UP`,
    /// `HOOK_POST_CONFIRMATION`, `HOOK_CUSTOM_MESSAGE`), when configured.
    pub hooks: shared::hooks::Hooks,
}

impl<S> State<S> {
    /// The state from the environment (hashing settings). With MongoDB, make sure the unique
    /// username index exists first (`MongoUserStore::ensure_indexes`).
    pub fn new(env: &impl Source, stores: S) -> Result<Self, ConfigError> {
        Ok(Self {
            stores,
            hasher: PasswordHasher::from_source(env)?,
            clock: Clock::system(),
            mailer: Mailer::from_source(env)?,
            mail: MailSettings::from_source(env)?,
            metrics: Metrics::from_source(env),
            breached: shared::factors::breached_passwords::BreachedPasswords::from_source(env)?,
            hooks: shared::hooks::Hooks::from_source(
                env,
                &[
                    shared::hooks::Trigger::PreSignUp,
                    shared::hooks::Trigger::PostConfirmation,
                    shared::hooks::Trigger::CustomMessage,
                ],
                Metrics::from_source(env),
            )?,
        })
    }
}

/// The routes this function serves, as `template.yaml` declares them.
pub const ROUTES: [(Route, ()); 1] = [(Route::post("/signup"), ())];

/// Handles one sign-up request. Every outcome is a response; nothing is stored on any error.
pub async fn handle<S: Stores>(state: &State<S>, request: Request) -> Response<Body> {
    if route(&request, &ROUTES).is_none() {
        return not_found(&request);
    }
    match sign_up(state, &request).await {
        Ok(created) => {
            let mut body = json!({ "message": "Created user successfully!", "username": created.username.as_str() });
            if let Some((address, sent)) = created.email {
                body["email"] = json!({
                    "address": address.as_str(),
                    "verified": created.email_verified,
                    "verification_sent": sent,
                });
            }
            json_response(StatusCode::CREATED, &body)
        }
        Err(error) => error.into_response(),
    }
}

/// A new account: its id and name, and its address with whether the code went out.
pub struct Created {
    /// The account's id.
    pub id: shared::identity::account_id::AccountId,
    /// The name it signs in with.
    pub username: Username,
    /// The address waiting for verification, and whether its code was sent.
    pub email: Option<(EmailAddress, bool)>,
    /// Whether the address is verified already (the pre-sign-up hook verified it).
    pub email_verified: bool,
}

async fn sign_up<S: Stores>(state: &State<S>, request: &Request) -> Result<Created, ApiError> {
    if !has_content_type(request, "application/json") {
        return Err(ApiError::UnsupportedMediaType("application/json"));
    }
    let fields = json_object(body_text(request)?)?;
    let username = string_field(&fields, "username")?;
    let password = string_field(&fields, "password")?;
    let email = match fields.get("email") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(flows::email_field(&fields, "email")?),
    };
    create_account(
        state,
        &RequestSource::of(request),
        username,
        password,
        email,
    )
    .await
}

/// Creates an account under the sign-up rules every front door shares: the username and
/// password rules, the breached-password check, the per-address mail limit when an address
/// is given, a username unique in any letter case. Nothing is stored on any error.
pub async fn create_account<S: Stores>(
    state: &State<S>,
    source: &RequestSource,
    username: &str,
    password: &str,
    email: Option<EmailAddress>,
) -> Result<Created, ApiError> {
    let username = Username::for_new_account(username).map_err(invalid)?;
    let password = Password::for_new_account(password, &username).map_err(invalid)?;
    shared::factors::breached_passwords::refuse_if_breached(
        &state.breached,
        &password,
        &state.metrics,
        "password",
    )
    .await?;
    if email.is_some() {
        if !state.mailer.is_configured() {
            return Err(ApiError::EmailUnavailable);
        }
        let ip = flows::ip_subject(source.ip.as_deref());
        flows::limit(
            state.stores.rate_limits(),
            &state.metrics,
            &VERIFICATION_MAILS_PER_IP,
            &ip,
            state.clock.now(),
        )
        .await?;
    }

    let auto_verify_email = allowed_by_the_hook(state, &username, email.as_ref()).await?;
    let password_hash = state.hasher.hash(&password).await.map_err(|error| {
        tracing::error!(%error, "hashing failed");
        ApiError::Internal
    })?;
    let insertion = state
        .stores
        .users()
        .insert(&username, &password_hash, state.clock.now())
        .await
        .map_err(|error| ApiError::from_store(&error))?;
    match insertion {
        Insertion::Created(id) => {
            tracing::info!(username = %username, "user created");
            let mut email_verified = false;
            let email = match email {
                Some(address) if auto_verify_email => {
                    email_verified = adopt_verified(state, source, &id, &address).await;
                    Some((address, false))
                }
                Some(address) => {
                    let sent = send_first_verification(state, &id, &username, &address).await;
                    Some((address, sent))
                }
                None => None,
            };
            Ok(Created {
                id,
                username,
                email,
                email_verified,
            })
        }
        Insertion::UsernameTaken => {
            tracing::info!(username = %username, "username taken");
            Err(ApiError::UsernameTaken)
        }
    }
}

/// Asks the pre-sign-up hook: `403 sign_up_refused` with its message when it refuses, `503`
/// when it fails; else whether the address is verified at once.
async fn allowed_by_the_hook<S: Stores>(
    state: &State<S>,
    username: &Username,
    email: Option<&EmailAddress>,
) -> Result<bool, ApiError> {
    use shared::hooks::sign_up::{self, SignUpKind, Verdict};
    let mut attributes = shared::hooks::cognito::Attributes::from([(
        "preferred_username".to_owned(),
        username.as_str().to_owned(),
    )]);
    if let Some(address) = email {
        attributes.insert("email".to_owned(), address.as_str().to_owned());
    }
    let verdict = sign_up::verdict(
        &state.hooks,
        SignUpKind::Password,
        username.as_str(),
        attributes,
        None,
    )
    .await;
    match verdict {
        Ok(Verdict::Allowed { auto_verify_email }) => Ok(auto_verify_email),
        Ok(Verdict::Refused(message)) => {
            tracing::info!(username = %username, "sign-up refused by the pre-sign-up hook");
            Err(ApiError::SignUpRefused(message))
        }
        Err(_) => Err(ApiError::ServiceUnavailable),
    }
}

/// Makes the address the account's at once (the pre-sign-up hook verified it); whether it
/// is (another account may have verified it first).
async fn adopt_verified<S: Stores>(
    state: &State<S>,
    source: &RequestSource,
    id: &shared::identity::account_id::AccountId,
    address: &EmailAddress,
) -> bool {
    let users = state.stores.users();
    let now = state.clock.now();
    let stored = users.set_pending_email(id, Some(address), 0, now).await;
    if !matches!(stored, Ok(true)) {
        return false;
    }
    let verified = matches!(
        users.vouch_email(id, address, 0, now).await,
        Ok(shared::identity::users::EmailVerification::Verified { .. })
    );
    if verified {
        confirmed(state, source, id).await;
    }
    verified
}

/// Tells the post-confirmation hook; a failure is logged, counted and recorded in the
/// account's history, and changes nothing else.
async fn confirmed<S: Stores>(
    state: &State<S>,
    source: &RequestSource,
    id: &shared::identity::account_id::AccountId,
) {
    let Ok(Some(user)) = state.stores.users().find_by_id(id).await else {
        return;
    };
    if shared::hooks::confirmation::confirmed(&state.hooks, &user)
        .await
        .is_err()
    {
        let event = shared::identity::account_events::AccountEvent::new(
            id,
            shared::identity::account_events::EventKind::HookFailed,
            state.clock.now(),
            source,
        );
        shared::identity::account_events::record(state.stores.events(), &event).await;
    }
}

/// Stores the address as waiting and sends its code; whether the code went out (the
/// account exists either way: `POST /users/me/email/verification` sends another).
async fn send_first_verification<S: Stores>(
    state: &State<S>,
    id: &shared::identity::account_id::AccountId,
    username: &Username,
    address: &EmailAddress,
) -> bool {
    let now = state.clock.now();
    // A new account is at token version 0; if anything moved it since, this stores nothing.
    match state
        .stores
        .users()
        .set_pending_email(id, Some(address), 0, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => return false,
        Err(error) => {
            tracing::error!(%error, "address not stored");
            return false;
        }
    }
    let outgoing = Outgoing::new(
        state.stores.email_codes(),
        &state.mailer,
        &state.mail,
        &state.metrics,
    )
    .with_hooks(&state.hooks)
    .at_sign_up();
    let to = Recipient {
        account: id,
        username,
        address,
    };
    outgoing.send_verification(&to, 0, now).await.is_ok()
}

fn invalid(error: shared::identity::credentials::CredentialError) -> ApiError {
    ApiError::InvalidField {
        field: error.field(),
        message: error.to_string(),
    }
}
