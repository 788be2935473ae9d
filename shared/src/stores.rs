//! The stores handlers read and write, bundled behind one type parameter: a function's
//! `State<S: Stores>` reaches every store through `S`, whether the bundle is MongoDB
//! ([`MongoStores`]) or in memory (`testing::MemoryStores`, for handler tests).

use crate::abuse::leases::{LeaseStore, MongoLeaseStore};
use crate::abuse::login_failures::{LoginFailureStore, MongoLoginFailureStore};
use crate::abuse::rate_limits::{MongoRateLimitStore, RateLimitStore};
use crate::access::clients::{ClientStore, MongoClientStore};
use crate::access::relying_parties::{MongoRelyingPartyStore, RelyingPartyStore};
use crate::authorization::codes::{AuthorizationCodeStore, MongoAuthorizationCodeStore};
use crate::authorization::consents::{ConsentStore, MongoConsentStore};
use crate::authorization::federation_pending::{MongoPendingStore, PendingStore};
use crate::factors::mfa_challenges::{MfaChallengeStore, MongoMfaChallengeStore};
use crate::factors::passkey_ceremonies::{MongoPasskeyCeremonyStore, PasskeyCeremonyStore};
use crate::factors::passkeys::{MongoPasskeyStore, PasskeyStore};
use crate::factors::second_factors::{MongoSecondFactorStore, SecondFactorStore};
use crate::identity::account_events::{AccountEventStore, MongoAccountEventStore};
use crate::identity::identities::{IdentityStore, MongoIdentityStore};
use crate::identity::users::{MongoUserStore, UserCollectionSettings, UserStore};
use crate::mail::email_codes::{EmailCodeStore, MongoEmailCodeStore};
use crate::platform::database::StoreError;
use crate::products::{MongoProductStore, ProductStore};
use crate::sessions::{MongoSessionStore, SessionStore};
use mongodb::Database;

/// One implementation of every store.
pub trait Stores: Send + Sync {
    /// Accounts.
    type Users: UserStore;
    /// Failed-login counters behind the per-username lockout.
    type LoginFailures: LoginFailureStore;
    /// Refresh-token hashes.
    type Sessions: SessionStore;
    /// The product catalogue (cloned into a per-instance cache by `products`).
    type Products: ProductStore + Clone;
    /// Second factors.
    type SecondFactors: SecondFactorStore;
    /// Logins waiting for their second factor.
    type MfaChallenges: MfaChallengeStore;
    /// Each account's security history.
    type Events: AccountEventStore;
    /// Codes sent by email.
    type EmailCodes: EmailCodeStore;
    /// Rate-limit counters.
    type RateLimits: RateLimitStore;
    /// Machine clients.
    type Clients: ClientStore;
    /// Leases that serialise a kind of change.
    type Leases: LeaseStore;
    /// Registered passkeys.
    type Passkeys: PasskeyStore;
    /// WebAuthn ceremonies in progress.
    type PasskeyCeremonies: PasskeyCeremonyStore;
    /// Relying parties of the authorization endpoint.
    type RelyingParties: RelyingPartyStore;
    /// Authorization codes waiting for their exchange.
    type AuthorizationCodes: AuthorizationCodeStore;
    /// What each user allowed each third-party application.
    type Consents: ConsentStore;
    /// Identities at other providers linked to accounts.
    type Identities: IdentityStore;
    /// Sign-ins under way at upstream providers, and assertions used once.
    type Federation: PendingStore;

    /// Accounts.
    fn users(&self) -> &Self::Users;
    /// Failed-login counters.
    fn login_failures(&self) -> &Self::LoginFailures;
    /// Refresh-token hashes.
    fn sessions(&self) -> &Self::Sessions;
    /// The product catalogue.
    fn products(&self) -> &Self::Products;
    /// Second factors.
    fn second_factors(&self) -> &Self::SecondFactors;
    /// Logins waiting for their second factor.
    fn mfa_challenges(&self) -> &Self::MfaChallenges;
    /// Each account's security history.
    fn events(&self) -> &Self::Events;
    /// Codes sent by email.
    fn email_codes(&self) -> &Self::EmailCodes;
    /// Rate-limit counters.
    fn rate_limits(&self) -> &Self::RateLimits;
    /// `clients`.
    fn clients(&self) -> &Self::Clients;
    /// `leases`.
    fn leases(&self) -> &Self::Leases;
    /// Registered passkeys.
    fn passkeys(&self) -> &Self::Passkeys;
    /// WebAuthn ceremonies in progress.
    fn passkey_ceremonies(&self) -> &Self::PasskeyCeremonies;
    /// Relying parties of the authorization endpoint.
    fn relying_parties(&self) -> &Self::RelyingParties;
    /// Authorization codes waiting for their exchange.
    fn authorization_codes(&self) -> &Self::AuthorizationCodes;
    /// What each user allowed each third-party application.
    fn consents(&self) -> &Self::Consents;
    /// Identities at other providers linked to accounts.
    fn identities(&self) -> &Self::Identities;
    /// Sign-ins under way at upstream providers, and assertions used once.
    fn federation(&self) -> &Self::Federation;
}

