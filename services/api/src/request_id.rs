//! Every request's id (`X-Request-Id`), so an operator can find the log lines of the request
//! a client complains about, and a client (or the proxy in front of the node) can name it.
//!
//! A client's own id is kept when it is a short safe token (1 to [`MAX_LEN`] ASCII letters,
//! digits, `-` and `_`: a UUID in its usual form is one), so a proxy's id follows the request
//! through the node. Anything else is replaced, never echoed: the id goes back in a response
//! header and into the node's log, where control characters, quotes or other bytes could
//! forge log lines or headers. A missing or replaced id is a random (v4) UUID: a request is
//! no consensus data, and two requests must not share an id.
//!
//! The id is set on every answer, refusals and errors included (the layer is the outermost
//! one, see `crate::bounded`), and every log line written while the request is served carries
//! it (the `request` span, which `crate::reply::blocking` carries onto the blocking pool).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use thiserror::Error;
use tracing::Instrument;
use uuid::Uuid;

/// The header, in both directions.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client id kept.
pub(crate) const MAX_LEN: usize = 64;

/// A request's id: a client's safe token or a fresh UUID, always a valid header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestId(HeaderValue);

/// Why a client's id was not kept (logged at debug level; the client gets a fresh id).
#[derive(Debug, Clone, Copy, Error, PartialEq, Eq)]
pub(crate) enum RequestIdError {
    #[error("it is empty")]
    Empty,
    #[error("it has {0} bytes, more than {MAX_LEN}")]
    TooLong(usize),
    #[error("it holds a byte other than ASCII letters, digits, `-` and `_`")]
    Unsafe,
}

impl RequestId {
    /// A client's id, if it is a safe token.
    pub(crate) fn parse(value: &HeaderValue) -> Result<Self, RequestIdError> {
        let bytes = value.as_bytes();
        if bytes.is_empty() {
            return Err(RequestIdError::Empty);
        }
        if bytes.len() > MAX_LEN {
            return Err(RequestIdError::TooLong(bytes.len()));
        }
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(RequestIdError::Unsafe);
        }
        Ok(Self(value.clone()))
    }

    /// A random (v4) UUID.
    pub(crate) fn fresh() -> Self {
        let text = Uuid::new_v4().hyphenated().to_string();
        // A hyphenated UUID is ASCII hex and `-`: always a valid header value.
        Self(HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid-uuid")))
    }

    /// The client's id when it is safe, else a fresh one (saying why at debug level).
    fn of(request: &Request) -> Self {
        match request.headers().get(&HEADER).map(Self::parse) {
            Some(Ok(id)) => id,
            Some(Err(why)) => {
                let id = Self::fresh();
                tracing::debug!(request_id = %id, "the client's X-Request-Id was replaced: {why}");
                id
            }
            None => Self::fresh(),
        }
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only safe ASCII is ever held (see `parse` and `fresh`).
        f.write_str(self.0.to_str().unwrap_or_default())
    }
}

/// The middleware: picks the id, serves the request inside a `request` span carrying it,
/// and sets it on the answer. The span is at ERROR level so that it is enabled whenever any
/// line of the request is logged, whatever the `--log` filter; spans themselves print
/// nothing.
pub(crate) async fn tag(request: Request, next: Next) -> Response {
    let id = RequestId::of(&request);
    let span = tracing::error_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span).await;
    response.headers_mut().insert(HEADER, id.0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{blocking, unavailable};
    use axum::routing::get;
    use axum::Router;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    fn parse(text: &[u8]) -> Result<RequestId, RequestIdError> {
        RequestId::parse(&HeaderValue::from_bytes(text).expect("a header value"))
    }

    #[test]
    fn safe_tokens_and_uuids_are_kept() {
        for ok in [
            &b"3f2b8c1e-0d4a-4e0b-9d3c-6a1f2e3d4c5b"[..],
            b"3F2B8C1E0D4A4E0B9D3C6A1F2E3D4C5B",
            b"req_42-a",
            b"a",
            &[b'x'; MAX_LEN],
        ] {
            assert_eq!(parse(ok).map(|id| id.to_string().into_bytes()), Ok(ok.to_vec()));
        }
    }

    #[test]
    fn anything_else_is_refused() {
        assert_eq!(parse(b""), Err(RequestIdError::Empty));
        assert_eq!(parse(&[b'x'; MAX_LEN + 1]), Err(RequestIdError::TooLong(MAX_LEN + 1)));
        for bad in [
            &b"a b"[..],
            b"a\"b",
            b"a'b",
            b"a\tb",
            b"a;b",
            b"{3f2b8c1e-0d4a-4e0b-9d3c-6a1f2e3d4c5b}",
            b"urn:uuid:3f2b8c1e-0d4a-4e0b-9d3c-6a1f2e3d4c5b",
            "caf\u{e9}".as_bytes(),
            b"\xff\xfe",
        ] {
            assert_eq!(parse(bad), Err(RequestIdError::Unsafe), "{bad:?}");
        }
    }

    /// What a subscriber printed: the node's log as an operator reads it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A log line written on the blocking pool while a request is served (here: a failed
    /// store read) names the request's id, as the node's own `fmt` subscriber prints it. The
    /// subscriber is the process-wide one (the blocking pool's threads log there), so only
    /// this test sets it.
    #[tokio::test]
    async fn a_log_line_of_a_request_names_its_id() {
        let log = Captured::default();
        let writer = log.clone();
        tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_ansi(false)
                .with_max_level(tracing::Level::WARN)
                .with_writer(move || writer.clone())
                .finish(),
        )
        .expect("no other test sets a subscriber");
        let app = Router::new()
            .route(
                "/fails",
                get(|| blocking(|| unavailable("reading the test state", "backend down"))),
            )
            .layer(axum::middleware::from_fn(tag));
        let request = |id: &'static str| {
            axum::http::Request::get("/fails")
                .header(HEADER, id)
                .body(axum::body::Body::empty())
                .expect("request")
        };
        for id in ["first-request", "second-request"] {
            let response = app.clone().oneshot(request(id)).await.expect("answer");
            assert_eq!(response.status(), axum::http::StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(
                response.headers().get(HEADER).map(HeaderValue::as_bytes),
                Some(id.as_bytes())
            );
        }
        let text = String::from_utf8(log.0.lock().expect("log").clone()).expect("UTF-8");
        for id in ["first-request", "second-request"] {
            let line = text
                .lines()
                .find(|l| l.contains(&format!("request_id={id}")))
                .unwrap_or_else(|| panic!("no line names {id}: {text}"));
            assert!(
                line.contains("reading the test state failed") && line.contains("backend down"),
                "{line}"
            );
            assert!(line.contains("method=GET") && line.contains("path=/fails"), "{line}");
        }
    }

    #[test]
    fn a_fresh_id_is_a_random_uuid() {
        let (a, b) = (RequestId::fresh(), RequestId::fresh());
        assert_ne!(a, b);
        let uuid = Uuid::parse_str(&a.to_string()).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 4);
        assert!(
            parse(a.to_string().as_bytes()).is_ok(),
            "a fresh id is itself a safe token"
        );
    }
}
