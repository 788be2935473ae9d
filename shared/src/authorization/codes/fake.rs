//! The in-memory [`super::AuthorizationCodeStore`], with the MongoDB store's rules, for
//! handler tests.

use super::{AuthorizationCodeStore, AuthorizationGrant, Redemption};
use crate::access::client_id::RelyingPartyId;
use crate::identity::account_id::AccountId;
use crate::platform::database::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Debug, Clone)]
struct StoredCode {
    grant: AuthorizationGrant,
    session: Option<String>,
    replayed: bool,
}

/// Authorization codes in memory, by hash; clones share them.
#[derive(Debug, Clone, Default)]
pub struct MemoryAuthorizationCodeStore(Arc<Mutex<HashMap<String, StoredCode>>>);

impl AuthorizationCodeStore for MemoryAuthorizationCodeStore {
    async fn issue(&self, hash: &str, grant: &AuthorizationGrant) -> Result<(), StoreError> {
        self.0.lock().unwrap().insert(
            hash.to_owned(),
            StoredCode {
                grant: grant.clone(),
                session: None,
                replayed: false,
            },
        );
        Ok(())
    }

    async fn redeem(
        &self,
        hash: &str,
        session: &str,
        now: SystemTime,
    ) -> Result<Redemption, StoreError> {
        let mut codes = self.0.lock().unwrap();
        let Some(code) = codes.get_mut(hash) else {
            return Ok(Redemption::Invalid);
        };
        Ok(match &code.session {
            Some(first) => {
                code.replayed = true;
                Redemption::Replayed {
                    session: first.clone(),
                    account: code.grant.account.clone(),
                }
            }
            None if code.grant.expires_at > now => {
                code.session = Some(session.to_owned());
                Redemption::Redeemed(code.grant.clone())
            }
            None => Redemption::Invalid,
        })
    }

    async fn was_replayed(&self, hash: &str) -> Result<bool, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(hash)
            .is_some_and(|code| code.replayed))
    }

    async fn delete_account(&self, account: &AccountId) -> Result<u64, StoreError> {
        let mut codes = self.0.lock().unwrap();
        let before = codes.len();
        codes.retain(|_, code| code.grant.account != *account);
        Ok((before - codes.len()) as u64)
    }

    async fn delete_client(
        &self,
        account: &AccountId,
        client: &RelyingPartyId,
    ) -> Result<u64, StoreError> {
        let mut codes = self.0.lock().unwrap();
        let before = codes.len();
        codes.retain(|_, code| !(code.grant.account == *account && code.grant.client == *client));
        Ok((before - codes.len()) as u64)
    }
}
