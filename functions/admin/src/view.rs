//! Accounts as the admin API shows them, and its list cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::identity::users::User;

/// `{"id","username","created_at","disabled","roles","email"}`: never a hash or a secret.
pub fn account(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "username": user.username.as_str(),
        "created_at": humantime::format_rfc3339_millis(user.created_at).to_string(),
        "disabled": user.disabled,
        "roles": user.roles,
        "email": shared::mail::flows::email_view(user),
    })
}

/// The opaque cursor after `user`: its canonical name, base64url.
pub fn cursor_after(user: &User) -> String {
    URL_SAFE_NO_PAD.encode(user.username.canonical())
}

/// The canonical name a cursor stands for; `None` for anything else.
pub fn decode_cursor(text: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|name| !name.is_empty())
}

/// `{"client_id","name","scopes","created_at","created_by","secrets":[{"id","created_at"}]}`:
/// never a secret or its hash.
pub fn client(client: &shared::access::clients::MachineClient) -> Value {
    let time = |at| humantime::format_rfc3339_millis(at).to_string();
    json!({
        "client_id": client.id.as_str(),
        "name": client.name,
        "scopes": client.scopes.iter().collect::<Vec<_>>(),
        "created_at": time(client.created_at),
        "created_by": client.created_by.as_str(),
        "secrets": client.secrets.iter().map(|secret| json!({
            "id": secret.id,
            "created_at": time(secret.created_at),
        })).collect::<Vec<_>>(),
    })
}

/// A relying party as administrators see it: everything but its secrets' hashes.
pub fn relying_party(party: &shared::access::relying_parties::RelyingParty) -> Value {
    let time = |at| humantime::format_rfc3339_millis(at).to_string();
    let uris = |uris: &[shared::access::redirect_uris::RedirectUri]| {
        uris.iter()
            .map(|uri| uri.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    json!({
        "client_id": party.id.as_str(),
        "name": party.name,
        "type": if party.is_confidential() { "confidential" } else { "public" },
        "redirect_uris": uris(&party.redirect_uris),
        "post_logout_redirect_uris": uris(&party.post_logout_redirect_uris),
        "scopes": party.scopes.iter().collect::<Vec<_>>(),
        "first_party": party.first_party,
        "id_token_signed_response_alg": party.id_token_algorithm.name(),
        "token_endpoint_auth_method": if party.is_confidential() { "client_secret_basic" } else { "none" },
        "created_at": time(party.created_at),
        "created_by": party.created_by.as_str(),
        "secrets": party.secrets().iter().map(|secret| json!({
            "id": secret.id,
            "created_at": time(secret.created_at),
        })).collect::<Vec<_>>(),
    })
}
