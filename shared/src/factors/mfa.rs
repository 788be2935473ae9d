//! The second factor in use: its settings (the data keys that seal TOTP secrets, the issuer
//! authenticator apps show, how recent a login must be for a sensitive change), the factor a
//! request presents (an authenticator code or a recovery code) and the check of one against
//! the account's stored factor. A check that succeeds has already recorded its use (the code's
//! step, or the spent recovery code) with one conditional update, so concurrent uses of one
//! code succeed at most once.

use crate::factors::second_factors::{SecondFactor, SecondFactorStore};
use crate::factors::secret_box::{DataKeys, Sealed, SecretBoxError};
use crate::factors::totp::TotpSecret;
use crate::identity::account_id::AccountId;
use crate::platform::config::{ConfigError, Source, parsed_or, required};
use crate::platform::database::StoreError;
use crate::tokens::CLOCK_SKEW_LEEWAY_SECONDS;
use std::time::{Duration, SystemTime};

/// The variable holding the data keys (`id:base64` of 32 bytes, comma-separated, the first
/// current); `SECOND_FACTOR_KEYS_SECRET_ARN` names its Secrets Manager secret when deployed.
pub const SECOND_FACTOR_KEYS: &str = "SECOND_FACTOR_KEYS";
/// The issuer authenticator apps show beside the account name.
pub const TOTP_ISSUER: &str = "TOTP_ISSUER";
/// Seconds since the login within which a sensitive change is allowed.
pub const RECENT_AUTHENTICATION_SECONDS: &str = "RECENT_AUTHENTICATION_SECONDS";

/// The default window for sensitive changes: ten minutes after the login.
pub const DEFAULT_RECENT_AUTHENTICATION: Duration = Duration::from_secs(10 * 60);

/// The methods (RFC 8176) of a login completed with a second factor.
pub const SECOND_FACTOR_METHODS: [&str; 3] = ["pwd", "otp", "mfa"];

/// How the second factor is configured for a function.
pub struct MfaSettings {
    /// Seal and open TOTP secrets.
    pub keys: DataKeys,
    /// The issuer in `otpauth://` URIs.
    pub issuer: String,
    /// How long after a login sensitive changes are allowed.
    pub recent_authentication: Duration,
}

impl std::fmt::Debug for MfaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSettings")
            .field("keys", &self.keys)
            .field("issuer", &self.issuer)
            .field("recent_authentication", &self.recent_authentication)
            .finish()
    }
}

impl MfaSettings {
    /// Reads [`SECOND_FACTOR_KEYS`] (required: there is no built-in key), [`TOTP_ISSUER`]
    /// (default `lambda-auth`, no `:`) and [`RECENT_AUTHENTICATION_SECONDS`] (60 to 86400,
    /// default 600).
    pub fn from_source(source: &impl Source) -> Result<Self, ConfigError> {
        let keys = DataKeys::parse(&required(source, SECOND_FACTOR_KEYS)?).map_err(|error| {
            ConfigError::Invalid {
                var: SECOND_FACTOR_KEYS,
                reason: error.to_string(),
            }
        })?;
        let issuer = source
            .get(TOTP_ISSUER)
            .unwrap_or_else(|| "lambda-auth".to_owned());
        if issuer.contains(':') || issuer.trim().is_empty() || issuer.len() > 64 {
            return Err(ConfigError::Invalid {
                var: TOTP_ISSUER,
                reason: "must be 1 to 64 characters without ':'".to_owned(),
            });
        }
        Ok(Self {
            keys,
            issuer,
            recent_authentication: recent_authentication_from(source)?,
        })
    }

    /// Seals a new TOTP secret for `account` (the account id is bound in as context, so a
    /// sealed secret copied to another account does not open).
    pub fn seal(&self, account: &AccountId, secret: &TotpSecret) -> Result<Sealed, SecretBoxError> {
        self.keys
            .seal(secret.expose_bytes(), account.as_str().as_bytes())
    }

    /// Opens the account's sealed TOTP secret with whichever listed key sealed it.
    pub fn open(&self, account: &AccountId, sealed: &Sealed) -> Result<TotpSecret, SecretBoxError> {
        let bytes = self.keys.open(sealed, account.as_str().as_bytes())?;
        Ok(TotpSecret::from_bytes(bytes))
    }

    /// Whether a login at `authenticated_at` is recent enough at `now` for a sensitive change.
    pub fn is_recent(&self, authenticated_at: Option<SystemTime>, now: SystemTime) -> bool {
        is_recent(authenticated_at, now, self.recent_authentication)
    }
}

/// How recent a login must be for a sensitive request: [`RECENT_AUTHENTICATION_SECONDS`],
/// 60 to 86400, default 600.
pub fn recent_authentication_from(source: &impl Source) -> Result<Duration, ConfigError> {
    let seconds: u64 = parsed_or(
        source,
        RECENT_AUTHENTICATION_SECONDS,
        DEFAULT_RECENT_AUTHENTICATION.as_secs(),
    )?;
    if !(60..=86_400).contains(&seconds) {
        return Err(ConfigError::Invalid {
            var: RECENT_AUTHENTICATION_SECONDS,
            reason: "must be between 60 and 86400".to_owned(),
        });
    }
    Ok(Duration::from_secs(seconds))
}

