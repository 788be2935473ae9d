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
