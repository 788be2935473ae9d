//! The forgot-password pages: a reset code sent to the account's verified address, then the
//! code and a new password, checked exactly as `POST /password-reset` and
//! `POST /password-reset/confirm` check them ([`recovery::reset`]): the same single answer
//! whatever the account, the same limits, the same password policy, every session ended.
//! The user then signs in with the new password (and the second factor, if on).

use crate::flow::{Context, checked, form_request, links, sign_in_page_with, unavailable};
use crate::pages::{self, FieldError};
use crate::params::Params;
use crate::request::AuthorizationRequest;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use recovery::reset::Named;
use shared::platform::http::ApiError;
use shared::stores::Stores;

/// `GET /login/password-reset`: the page that asks for the account, for the authorization
/// request in the query.
pub(crate) async fn forgot_password<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let params = match Params::of_query(context.request()) {
        Ok(params) => params,
        Err(error) => {
            return context.error_page(
                StatusCode::BAD_REQUEST,
                &format!("The request is malformed: {error}."),
            );
        }
    };
    match checked(context, &params).await {
        Ok(request) => forgot_page(context, &request, StatusCode::OK, None, ""),
        Err(response) => response,
    }
}

/// `POST /login/password-reset`: sends the code if the account has a verified address, and
/// answers the code page whatever the account.
pub(crate) async fn request_code<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let began = tokio::time::Instant::now();
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let account = params.get("account").unwrap_or_default().trim();
    if account.is_empty() {
        return forgot_page(
            context,
            &request,
            StatusCode::BAD_REQUEST,
            Some("Enter your username or email address."),
            "",
        );
    }
    let name = if account.contains('@') {
        Named::Email(account.to_owned())
    } else {
        Named::Username(account.to_owned())
    };
    let sent =
        recovery::reset::request_for(&context.state().recovery, &name, context.request(), began)
            .await;
    match sent {
        Ok(()) => reset_page(
            context,
            &request,
            StatusCode::OK,
            Some("If the account has a verified email address, a reset code is on its way to it."),
            None,
        ),
        Err(ApiError::ServiceUnavailable) => unavailable(context, "reset request"),
        Err(error) => {
            let message = error.to_string();
            let response = forgot_page(context, &request, error.status(), Some(&message), account);
            with_retry_after(response, &error)
        }
    }
}

/// `POST /login/password-reset/confirm`: the code and the new password; then the sign-in
/// page, to sign in with it.
pub(crate) async fn confirm<S: Stores>(context: &Context<'_, S>) -> Response<Body> {
    let (params, request) = match form_request(context).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let code = params.get("code").unwrap_or_default().trim();
    let new_password = params.get("new_password").unwrap_or_default();
    let confirmed = recovery::reset::confirm_with(
        &context.state().recovery,
        context.request(),
        code,
        new_password,
    )
    .await;
    match confirmed {
        Ok(()) => {
            let message = pages::Message {
                error: None,
                notice: Some(
                    "Your password is changed and every device is signed out. Sign in with the new password.",
                ),
            };
            sign_in_page_with(context, &request, StatusCode::OK, message, "", None)
        }
        Err(ApiError::ServiceUnavailable) => unavailable(context, "reset confirmation"),
        Err(error) => {
            let field = match &error {
                ApiError::InvalidField { field, .. } => Some(*field),
                ApiError::InvalidCode => Some("code"),
                _ => None,
            };
            let message = error.to_string();
            let shown = FieldError {
                field,
                message: &message,
            };
            let response = reset_page(context, &request, error.status(), None, Some(&shown));
            with_retry_after(response, &error)
        }
    }
}

fn forgot_page<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    error: Option<&str>,
    account: &str,
) -> Response<Body> {
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::forgot_password(
        &context.frame(),
        error,
        &request.carried,
        &csrf_token,
        account,
        &links(context, request),
    );
    with_csrf(pages::html(status, page), set_csrf)
}

fn reset_page<S: Stores>(
    context: &Context<'_, S>,
    request: &AuthorizationRequest,
    status: StatusCode,
    notice: Option<&str>,
    error: Option<&FieldError>,
) -> Response<Body> {
    let (csrf_token, set_csrf) = context.csrf();
    let page = pages::reset_password(
        &context.frame(),
        notice,
        error,
        &request.carried,
        &csrf_token,
        &links(context, request),
    );
    with_csrf(pages::html(status, page), set_csrf)
}

/// Adds `Retry-After` to the page of a rate-limited request.
fn with_retry_after(mut response: Response<Body>, error: &ApiError) -> Response<Body> {
    if let ApiError::RateLimited {
        retry_after_seconds,
    } = error
    {
        let value = HeaderValue::from(*retry_after_seconds);
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn with_csrf(response: Response<Body>, set_csrf: Option<String>) -> Response<Body> {
    match set_csrf {
        Some(cookie) => pages::with_cookie(response, &cookie),
        None => response,
    }
}
