//! Amazon Cognito's user-pool trigger events, as this service sends them and reads their
//! answers. The envelope ([`Event`]) is Cognito's: `version`, `triggerSource`, `region`,
//! `userPoolId`, `userName`, `callerContext`, `request`, `response`. A function answers with
//! the event, its `response` filled in; fields this service does not use are ignored, and a
//! missing one is empty, as Cognito reads them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One trigger event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event<R, S> {
    /// The event's version: `"1"`, or `"2"` for pre token generation.
    pub version: &'static str,
    /// Which flow raised it, in Cognito's names (`PreSignUp_SignUp`, ...).
    pub trigger_source: &'static str,
    /// `AWS_REGION` of the calling function.
    pub region: String,
    /// `HOOK_POOL_ID`: the stack's name, where Cognito names a user pool.
    pub user_pool_id: String,
    /// The account's username.
    pub user_name: String,
    /// Who asked.
    pub caller_context: CallerContext,
    /// The trigger's input.
    pub request: R,
    /// The trigger's output, empty (the function fills it in).
    pub response: S,
}

/// `callerContext`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallerContext {
    /// This service and its version, where Cognito names the caller's SDK.
    pub aws_sdk_version: &'static str,
    /// The OAuth client of the request, or empty.
    pub client_id: String,
}

/// User attributes in Cognito's form: every value a string (`"true"` for a boolean).
pub type Attributes = BTreeMap<String, String>;

/// An account's attributes as Cognito names them: `sub` (the account id),
/// `preferred_username`, `email` and `email_verified` (only a verified address is the
/// account's), and `cognito:user_status` (`CONFIRMED`, or `DISABLED`).
pub fn user_attributes(user: &crate::identity::users::User) -> Attributes {
    let mut attributes = Attributes::from([
        ("sub".to_owned(), user.id.as_str().to_owned()),
        (
            "preferred_username".to_owned(),
            user.username.as_str().to_owned(),
        ),
        (
            "cognito:user_status".to_owned(),
            if user.disabled {
                "DISABLED"
            } else {
                "CONFIRMED"
            }
            .to_owned(),
        ),
    ]);
    if let Some(email) = &user.email {
        attributes.insert("email".to_owned(), email.as_str().to_owned());
        attributes.insert("email_verified".to_owned(), "true".to_owned());
    }
    attributes
}

/// `response` out of a function's answer (the whole event, or only `{"response": ...}`).
pub fn read_response<S: DeserializeOwned>(answer: &[u8]) -> Result<S, String> {
    #[derive(Deserialize)]
    struct Answer<S> {
        response: Option<S>,
    }
    let answer: Answer<S> = serde_json::from_slice(answer)
        .map_err(|error| format!("the answer is not the trigger's event: {error}"))?;
    answer
        .response
        .ok_or_else(|| "the answer has no response".to_owned())
}

/// A JSON `null`, absent value or the value itself.
fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Pre token generation, version 2: the request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenGenerationRequest {
    /// The account's attributes: `sub`, `email`, `email_verified`, `preferred_username`,
    /// `cognito:user_status`.
    pub user_attributes: Attributes,
    /// The account's roles as Cognito's groups (`groupsToOverride`).
    pub group_configuration: GroupConfiguration,
    /// The scopes the access token is about to carry.
    pub scopes: Vec<String>,
    /// Always empty: no flow here takes client metadata.
    pub client_metadata: BTreeMap<String, String>,
}

/// `groupConfiguration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfiguration {
    /// The groups (here: roles).
    #[serde(default, deserialize_with = "nullable")]
    pub groups_to_override: Vec<String>,
    /// Not used here: always empty.
    #[serde(default, deserialize_with = "nullable")]
    pub iam_roles_to_override: Vec<String>,
    /// Not used here: always null.
    #[serde(default)]
    pub preferred_role: Option<String>,
}

/// Pre token generation, version 2: the response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreTokenGenerationResponse {
    /// What to change; `null` changes nothing.
    #[serde(default)]
    pub claims_and_scope_override_details: Option<ClaimsAndScopeOverrideDetails>,
}

/// `claimsAndScopeOverrideDetails`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimsAndScopeOverrideDetails {
    /// Changes to the id_token.
    #[serde(default)]
    pub id_token_generation: Option<TokenGeneration>,
    /// Changes to the access token (claims and scopes).
    #[serde(default)]
    pub access_token_generation: Option<TokenGeneration>,
    /// Not supported: roles change only through the admin API (ignored, logged).
    #[serde(default)]
    pub group_override_details: Option<serde_json::Value>,
}

/// `idTokenGeneration` or `accessTokenGeneration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenGeneration {
    /// Claims to add or replace: any JSON value.
    #[serde(default, deserialize_with = "nullable")]
    pub claims_to_add_or_override: BTreeMap<String, serde_json::Value>,
    /// Claims to leave out.
    #[serde(default, deserialize_with = "nullable")]
    pub claims_to_suppress: Vec<String>,
    /// Scopes to add (access token only).
    #[serde(default, deserialize_with = "nullable")]
    pub scopes_to_add: Vec<String>,
    /// Scopes to remove (access token only).
    #[serde(default, deserialize_with = "nullable")]
    pub scopes_to_suppress: Vec<String>,
}

