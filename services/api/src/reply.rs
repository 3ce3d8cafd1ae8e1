//! The answers every route shares: errors that say what failed (keeping a backend's own
//! words, which can name a ScyllaDB host or a broker, in the log), refusals that say when
//! to come back, and running a handler's store reads on the blocking pool.

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::fmt::Display;

/// An error body that says what failed.
pub(crate) fn fail(code: StatusCode, what: impl Display) -> Response {
    (code, Json(json!({ "error": what.to_string() }))).into_response()
}

/// 400 naming `name` when it is not a valid Hive account name (nothing is read for it).
pub(crate) fn invalid_account(name: &str) -> Option<Response> {
    (!opentoken_core::account::is_valid_account_name(name)).then(|| {
        fail(
            StatusCode::BAD_REQUEST,
            format!("{name:?} is not a valid Hive account name"),
        )
    })
}

/// The store or the log did not answer. The public answer names what was being read; the
/// error itself goes to the log only.
pub(crate) fn unavailable(what: impl Display, error: impl Display) -> Response {
    tracing::warn!(error = %error, "API: {what} failed");
    fail(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("{what}: the node's store or log did not answer (details in the node's log); try again later"),
    )
}

/// A refusal that tells the client when to try again (`Retry-After`, in seconds).
pub(crate) fn refuse(code: StatusCode, retry_after_secs: u64, why: impl Display) -> Response {
    let mut response = fail(code, why);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    response
}

/// A JSON body encoded earlier (a cached snapshot).
pub(crate) fn json_bytes(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Runs a handler's store reads on the blocking pool, so a slow store or a large state never
/// holds one of the async workers the ingester and the consensus agent share in `run`. The
/// caller's span (the request's, with its id) goes along, so what the work logs names the
/// request.
pub(crate) async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    let span = tracing::Span::current();
    match tokio::task::spawn_blocking(move || span.in_scope(work)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "an API handler failed");
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the handler failed (details in the node's log)",
            )
        }
    }
}
