//! Accounts as the admin API shows them, and its list cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared::users::User;

/// `{"id","username","created_at","disabled","roles","email"}`: never a hash or a secret.
pub fn account(user: &User) -> Value {
    json!({
        "id": user.id.as_str(),
        "username": user.username.as_str(),
        "created_at": humantime::format_rfc3339_millis(user.created_at).to_string(),
        "disabled": user.disabled,
        "roles": user.roles,
        "email": shared::email_flows::email_view(user),
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