/// Whether a login at `authenticated_at` is within `window` of `now` (a login in the future
/// only within the clock leeway).
pub fn is_recent(authenticated_at: Option<SystemTime>, now: SystemTime, window: Duration) -> bool {
    let leeway = Duration::from_secs(CLOCK_SKEW_LEEWAY_SECONDS);
    authenticated_at.is_some_and(|at| match now.duration_since(at) {
        Ok(age) => age <= window + leeway,
        Err(ahead) => ahead.duration() <= leeway,
    })
}

/// The second factor a request presents.
#[derive(Clone, PartialEq, Eq)]
pub enum PresentedFactor {
    /// A code from the authenticator app.
    Otp(String),
    /// One of the account's recovery codes.
    RecoveryCode(String),
}

impl std::fmt::Debug for PresentedFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Otp(_) => f.write_str("Otp(…)"),
            Self::RecoveryCode(_) => f.write_str("RecoveryCode(…)"),
        }
    }
}

impl PresentedFactor {
    /// The factor from the `otp` and `recovery_code` fields of a request: at most one of them
    /// may be given (empty counts as absent).
    pub fn from_fields(
        otp: Option<String>,
        recovery_code: Option<String>,
    ) -> Result<Option<Self>, &'static str> {
        let otp = otp.filter(|value| !value.is_empty());
        let recovery_code = recovery_code.filter(|value| !value.is_empty());
        match (otp, recovery_code) {
            (Some(_), Some(_)) => Err("give either otp or recovery_code, not both"),
            (Some(code), None) => Ok(Some(Self::Otp(code))),
            (None, Some(code)) => Ok(Some(Self::RecoveryCode(code))),
            (None, None) => Ok(None),
        }
    }

    /// What the logs call it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Otp(_) => "authenticator code",
            Self::RecoveryCode(_) => "recovery code",
        }
    }
}

/// Why a factor could not be checked (not: that it was wrong).
#[derive(Debug, thiserror::Error)]
pub enum FactorCheckError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored secret does not open: its key is no longer listed, or it was altered.
    #[error("stored second factor does not open: {0}")]
    Sealed(#[from] SecretBoxError),
}

/// Checks `presented` against the account's confirmed `factor` at `now` and, when it is
/// right, records its use: an authenticator code's step becomes the last accepted one (so it
/// is refused for the rest of its window), a recovery code is spent. `false` for a wrong,
/// replayed or already spent code, and for an unconfirmed factor.
pub async fn check(
    store: &impl SecondFactorStore,
    settings: &MfaSettings,
    account: &AccountId,
    factor: &SecondFactor,
    presented: &PresentedFactor,
    now: SystemTime,
) -> Result<bool, FactorCheckError> {
    if !factor.confirmed {
        return Ok(false);
    }
    match presented {
        PresentedFactor::Otp(code) => {
            let secret = settings.open(account, &factor.secret)?;
            let Some(step) = secret.accept(code, now, factor.last_step) else {
                return Ok(false);
            };
            let accepted = store.accept_step(account, step).await?;
            if accepted && settings.keys.is_stale(&factor.secret) {
                reseal(store, settings, account, &factor.secret, &secret).await;
            }
            Ok(accepted)
        }
        PresentedFactor::RecoveryCode(code) => {
            let Some(hash) = crate::factors::recovery_codes::hash(account, code) else {
                return Ok(false);
            };
            if !factor.recovery_codes.contains(&hash) {
                return Ok(false);
            }
            Ok(store.spend_recovery_code(account, &hash).await?)
        }
    }
}