/// Pre sign-up: the request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreSignUpRequest {
    /// What the new account will have: `email` (and `email_verified` for an address another
    /// provider asserted), `preferred_username`, `name` from another provider.
    pub user_attributes: Attributes,
    /// Always empty: no flow here takes validation data.
    pub validation_data: BTreeMap<String, String>,
    /// Always empty: no flow here takes client metadata.
    pub client_metadata: BTreeMap<String, String>,
}

/// Pre sign-up: the response. Raising an error refuses the sign-up, its message shown to the
/// user.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreSignUpResponse {
    /// Ignored: an account here needs no confirmation.
    #[serde(default, deserialize_with = "nullable")]
    pub auto_confirm_user: bool,
    /// The address given at sign-up is the account's at once, without a code.
    #[serde(default, deserialize_with = "nullable")]
    pub auto_verify_email: bool,
    /// Ignored: accounts here have no phone number.
    #[serde(default, deserialize_with = "nullable")]
    pub auto_verify_phone: bool,
}

/// Custom message: the request.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMessageRequest {
    /// The account's attributes, with `email` the address the message goes to.
    pub user_attributes: Attributes,
    /// Where the message's code goes: always `{####}`, as Cognito sends it (a notice has no
    /// code, and the parameter is replaced by nothing).
    pub code_parameter: String,
    /// Where the link to the frontend's page goes: `{##link##}` (when `FrontendUrl` is set).
    pub link_parameter: Option<String>,
    /// Always null (Cognito sets it only for an administrator's invitation).
    pub username_parameter: Option<String>,
    /// This service's extension for `CustomMessage_Notice`: what changed on the account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Always empty: no flow here takes client metadata.
    pub client_metadata: BTreeMap<String, String>,
}

/// Custom message: the response. Whatever is null keeps this service's own text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomMessageResponse {
    /// Ignored: this service sends no SMS.
    #[serde(default)]
    pub sms_message: Option<String>,
    /// The body (HTML); must hold the code parameter when the message carries a code.
    #[serde(default)]
    pub email_message: Option<String>,
    /// The subject.
    #[serde(default)]
    pub email_subject: Option<String>,
}

/// User migration: the request.
#[derive(Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMigrationRequest {
    /// The password as typed (only for `UserMigration_Authentication`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Always empty: no flow here takes validation data.
    pub validation_data: BTreeMap<String, String>,
    /// Always empty: no flow here takes client metadata.
    pub client_metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for UserMigrationRequest {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserMigrationRequest")
            .finish_non_exhaustive()
    }
}

/// User migration: the response. Raising an error refuses the user (unknown there, or a
/// wrong password).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMigrationResponse {
    /// The account's attributes: `email` (taken when `email_verified` is `"true"`).
    #[serde(default, deserialize_with = "nullable")]
    pub user_attributes: BTreeMap<String, serde_json::Value>,
    /// `CONFIRMED` (the password signs in), or `RESET_REQUIRED` (the account is created
    /// without a password: the user resets it).
    #[serde(default)]
    pub final_user_status: Option<String>,
    /// Not used: this service sends no welcome message.
    #[serde(default)]
    pub message_action: Option<String>,
    /// Not used (null in the event, as Cognito sends it).
    #[serde(default)]
    pub desired_delivery_mediums: Option<Vec<String>>,
    /// Not used (null in the event, as Cognito sends it).
    #[serde(default)]
    pub force_alias_creation: Option<bool>,
    /// Not used (null in the event, as Cognito sends it).
    #[serde(default, rename = "enableSMSMFA")]
    pub enable_sms_mfa: Option<bool>,
}

impl UserMigrationResponse {
    /// The address the old system verified, if it says so (`email_verified` `"true"` or
    /// `true`).
    pub fn verified_email(&self) -> Option<&str> {
        let verified = match self.user_attributes.get("email_verified") {
            Some(serde_json::Value::String(text)) => text == "true",
            Some(serde_json::Value::Bool(flag)) => *flag,
            _ => false,
        };
        self.user_attributes
            .get("email")
            .and_then(serde_json::Value::as_str)
            .filter(|_| verified)
    }

    /// Whether the password the user typed is to become the account's.
    pub fn keeps_the_password(&self) -> bool {
        self.final_user_status.as_deref() != Some("RESET_REQUIRED")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_or_null_answer_reads_as_empty() {
        let answer = br#"{"version":"2","response":{"claimsAndScopeOverrideDetails":{
            "accessTokenGeneration":{"claimsToAddOrOverride":{"tier":"gold"},"claimsToSuppress":null},
            "idTokenGeneration":null}}}"#;
        let response: PreTokenGenerationResponse = read_response(answer).unwrap();
        let details = response.claims_and_scope_override_details.unwrap();
        let access = details.access_token_generation.unwrap();
        assert_eq!(access.claims_to_add_or_override["tier"], "gold");
        assert!(access.claims_to_suppress.is_empty() && access.scopes_to_add.is_empty());
        assert!(details.id_token_generation.is_none());
        let nothing: PreTokenGenerationResponse =
            read_response(br#"{"response":{"claimsAndScopeOverrideDetails":null}}"#).unwrap();
        assert!(nothing.claims_and_scope_override_details.is_none());
    }

    #[test]
    fn an_answer_without_a_response_is_refused() {
        assert!(read_response::<PreTokenGenerationResponse>(b"{}").is_err());
        assert!(read_response::<PreTokenGenerationResponse>(b"null").is_err());
        assert!(read_response::<PreTokenGenerationResponse>(b"not json").is_err());
    }
}