/// Every store on one MongoDB database. Building it opens nothing: collections are handles,
/// and the driver connects on first use.
#[derive(Debug, Clone)]
pub struct MongoStores {
    /// Accounts, in the configured users collection.
    pub users: MongoUserStore,
    /// `login_failures`.
    pub login_failures: MongoLoginFailureStore,
    /// `sessions`.
    pub sessions: MongoSessionStore,
    /// `products`.
    pub products: MongoProductStore,
    /// `second_factors`.
    pub second_factors: MongoSecondFactorStore,
    /// `mfa_challenges`.
    pub mfa_challenges: MongoMfaChallengeStore,
    /// `security_events`.
    pub events: MongoAccountEventStore,
    /// `email_codes`.
    pub email_codes: MongoEmailCodeStore,
    /// `rate_limits`.
    pub rate_limits: MongoRateLimitStore,
    /// `clients`.
    pub clients: MongoClientStore,
    /// `leases`.
    pub leases: MongoLeaseStore,
    /// `passkeys`.
    pub passkeys: MongoPasskeyStore,
    /// `passkey_ceremonies`.
    pub passkey_ceremonies: MongoPasskeyCeremonyStore,
    /// `relying_parties`.
    pub relying_parties: MongoRelyingPartyStore,
    /// `authorization_codes`.
    pub authorization_codes: MongoAuthorizationCodeStore,
    /// `consents`.
    pub consents: MongoConsentStore,
    /// `identities`.
    pub identities: MongoIdentityStore,
    /// `federation_pending`.
    pub federation: MongoPendingStore,
}

impl MongoStores {
    /// The stores on `database`, with users where `users` says.
    pub fn new(database: &Database, users: &UserCollectionSettings) -> Self {
        Self {
            users: MongoUserStore::with_settings(database, users),
            login_failures: MongoLoginFailureStore::new(database),
            sessions: MongoSessionStore::new(database),
            products: MongoProductStore::new(database),
            second_factors: MongoSecondFactorStore::new(database),
            mfa_challenges: MongoMfaChallengeStore::new(database),
            events: MongoAccountEventStore::new(database),
            email_codes: MongoEmailCodeStore::new(database),
            rate_limits: MongoRateLimitStore::new(database),
            clients: MongoClientStore::new(database),
            leases: MongoLeaseStore::new(database),
            passkeys: MongoPasskeyStore::new(database),
            passkey_ceremonies: MongoPasskeyCeremonyStore::new(database),
            relying_parties: MongoRelyingPartyStore::new(database),
            authorization_codes: MongoAuthorizationCodeStore::new(database),
            consents: MongoConsentStore::new(database),
            identities: MongoIdentityStore::new(database),
            federation: MongoPendingStore::new(database),
        }
    }

    /// Creates every index the stores rely on (idempotent): the unique username index, the
    /// TTL indexes and the session lookups. A deploy step runs it (`setup-database`), not the
    /// functions, so their database user needs only read and write.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.users.ensure_indexes().await?;
        self.login_failures.ensure_indexes().await?;
        self.sessions.ensure_indexes().await?;
        self.mfa_challenges.ensure_indexes().await?;
        self.email_codes.ensure_indexes().await?;
        self.rate_limits.ensure_indexes().await?;
        self.passkeys.ensure_indexes().await?;
        self.passkey_ceremonies.ensure_indexes().await?;
        self.authorization_codes.ensure_indexes().await?;
        self.consents.ensure_indexes().await?;
        self.identities.ensure_indexes().await?;
        self.federation.ensure_indexes().await?;
        self.events.ensure_indexes().await
    }
}

impl Stores for MongoStores {
    type Users = MongoUserStore;
    type LoginFailures = MongoLoginFailureStore;
    type Sessions = MongoSessionStore;
    type Products = MongoProductStore;
    type SecondFactors = MongoSecondFactorStore;
    type MfaChallenges = MongoMfaChallengeStore;
    type Events = MongoAccountEventStore;
    type EmailCodes = MongoEmailCodeStore;
    type RateLimits = MongoRateLimitStore;
    type Clients = MongoClientStore;
    type Leases = MongoLeaseStore;
    type Passkeys = MongoPasskeyStore;
    type PasskeyCeremonies = MongoPasskeyCeremonyStore;
    type RelyingParties = MongoRelyingPartyStore;
    type AuthorizationCodes = MongoAuthorizationCodeStore;
    type Consents = MongoConsentStore;
    type Identities = MongoIdentityStore;
    type Federation = MongoPendingStore;

    fn users(&self) -> &MongoUserStore {
        &self.users
    }
    fn login_failures(&self) -> &MongoLoginFailureStore {
        &self.login_failures
    }
    fn sessions(&self) -> &MongoSessionStore {
        &self.sessions
    }
    fn products(&self) -> &MongoProductStore {
        &self.products
    }
    fn second_factors(&self) -> &MongoSecondFactorStore {
        &self.second_factors
    }
    fn mfa_challenges(&self) -> &MongoMfaChallengeStore {
        &self.mfa_challenges
    }
    fn events(&self) -> &MongoAccountEventStore {
        &self.events
    }
    fn email_codes(&self) -> &MongoEmailCodeStore {
        &self.email_codes
    }
    fn rate_limits(&self) -> &MongoRateLimitStore {
        &self.rate_limits
    }
    fn clients(&self) -> &MongoClientStore {
        &self.clients
    }
    fn leases(&self) -> &MongoLeaseStore {
        &self.leases
    }
    fn passkeys(&self) -> &MongoPasskeyStore {
        &self.passkeys
    }
    fn passkey_ceremonies(&self) -> &MongoPasskeyCeremonyStore {
        &self.passkey_ceremonies
    }
    fn relying_parties(&self) -> &MongoRelyingPartyStore {
        &self.relying_parties
    }
    fn authorization_codes(&self) -> &MongoAuthorizationCodeStore {
        &self.authorization_codes
    }
    fn consents(&self) -> &MongoConsentStore {
        &self.consents
    }
    fn identities(&self) -> &MongoIdentityStore {
        &self.identities
    }
    fn federation(&self) -> &MongoPendingStore {
        &self.federation
    }
}
