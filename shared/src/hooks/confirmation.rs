//! The post-confirmation hook: a notification (Cognito's `PostConfirmation_ConfirmSignUp`)
//! after an address became an account's. It fails open: the address stays verified.

use super::cognito::{self, Attributes};
use super::{HookError, Hooks, Trigger};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Post confirmation: the request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostConfirmationRequest {
    /// The account's attributes, the verified address among them.
    pub user_attributes: Attributes,
    /// Always empty: no flow here takes client metadata.
    pub client_metadata: BTreeMap<String, String>,
}

/// Post confirmation: the response, which has nothing to say.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PostConfirmationResponse {}

/// Tells the hook that `user`'s address is verified; `Ok` when it is off or answered. The
/// caller records a failure in the account's history and goes on.
pub async fn confirmed(
    hooks: &Hooks,
    user: &crate::identity::users::User,
) -> Result<(), HookError> {
    if !hooks.is_on(Trigger::PostConfirmation) {
        return Ok(());
    }
    let request = PostConfirmationRequest {
        user_attributes: cognito::user_attributes(user),
        client_metadata: BTreeMap::new(),
    };
    let event = hooks.event::<_, PostConfirmationResponse>(
        "PostConfirmation_ConfirmSignUp",
        "1",
        user.username.as_str(),
        None,
        request,
    );
    hooks
        .call::<_, PostConfirmationResponse>(Trigger::PostConfirmation, &event)
        .await
        .map(|_| ())
}