/// Seals the secret again under the current data key once a code proved it, so a retired
/// key stops being needed as its enrolments are used. A failure only delays that.
async fn reseal(
    store: &impl SecondFactorStore,
    settings: &MfaSettings,
    account: &AccountId,
    old: &Sealed,
    secret: &TotpSecret,
) {
    let resealed = match settings.seal(account, secret) {
        Ok(new) => store.reseal(account, old, &new).await,
        Err(error) => {
            tracing::warn!(%error, "second factor not resealed under the current key");
            return;
        }
    };
    match resealed {
        Ok(true) => {
            tracing::info!(account = %account, from = %old.key_id, "second factor resealed under the current data key")
        }
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "second factor not resealed under the current key"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemorySecondFactorStore, data_key};
    use std::time::UNIX_EPOCH;

    fn settings(keys: &str) -> MfaSettings {
        MfaSettings::from_source(&[(SECOND_FACTOR_KEYS, keys)]).unwrap()
    }

    fn alice() -> AccountId {
        AccountId::parse("2bd806c97f0e00af1a1fc332").unwrap()
    }

    fn code_at(secret: &TotpSecret, at: SystemTime) -> String {
        secret.code_at(at).unwrap()
    }

    async fn enrolled(
        settings: &MfaSettings,
        store: &MemorySecondFactorStore,
        recovery: &[String],
    ) -> TotpSecret {
        let secret = TotpSecret::generate().unwrap();
        let sealed = settings.seal(&alice(), &secret).unwrap();
        store
            .begin_enrolment(&alice(), &sealed, UNIX_EPOCH)
            .await
            .unwrap();
        store.confirm(&alice(), &sealed, 1, recovery).await.unwrap();
        secret
    }

    #[test]
    fn settings_need_keys_and_refuse_bad_values() {
        assert!(matches!(
            MfaSettings::from_source(&[("X", "")]),
            Err(ConfigError::Missing(SECOND_FACTOR_KEYS))
        ));
        let keys = data_key("k1");
        let defaults = settings(&keys);
        assert_eq!(defaults.issuer, "lambda-auth");
        assert_eq!(defaults.recent_authentication, Duration::from_secs(600));
        for (var, value) in [
            (SECOND_FACTOR_KEYS, "k1:short"),
            (TOTP_ISSUER, "a:b"),
            (RECENT_AUTHENTICATION_SECONDS, "10"),
            (RECENT_AUTHENTICATION_SECONDS, "ten"),
        ] {
            let source = [(var, value), (SECOND_FACTOR_KEYS, keys.as_str())];
            assert!(MfaSettings::from_source(&source).is_err(), "{var}={value}");
        }
    }

    #[test]
    fn a_login_is_recent_for_the_configured_window_only() {
        let settings = settings(&data_key("k1"));
        let login = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(settings.is_recent(Some(login), login + Duration::from_secs(600)));
        assert!(!settings.is_recent(Some(login), login + Duration::from_secs(606)));
        assert!(!settings.is_recent(None, login));
        assert!(settings.is_recent(Some(login + Duration::from_secs(5)), login));
        assert!(
            !settings.is_recent(Some(login + Duration::from_secs(3600)), login),
            "a login far in the future is not recent"
        );
    }

    #[test]
    fn at_most_one_factor_is_presented() {
        let some = |text: &str| Some(text.to_owned());
        assert_eq!(
            PresentedFactor::from_fields(some("123456"), None),
            Ok(Some(PresentedFactor::Otp("123456".to_owned())))
        );
        assert_eq!(
            PresentedFactor::from_fields(some(""), some("ABCDE-FGHJK")),
            Ok(Some(PresentedFactor::RecoveryCode(
                "ABCDE-FGHJK".to_owned()
            )))
        );
        assert_eq!(PresentedFactor::from_fields(None, some("")), Ok(None));
        assert!(PresentedFactor::from_fields(some("1"), some("2")).is_err());
        assert_eq!(
            format!("{:?}", PresentedFactor::Otp("123456".to_owned())),
            "Otp(…)"
        );
    }

    #[tokio::test]
    async fn a_code_is_accepted_once_and_a_recovery_code_spent_once() {
        let settings = settings(&data_key("k1"));
        let store = MemorySecondFactorStore::default();
        let codes = crate::factors::recovery_codes::generate(&alice()).unwrap();
        let secret = enrolled(&settings, &store, &codes.hashes).await;
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let otp = PresentedFactor::Otp(code_at(&secret, now));
        let factor = store.find(&alice()).await.unwrap().unwrap();
        assert!(
            check(&store, &settings, &alice(), &factor, &otp, now)
                .await
                .unwrap()
        );
        let factor = store.find(&alice()).await.unwrap().unwrap();
        assert!(
            !check(&store, &settings, &alice(), &factor, &otp, now)
                .await
                .unwrap()
        );

        let recovery = PresentedFactor::RecoveryCode(
            secrecy::ExposeSecret::expose_secret(&codes.codes[0]).to_lowercase(),
        );
        assert!(
            check(&store, &settings, &alice(), &factor, &recovery, now)
                .await
                .unwrap()
        );
        let factor = store.find(&alice()).await.unwrap().unwrap();
        assert_eq!(factor.recovery_codes.len(), 9);
        assert!(
            !check(&store, &settings, &alice(), &factor, &recovery, now)
                .await
                .unwrap()
        );
        let nonsense = PresentedFactor::RecoveryCode("not a code".to_owned());
        assert!(
            !check(&store, &settings, &alice(), &factor, &nonsense, now)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_rotated_key_list_still_opens_secrets_sealed_with_the_old_key() {
        let (first, second) = (data_key("k1"), data_key("k2"));
        let old = settings(&first);
        let store = MemorySecondFactorStore::default();
        let secret = enrolled(&old, &store, &[]).await;
        let rotated = settings(&format!("{second},{first}"));
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let factor = store.find(&alice()).await.unwrap().unwrap();
        let otp = PresentedFactor::Otp(code_at(&secret, now));
        assert!(
            check(&store, &rotated, &alice(), &factor, &otp, now)
                .await
                .unwrap()
        );
        assert_eq!(rotated.seal(&alice(), &secret).unwrap().key_id, "k2");

        let dropped = settings(&second);
        let later = PresentedFactor::Otp(code_at(&secret, now + Duration::from_secs(30)));
        assert!(matches!(
            check(&store, &dropped, &alice(), &factor, &later, now).await,
            Err(FactorCheckError::Sealed(_))
        ));
    }
}
