//! Every store in memory behind one [`Stores`] bundle for handler tests, a clock tests move
//! by hand, and a mailer that records what it was given. Each store's fake lives in the
//! store's folder (`fake.rs`), held to the MongoDB store by its contract cases.

use crate::abuse::leases::fake::MemoryLeaseStore;
use crate::abuse::login_failures::fake::MemoryLoginFailureStore;
use crate::abuse::rate_limits::fake::MemoryRateLimitStore;
use crate::access::clients::fake::MemoryClientStore;
use crate::access::relying_parties::fake::MemoryRelyingPartyStore;
use crate::authorization::codes::fake::MemoryAuthorizationCodeStore;
use crate::authorization::consents::fake::MemoryConsentStore;
use crate::authorization::federation_pending::fake::MemoryPendingStore;
use crate::factors::mfa_challenges::fake::MemoryMfaChallengeStore;
use crate::factors::passkey_ceremonies::fake::MemoryPasskeyCeremonyStore;
use crate::factors::passkeys::fake::MemoryPasskeyStore;
use crate::factors::second_factors::fake::MemorySecondFactorStore;
use crate::identity::account_events::fake::MemoryAccountEventStore;
use crate::identity::identities::fake::MemoryIdentityStore;
use crate::identity::users::fake::MemoryUserStore;
use crate::mail::email_codes::fake::MemoryEmailCodeStore;
use crate::mail::message::{Mail, MailError};
use crate::platform::clock::Clock;
use crate::products::fake::MemoryProductStore;
use crate::sessions::fake::MemorySessionStore;
use crate::stores::Stores;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Every store in memory: the handler tests' [`Stores`]. Like the MongoDB stores, each is a
/// handle: clones share their data, so a test keeps one to look inside after a request.
#[derive(Debug, Clone, Default)]
pub struct MemoryStores {
    /// Accounts.
    pub users: MemoryUserStore,
    /// Failed-login counters.
    pub login_failures: MemoryLoginFailureStore,
    /// Refresh tokens.
    pub sessions: MemorySessionStore,
    /// The sample catalogue.
    pub products: MemoryProductStore,
    /// Second factors.
    pub second_factors: MemorySecondFactorStore,
    /// Logins waiting for their second factor.
    pub mfa_challenges: MemoryMfaChallengeStore,
    /// Security histories.
    pub events: MemoryAccountEventStore,
    /// Codes sent by email.
    pub email_codes: MemoryEmailCodeStore,
    /// Rate-limit counters.
    pub rate_limits: MemoryRateLimitStore,
    /// Machine clients.
    pub clients: MemoryClientStore,
    /// Leases.
    pub leases: MemoryLeaseStore,
    /// Registered passkeys.
    pub passkeys: MemoryPasskeyStore,
    /// WebAuthn ceremonies in progress.
    pub passkey_ceremonies: MemoryPasskeyCeremonyStore,
    /// Relying parties.
    pub relying_parties: MemoryRelyingPartyStore,
    /// Authorization codes.
    pub authorization_codes: MemoryAuthorizationCodeStore,
    /// Consents.
    pub consents: MemoryConsentStore,
    /// Linked identities.
    pub identities: MemoryIdentityStore,
    /// Sign-ins under way at upstream providers.
    pub federation: MemoryPendingStore,
}

impl MemoryStores {
    /// Empty stores but for `users`.
    pub fn with_users(users: &MemoryUserStore) -> Self {
        Self {
            users: users.clone(),
            ..Self::default()
        }
    }
}

impl Stores for MemoryStores {
    type Users = MemoryUserStore;
    type LoginFailures = MemoryLoginFailureStore;
    type Sessions = MemorySessionStore;
    type Products = MemoryProductStore;
    type SecondFactors = MemorySecondFactorStore;
    type MfaChallenges = MemoryMfaChallengeStore;
    type Events = MemoryAccountEventStore;
    type EmailCodes = MemoryEmailCodeStore;
    type RateLimits = MemoryRateLimitStore;
    type Clients = MemoryClientStore;
    type Leases = MemoryLeaseStore;
    type Passkeys = MemoryPasskeyStore;
    type PasskeyCeremonies = MemoryPasskeyCeremonyStore;
    type RelyingParties = MemoryRelyingPartyStore;
    type AuthorizationCodes = MemoryAuthorizationCodeStore;
    type Consents = MemoryConsentStore;
    type Identities = MemoryIdentityStore;
    type Federation = MemoryPendingStore;

    fn users(&self) -> &MemoryUserStore {
        &self.users
    }
    fn login_failures(&self) -> &MemoryLoginFailureStore {
        &self.login_failures
    }
    fn sessions(&self) -> &MemorySessionStore {
        &self.sessions
    }
    fn products(&self) -> &MemoryProductStore {
        &self.products
    }
    fn second_factors(&self) -> &MemorySecondFactorStore {
        &self.second_factors
    }
    fn mfa_challenges(&self) -> &MemoryMfaChallengeStore {
        &self.mfa_challenges
    }
    fn events(&self) -> &MemoryAccountEventStore {
        &self.events
    }
    fn email_codes(&self) -> &MemoryEmailCodeStore {
        &self.email_codes
    }
    fn clients(&self) -> &MemoryClientStore {
        &self.clients
    }
    fn leases(&self) -> &MemoryLeaseStore {
        &self.leases
    }
    fn passkeys(&self) -> &MemoryPasskeyStore {
        &self.passkeys
    }
    fn passkey_ceremonies(&self) -> &MemoryPasskeyCeremonyStore {
        &self.passkey_ceremonies
    }
    fn rate_limits(&self) -> &MemoryRateLimitStore {
        &self.rate_limits
    }
    fn relying_parties(&self) -> &MemoryRelyingPartyStore {
        &self.relying_parties
    }
    fn authorization_codes(&self) -> &MemoryAuthorizationCodeStore {
        &self.authorization_codes
    }
    fn consents(&self) -> &MemoryConsentStore {
        &self.consents
    }
    fn identities(&self) -> &MemoryIdentityStore {
        &self.identities
    }
    fn federation(&self) -> &MemoryPendingStore {
        &self.federation
    }
}

/// A mailer that keeps what it is given, for handler tests; `fail` makes every delivery
/// fail as an unreachable mail service would.
#[derive(Debug, Clone, Default)]
pub struct RecordingMailer {
    sent: Arc<Mutex<Vec<Mail>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
    delay: Arc<Mutex<Duration>>,
}

impl RecordingMailer {
    /// Every message delivered so far, oldest first.
    pub fn sent(&self) -> Vec<Mail> {
        self.sent.lock().unwrap().clone()
    }

    /// Makes every later delivery fail (or succeed again).
    pub fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every later delivery take `by` first, as a slow mail service would.
    pub fn delay(&self, by: Duration) {
        *self.delay.lock().unwrap() = by;
    }

    /// Records `mail` (after the delay), or fails when asked to.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let delay = *self.delay.lock().unwrap();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(MailError::Sending("simulated outage".to_owned()));
        }
        self.sent.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

/// A clock that stands still until a test moves it.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(SystemTime::now())))
    }
}

impl ManualClock {
    /// A clock standing at `time`.
    pub fn at(time: SystemTime) -> Self {
        Self(Arc::new(Mutex::new(time)))
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// The [`Clock`] that reads this time.
    pub fn clock(&self) -> Clock {
        let time = Arc::clone(&self.0);
        Clock::from_fn(move || *time.lock().unwrap())
    }
}
