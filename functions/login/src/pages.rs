//! The hosted pages, rendered with askama (every value escaped), and the headers every
//! answer of this function carries: no caching, no framing, and a Content-Security-Policy
//! that allows the page's own stylesheet and script (passkeys) and nothing else to run or load.

use crate::brand::Brand;
use askama::Template;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};

/// The pages' Content-Security-Policy: the stylesheet and the passkey script from this API
/// (no inline script or style), requests only to it, images from it or the operator's https
/// logo, forms posting only here, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
    script-src 'self'; connect-src 'self'; img-src 'self' https:; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// What every page shows.
pub struct Frame<'a> {
    /// The branding.
    pub brand: &'a Brand,
    /// The path the API is served under (`/prod` on an API Gateway stage URL, empty on a
    /// custom domain), for the form actions and the stylesheet.
    pub base_path: &'a str,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    client_name: &'a str,
    error: Option<&'a str>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
    username: &'a str,
    notice: Option<&'a str>,
    sign_up_href: &'a str,
    forgot_password_href: &'a str,
    providers: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUp<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    client_name: &'a str,
    error: Option<&'a FieldError<'a>>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
    username: &'a str,
    sign_in_href: &'a str,
    providers: &'a [(String, String)],
}

/// A refusal shown on a form, tied to the field it is about (if any).
pub struct FieldError<'a> {
    /// The field's name (`username`, `password`), or none for the whole form.
    pub field: Option<&'a str>,
    /// What to show.
    pub message: &'a str,
}

impl FieldError<'_> {
    /// Whether the error is about `name` (or about the whole form).
    pub fn about(&self, name: &str) -> bool {
        self.field.is_none_or(|field| field == name)
    }
}

/// The links between the pages of one authorization request.
pub struct Links {
    /// To the sign-up page.
    pub sign_up: String,
    /// Back to the sign-in page.
    pub sign_in: String,
    /// To the forgot-password page.
    pub forgot_password: String,
    /// To each upstream provider: its name and the link that starts a sign-in there.
    pub providers: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPassword<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    error: Option<&'a str>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
    name: &'a str,
    sign_in_href: &'a str,
}

