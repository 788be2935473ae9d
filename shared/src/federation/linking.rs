//! Which account an upstream identity signs in to, under rules that cannot be turned into a
//! takeover:
//!
//! 1. An identity linked before signs in to its account, whatever address it now asserts.
//! 2. A new identity links itself to the account holding the same address only when the
//!    provider asserts the address verified (and is trusted for that), the account's
//!    address is verified too, and the account has no second factor. An account's address that was never verified is not its
//!    address here (it waits as `pending_email`), so an unverified local sign-up cannot
//!    capture a later social login for that address.
//! 3. A new identity whose address is an account's verified one, but not asserted verified
//!    (or whose account has a second factor), links only after the account's owner signs
//!    in (password and second factor).
//! 4. Otherwise the identity gets a new account, with no password, named after what the
//!    provider suggests (made unique); a verified, trusted address becomes its verified address
//!    unless another account verified it first.
//!
//! A link is one insert keyed by the identity; of parallel first logins with one identity one
//! link wins, and the accounts the others created are deleted again.

use crate::factors::second_factors::SecondFactorStore as _;
use crate::federation::upstream::Asserted;
use crate::identity::account_id::AccountId;
use crate::identity::credentials::{USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, Username};
use crate::identity::email_address::EmailAddress;
use crate::identity::identities::{Identity, IdentityStore as _, Link};
use crate::identity::users::{Insertion, User, UserStore as _};
use crate::platform::database::StoreError;
use crate::stores::Stores;
use std::time::SystemTime;

pub use crate::identity::users::NO_PASSWORD_HASH as NO_PASSWORD;

use crate::hooks::sign_up::{SignUpKind, Verdict};

/// Where an upstream sign-in goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Sign in to this account.
    SignIn {
        /// The account.
        user: User,
        /// Whether the identity was linked just now (to an existing or a new account).
        linked: bool,
        /// Whether the account was created just now.
        created: bool,
    },
    /// The address is this account's, but may not be linked without its owner: they must
    /// sign in to it first.
    OwnerMustSignIn(User),
    /// The identity is new and the pre-sign-up hook refused its account: its message.
    SignUpRefused(String),
    /// The identity is new and the pre-sign-up hook failed: nothing was created.
    SignUpUndecided,
}

/// The identity `asserted` describes, linked to `account` at `now`.
pub fn identity_of(asserted: &Asserted, account: &AccountId, now: SystemTime) -> Identity {
    Identity {
        issuer: asserted.issuer.clone(),
        subject: asserted.subject.clone(),
        account: account.clone(),
        email: asserted
            .email
            .as_deref()
            .and_then(|email| EmailAddress::parse(email).ok()),
        email_verified: asserted.email_verified,
        linked_at: now,
        last_used_at: now,
    }
}

/// Where `asserted` signs in, linking or creating as the rules above say.
pub async fn resolve<S: Stores>(
    stores: &S,
    hooks: &crate::hooks::Hooks,
    asserted: &Asserted,
    now: SystemTime,
) -> Result<Resolution, StoreError> {
    if let Some(known) = stores
        .identities()
        .find(&asserted.issuer, &asserted.subject)
        .await?
    {
        if let Some(user) = stores.users().find_by_id(&known.account).await? {
            stores
                .identities()
                .touch(&asserted.issuer, &asserted.subject, now)
                .await?;
            return Ok(Resolution::SignIn {
                user,
                linked: false,
                created: false,
            });
        }
        // Its account is gone (deleted between the two reads): the identity is new again.
        stores
            .identities()
            .unlink(&known.account, &asserted.issuer, &asserted.subject)
            .await?;
    }
    let address = asserted
        .email
        .as_deref()
        .and_then(|email| EmailAddress::parse(email).ok());
    if let Some(address) = &address
        && let Some(owner) = stores.users().find_by_email(address).await?
    {
        // An account with a second factor is never linked on an address alone: whoever
        // controls the address at some provider would otherwise skip its factor for good.
        let guarded = stores
            .second_factors()
            .find(&owner.id)
            .await?
            .is_some_and(|factor| factor.confirmed);
        // An address verified only on a hook's word was never proven by anyone: whoever
        // typed it must not receive another's identity through it.
        if !asserted.email_verified || guarded || owner.email_vouched {
            return Ok(Resolution::OwnerMustSignIn(owner));
        }
        return link_to(stores, asserted, owner, now).await;
    }
    let auto_verify_email = match sign_up_verdict(hooks, asserted).await {
        Ok(Verdict::Allowed { auto_verify_email }) => auto_verify_email,
        Ok(Verdict::Refused(message)) => return Ok(Resolution::SignUpRefused(message)),
        Err(_) => return Ok(Resolution::SignUpUndecided),
    };
    let vouched = auto_verify_email && !asserted.email_verified;
    create(
        stores,
        asserted,
        address.filter(|_| asserted.email_verified || auto_verify_email),
        vouched,
        now,
    )
    .await
}

