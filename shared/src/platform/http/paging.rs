//! The query of a listing route: how many items (`limit`) and where the previous page ended
//! (a cursor parameter holding that page's `next`).

use super::ApiError;
use lambda_http::{Request, RequestExt as _};

/// The page a listing route was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery<C> {
    /// How many items at most.
    pub limit: u32,
    /// Where the previous page ended; `None` for the first page.
    pub cursor: Option<C>,
}

/// Reads `limit` (1 to `max`, `default` when absent) and the cursor parameter named
/// `cursor_parameter`, decoded by `decode`. Either one unusable is `400 invalid_request`
/// naming it.
pub fn page_query<C>(
    request: &Request,
    default: u32,
    max: u32,
    cursor_parameter: &'static str,
    decode: impl FnOnce(&str) -> Option<C>,
) -> Result<PageQuery<C>, ApiError> {
    let limit = match query_parameter(request, "limit") {
        None => default,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| ApiError::InvalidField {
                field: "limit",
                message: format!("limit must be a whole number from 1 to {max}"),
            })?,
    };
    let cursor = match query_parameter(request, cursor_parameter) {
        None => None,
        Some(text) => Some(decode(text).ok_or_else(|| ApiError::InvalidField {
            field: cursor_parameter,
            message: format!("{cursor_parameter} must be the next value of a previous page"),
        })?),
    };
    Ok(PageQuery { limit, cursor })
}

/// The first value of the query parameter `name`.
pub fn query_parameter<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|query| query.first(name))
}