/// The page that asks for a reset code: the username or email address, `error` above it.
pub fn forgot_password(
    frame: &Frame,
    error: Option<&str>,
    carried: &[(&'static str, String)],
    csrf_token: &str,
    name: &str,
    links: &Links,
) -> String {
    ForgotPassword {
        brand: frame.brand,
        base_path: frame.base_path,
        error,
        carried,
        csrf_token,
        name,
        sign_in_href: &links.sign_in,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPassword<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    notice: Option<&'a str>,
    error: Option<&'a FieldError<'a>>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
    sign_in_href: &'a str,
}

/// The page that takes the emailed code and a new password.
pub fn reset_password(
    frame: &Frame,
    notice: Option<&str>,
    error: Option<&FieldError>,
    carried: &[(&'static str, String)],
    csrf_token: &str,
    links: &Links,
) -> String {
    ResetPassword {
        brand: frame.brand,
        base_path: frame.base_path,
        notice,
        error,
        carried,
        csrf_token,
        sign_in_href: &links.sign_in,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

/// The sign-up form for `client_name`, with `error` above it.
pub fn sign_up(
    frame: &Frame,
    client_name: &str,
    error: Option<&FieldError>,
    carried: &[(&'static str, String)],
    csrf_token: &str,
    username: &str,
    links: &Links,
) -> String {
    SignUp {
        brand: frame.brand,
        base_path: frame.base_path,
        client_name,
        error,
        carried,
        csrf_token,
        username,
        sign_in_href: &links.sign_in,
        providers: &links.providers,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactor<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    error: Option<&'a str>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
    mfa_token: &'a str,
}

#[derive(Template)]
#[template(path = "consent.html")]
struct Consent<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    client_name: &'a str,
    username: &'a str,
    scopes: &'a [(String, String)],
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
}

/// The consent page: what `client_name` asks of `username`'s account, scope by scope.
pub fn consent(
    frame: &Frame,
    client_name: &str,
    username: &str,
    scopes: &[(String, String)],
    carried: &[(&'static str, String)],
    csrf_token: &str,
) -> String {
    Consent {
        brand: frame.brand,
        base_path: frame.base_path,
        client_name,
        username,
        scopes,
        carried,
        csrf_token,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    provider: &'a str,
    identity: &'a str,
    username: &'a str,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
}

/// The page that asks `username` to confirm linking the `provider` account `identity` (its
/// address, or its subject there) before it signs in to theirs.
pub fn link(
    frame: &Frame,
    provider: &str,
    identity: &str,
    username: &str,
    carried: &[(&'static str, String)],
    csrf_token: &str,
) -> String {
    LinkPage {
        brand: frame.brand,
        base_path: frame.base_path,
        provider,
        identity,
        username,
        carried,
        csrf_token,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "logout.html")]
struct Logout<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    client_name: Option<&'a str>,
    carried: &'a [(&'static str, String)],
    csrf_token: &'a str,
}

/// The sign-out confirmation, asked for by `client_name` (if known).
pub fn logout(
    frame: &Frame,
    client_name: Option<&str>,
    carried: &[(&'static str, String)],
    csrf_token: &str,
) -> String {
    Logout {
        brand: frame.brand,
        base_path: frame.base_path,
        client_name,
        carried,
        csrf_token,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOut<'a> {
    brand: &'a Brand,
    base_path: &'a str,
}

/// The page after a sign-out with nowhere to return to.
pub fn signed_out(frame: &Frame) -> String {
    SignedOut {
        brand: frame.brand,
        base_path: frame.base_path,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    brand: &'a Brand,
    base_path: &'a str,
    message: &'a str,
}

/// What the sign-in page shows above its form: an error, or a notice.
#[derive(Debug, Clone, Copy, Default)]
pub struct Message<'a> {
    /// What went wrong.
    pub error: Option<&'a str>,
    /// What happened (a password changed).
    pub notice: Option<&'a str>,
}

/// The sign-in form for `client_name`, with `message` above it.
pub fn sign_in(
    frame: &Frame,
    client_name: &str,
    message: Message,
    carried: &[(&'static str, String)],
    csrf_token: &str,
    username: &str,
    links: &Links,
) -> String {
    SignIn {
        brand: frame.brand,
        base_path: frame.base_path,
        client_name,
        error: message.error,
        carried,
        csrf_token,
        username,
        notice: message.notice,
        sign_up_href: &links.sign_up,
        forgot_password_href: &links.forgot_password,
        providers: &links.providers,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

/// The second-factor form of the pending login `mfa_token`.
pub fn second_factor(
    frame: &Frame,
    error: Option<&str>,
    carried: &[(&'static str, String)],
    csrf_token: &str,
    mfa_token: &str,
) -> String {
    SecondFactor {
        brand: frame.brand,
        base_path: frame.base_path,
        error,
        carried,
        csrf_token,
        mfa_token,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

/// The error page: what went wrong, with no way onward but back.
pub fn error(frame: &Frame, message: &str) -> String {
    ErrorPage {
        brand: frame.brand,
        base_path: frame.base_path,
        message,
    }
    .render()
    .unwrap_or_else(|error| rendering_failed(&error))
}

/// A page that failed to render (a template bug): logged, and a plain line instead.
fn rendering_failed(error: &askama::Error) -> String {
    tracing::error!(%error, "a page failed to render");
    "<!doctype html><title>Error</title><p>Something went wrong. Go back and try again.</p>"
        .to_owned()
}

/// An HTML answer with the pages' headers.
pub fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(page));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    guarded(response)
}

/// A `302` to `location` with the pages' headers.
pub fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    guarded(response)
}

/// Adds the headers every answer of this function carries.
pub fn guarded(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Lets the page's form lead to `target` (the client's redirect URI): browsers apply
/// `form-action` to the redirect that answers a form, so its origin joins `'self'`.
pub fn allowing_redirect_to(mut response: Response<Body>, target: &str) -> Response<Body> {
    let Ok(url) = url::Url::parse(target) else {
        return response;
    };
    let origin = url.origin().ascii_serialization();
    let policy = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Narrows the policy's script and request sources from the whole API to the two URLs the
/// pages use under `issuer`: the passkey script and the passkey challenge route. An issuer
/// that cannot be written into the policy as one source leaves it as it was.
pub fn scoped_to(mut response: Response<Body>, issuer: &str) -> Response<Body> {
    let issuer = issuer.trim_end_matches('/');
    let writable = url::Url::parse(issuer).is_ok()
        && !issuer.contains(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '\''));
    let Some(current) = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|value| value.to_str().ok())
    else {
        return response;
    };
    if !writable {
        return response;
    }
    let policy = current
        .replace(
            "script-src 'self'",
            &format!("script-src {issuer}/login/passkeys.js"),
        )
        .replace(
            "connect-src 'self'",
            &format!("connect-src {issuer}/passkeys/authentication-options"),
        );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// Adds a `Set-Cookie`.
pub fn with_cookie(mut response: Response<Body>, cookie: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