/// The pre-sign-up hook's verdict on an account for `asserted` (`PreSignUp_ExternalProvider`).
async fn sign_up_verdict(
    hooks: &crate::hooks::Hooks,
    asserted: &Asserted,
) -> Result<Verdict, crate::hooks::sign_up::Undecided> {
    let mut attributes = crate::hooks::cognito::Attributes::new();
    if let Some(email) = &asserted.email {
        attributes.insert("email".to_owned(), email.clone());
        attributes.insert(
            "email_verified".to_owned(),
            asserted.email_verified.to_string(),
        );
    }
    if let Some(name) = &asserted.name {
        attributes.insert("name".to_owned(), name.clone());
    }
    let username = proposed_username(asserted);
    attributes.insert("preferred_username".to_owned(), username.clone());
    crate::hooks::sign_up::verdict(
        hooks,
        SignUpKind::ExternalProvider,
        &username,
        attributes,
        None,
    )
    .await
}

/// Links `asserted` to `owner` (who proved the account is theirs, or whose verified address
/// the provider verified too) and signs in to whichever account holds the identity after.
pub async fn link_to<S: Stores>(
    stores: &S,
    asserted: &Asserted,
    owner: User,
    now: SystemTime,
) -> Result<Resolution, StoreError> {
    match stores
        .identities()
        .link(&identity_of(asserted, &owner.id, now))
        .await?
    {
        Link::Linked => Ok(Resolution::SignIn {
            user: owner,
            linked: true,
            created: false,
        }),
        Link::AlreadyLinked(holder) => holder_of(stores, &holder).await,
    }
}

async fn holder_of<S: Stores>(stores: &S, holder: &AccountId) -> Result<Resolution, StoreError> {
    match stores.users().find_by_id(holder).await? {
        Some(user) => Ok(Resolution::SignIn {
            user,
            linked: false,
            created: false,
        }),
        None => Err(StoreError(mongodb::error::Error::custom(
            "the identity's account is gone",
        ))),
    }
}

async fn create<S: Stores>(
    stores: &S,
    asserted: &Asserted,
    address: Option<EmailAddress>,
    vouched: bool,
    now: SystemTime,
) -> Result<Resolution, StoreError> {
    let id = insert_named(stores, asserted, now).await?;
    match stores
        .identities()
        .link(&identity_of(asserted, &id, now))
        .await?
    {
        Link::Linked => {}
        Link::AlreadyLinked(holder) => {
            // A parallel first login with the same identity linked first: this account goes.
            stores.users().delete(&id).await?;
            return holder_of(stores, &holder).await;
        }
    }
    if let Some(address) = &address
        && stores
            .users()
            .set_pending_email(&id, Some(address), 0, now)
            .await?
    {
        let users = stores.users();
        let verified = if vouched {
            users.vouch_email(&id, address, 0, now).await?
        } else {
            users.verify_email(&id, address, 0, now).await?
        };
        tracing::info!(account = %id, ?verified, vouched, "the verified address given to the new account");
    }
    let user = stores
        .users()
        .find_by_id(&id)
        .await?
        .ok_or_else(|| StoreError(mongodb::error::Error::custom("the new account is gone")))?;
    Ok(Resolution::SignIn {
        user,
        linked: true,
        created: true,
    })
}

/// Inserts an account without a password under the first free name proposed for it.
async fn insert_named<S: Stores>(
    stores: &S,
    asserted: &Asserted,
    now: SystemTime,
) -> Result<AccountId, StoreError> {
    let base = proposed_username(asserted);
    for attempt in 0..8_u32 {
        let candidate = if attempt == 0 {
            base.clone()
        } else {
            with_suffix(&base, &random_digits(4 + attempt as usize / 2)?)
        };
        let Ok(username) = Username::for_new_account(&candidate) else {
            continue;
        };
        match stores.users().insert_provisional(&username, now).await? {
            Insertion::Created(id) => return Ok(id),
            Insertion::UsernameTaken => continue,
        }
    }
    Err(StoreError(mongodb::error::Error::custom(
        "no free username for the new account",
    )))
}

/// A username from what the provider suggests: its username, the address's local part, or
/// the name; only letters, digits, `.`, `_` and `-` kept; `user` when nothing usable is left.
pub fn proposed_username(asserted: &Asserted) -> String {
    let sources = [
        asserted
            .preferred_username
            .as_deref()
            .map(|name| name.split('@').next().unwrap_or(name)),
        asserted
            .email
            .as_deref()
            .and_then(|email| email.split('@').next()),
        asserted.name.as_deref(),
    ];
    for source in sources.into_iter().flatten() {
        let cleaned: String = source
            .trim()
            .chars()
            .map(|c| if c.is_whitespace() { '.' } else { c })
            .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .take(USERNAME_MAX_CHARS - 8)
            .collect();
        if cleaned.chars().count() >= USERNAME_MIN_CHARS
            && Username::for_new_account(&cleaned).is_ok()
        {
            return cleaned;
        }
    }
    "user".to_owned()
}

fn with_suffix(base: &str, digits: &str) -> String {
    format!("{base}-{digits}")
}

fn random_digits(count: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0_u8; count];
    getrandom::fill(&mut bytes)
        .map_err(|error| StoreError(mongodb::error::Error::custom(error.to_string())))?;
    Ok(bytes
        .iter()
        .map(|byte| char::from(b'0' + byte % 10))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryStores;

    fn asserted(subject: &str, email: Option<&str>, verified: bool) -> Asserted {
        Asserted {
            provider: "up".to_owned(),
            issuer: "https://up.example".to_owned(),
            subject: subject.to_owned(),
            email: email.map(str::to_owned),
            email_verified: verified,
            name: Some("Ada Lovelace".to_owned()),
            preferred_username: None,
            nonce: None,
            authenticated_at: None,
            expires_at: None,
        }
    }

    fn now() -> SystemTime {
        crate::testing::contract::now()
    }

    /// A pre-sign-up hook that raises `refusal`, or verifies the address.
    fn pre_sign_up(refusal: Option<&'static str>) -> crate::hooks::Hooks {
        crate::hooks::Hooks::answered_by(
            crate::hooks::Trigger::PreSignUp,
            std::sync::Arc::new(move |event: &[u8]| {
                let mut event: serde_json::Value = serde_json::from_slice(event).unwrap();
                assert_eq!(event["triggerSource"], "PreSignUp_ExternalProvider");
                assert_eq!(event["request"]["userAttributes"]["name"], "Ada Lovelace");
                match refusal {
                    Some(message) => Err(crate::hooks::InvokeFailure::Raised {
                        error_type: "Error".to_owned(),
                        message: message.to_owned(),
                    }),
                    None => {
                        event["response"]["autoVerifyEmail"] = true.into();
                        Ok(serde_json::to_vec(&event).unwrap())
                    }
                }
            }),
        )
    }

    #[tokio::test]
    async fn the_pre_sign_up_hook_decides_a_new_identitys_account_and_nothing_else() {
        let stores = MemoryStores::default();
        let refused = resolve(
            &stores,
            &pre_sign_up(Some("Invitation only")),
            &asserted("new", Some("ada@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(
            refused,
            Resolution::SignUpRefused("Invitation only".to_owned())
        );
        assert!(
            stores
                .identities()
                .find("https://up.example", "new")
                .await
                .unwrap()
                .is_none(),
            "nothing is stored for a refused sign-up"
        );
        // The hook verifies an address the provider did not.
        let allowed = resolve(
            &stores,
            &pre_sign_up(None),
            &asserted("new", Some("ada@example.com"), false),
            now(),
        )
        .await
        .unwrap();
        let Resolution::SignIn {
            user,
            created: true,
            ..
        } = allowed
        else {
            panic!("{allowed:?}");
        };
        assert_eq!(
            user.email.map(|e| e.as_str().to_owned()).as_deref(),
            Some("ada@example.com")
        );
        // A known identity signs in without asking the hook (which would refuse now).
        let again = resolve(
            &stores,
            &pre_sign_up(Some("Invitation only")),
            &asserted("new", Some("ada@example.com"), false),
            now(),
        )
        .await
        .unwrap();
        assert!(
            matches!(again, Resolution::SignIn { created: false, .. }),
            "{again:?}"
        );
        // The address the hook vouched for links no other provider's identity by itself,
        // even one verified there.
        let elsewhere = Asserted {
            issuer: "https://other.example".to_owned(),
            ..asserted("someone", Some("ada@example.com"), true)
        };
        let other = resolve(&stores, &crate::hooks::Hooks::none(), &elsewhere, now())
            .await
            .unwrap();
        assert!(matches!(other, Resolution::OwnerMustSignIn(_)), "{other:?}");
    }

    async fn account_with_address(
        stores: &MemoryStores,
        name: &str,
        address: &str,
        verified: bool,
    ) -> AccountId {
        let id = crate::testing::contract::created(stores, name).await;
        let address = EmailAddress::parse(address).unwrap();
        assert!(
            stores
                .users()
                .set_pending_email(&id, Some(&address), 0, now())
                .await
                .unwrap()
        );
        if verified {
            stores
                .users()
                .verify_email(&id, &address, 0, now())
                .await
                .unwrap();
        }
        id
    }

    #[tokio::test]
    async fn a_new_identity_gets_a_new_account_and_signs_in_to_it_again() {
        let stores = MemoryStores::default();
        let first = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("s1", Some("ada@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        let Resolution::SignIn {
            user,
            linked: true,
            created: true,
        } = first
        else {
            panic!("{first:?}");
        };
        assert_eq!(user.username.as_str(), "ada");
        assert_eq!(user.password_hash, NO_PASSWORD);
        assert!(user.username_provisional, "editable once");
        assert_eq!(
            user.email
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .as_deref(),
            Some("ada@example.com")
        );
        let again = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("s1", Some("changed@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(
            again,
            Resolution::SignIn {
                user: user.clone(),
                linked: false,
                created: false
            }
        );
        let unverified = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("s2", Some("ada@example.com"), false),
            now(),
        )
        .await
        .unwrap();
        assert!(
            matches!(unverified, Resolution::OwnerMustSignIn(ref owner) if owner.id == user.id),
            "the address is verified here now: an unverified assertion of it needs the owner"
        );
    }

    #[tokio::test]
    async fn a_verified_address_links_only_to_a_verified_account_address() {
        let stores = MemoryStores::default();
        let victim = account_with_address(&stores, "victim", "victim@example.com", true).await;
        let linked = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("v", Some("victim@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        assert!(
            matches!(linked, Resolution::SignIn { ref user, linked: true, created: false } if user.id == victim)
        );

        let squatter = account_with_address(&stores, "squatter", "late@example.com", false).await;
        let later = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("l", Some("late@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        let Resolution::SignIn {
            user,
            created: true,
            ..
        } = later
        else {
            panic!("{later:?}");
        };
        assert_ne!(
            user.id, squatter,
            "an unverified sign-up does not capture the social login"
        );
        assert_eq!(
            user.email.map(|e| e.as_str().to_owned()).as_deref(),
            Some("late@example.com")
        );
    }

    #[tokio::test]
    async fn an_unverified_assertion_of_a_victims_address_never_links() {
        let stores = MemoryStores::default();
        let victim = account_with_address(&stores, "victim", "victim@example.com", true).await;
        let attempt = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("attacker", Some("victim@example.com"), false),
            now(),
        )
        .await
        .unwrap();
        assert!(matches!(attempt, Resolution::OwnerMustSignIn(ref owner) if owner.id == victim));
        assert!(stores.identities().list(&victim).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_account_with_a_second_factor_is_never_linked_on_its_address_alone() {
        use crate::factors::second_factors::SecondFactorStore as _;
        let stores = MemoryStores::default();
        let guarded = account_with_address(&stores, "guarded", "guarded@example.com", true).await;
        let sealed = crate::factors::secret_box::Sealed {
            key_id: "k".to_owned(),
            nonce: vec![0; 12],
            ciphertext: vec![1; 32],
        };
        let factors = stores.second_factors();
        assert!(
            factors
                .begin_enrolment(&guarded, &sealed, now())
                .await
                .unwrap()
        );
        assert!(factors.confirm(&guarded, &sealed, 1, &[]).await.unwrap());
        let attempt = resolve(
            &stores,
            &crate::hooks::Hooks::none(),
            &asserted("g", Some("guarded@example.com"), true),
            now(),
        )
        .await
        .unwrap();
        assert!(
            matches!(attempt, Resolution::OwnerMustSignIn(ref owner) if owner.id == guarded),
            "{attempt:?}"
        );
        assert!(stores.identities().list(&guarded).await.unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_first_logins_with_one_identity_create_one_account() {
        let stores = MemoryStores::default();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let stores = stores.clone();
                tokio::spawn(async move {
                    resolve(
                        &stores,
                        &crate::hooks::Hooks::none(),
                        &asserted("same", Some("same@example.com"), true),
                        now(),
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut accounts = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Resolution::SignIn { user, .. } => accounts.push(user.id),
                other => panic!("{other:?}"),
            }
        }
        accounts.dedup();
        assert_eq!(accounts.len(), 1, "every login signs in to the one account");
        let everyone = crate::identity::users::AccountQuery {
            limit: 100,
            ..Default::default()
        };
        let listed = stores.users().list(&everyone).await.unwrap();
        assert_eq!(listed.len(), 1, "the losers' accounts are gone: {listed:?}");
    }

    #[test]
    fn usernames_come_from_what_the_provider_suggests() {
        let mut named = asserted("s", None, false);
        named.preferred_username = Some("octo cat@corp".to_owned());
        assert_eq!(proposed_username(&named), "octo.cat");
        named.preferred_username = None;
        assert_eq!(proposed_username(&named), "Ada.Lovelace");
        named.name = Some("!!".to_owned());
        assert_eq!(proposed_username(&named), "user");
        assert_eq!(with_suffix("ada", "1234"), "ada-1234");
    }
}
