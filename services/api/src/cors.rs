//! Which web pages may read the API from a browser (CORS). Browser wallets call the API
//! from their own origin; without these headers the browser hides the answers from them.
//!
//! The default is any origin (`*`), as the reference node does: every route is a GET of
//! public chain data and the API uses no cookies or credentials, so a page reading it
//! learns nothing a `curl` could not. An operator who wants the API for their own front end
//! only lists its origins; `none` sends no CORS headers at all.
//!
//! Browsers may send any request header (`X-Request-Id` among them) and may read the
//! answer's `X-Request-Id`, which a page needs to quote the request to the operator.

use axum::http::{HeaderValue, Method};
use std::str::FromStr;
use std::time::Duration;
use thiserror::Error;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(3600);

/// `--cors-origins`: `*`, `none`, or a comma-separated list of origins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    /// Any page may read the API.
    #[default]
    Any,
    /// Only these origins (`scheme://host[:port]`).
    Only(Vec<String>),
    /// No CORS headers: browsers keep cross-origin pages from reading answers.
    None,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum CorsOriginsError {
    #[error("`{0}` is not an origin: give scheme://host[:port] (e.g. https://wallet.example), `*` or `none`")]
    NotAnOrigin(String),
    #[error("`*` already allows every origin; list origins or give `*` alone")]
    AnyInAList,
}

impl FromStr for CorsOrigins {
    type Err = CorsOriginsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "*" => return Ok(Self::Any),
            "" | "none" => return Ok(Self::None),
            _ => {}
        }
        let mut origins = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                return Err(CorsOriginsError::AnyInAList);
            }
            // Browsers send the origin without a path; a trailing slash would never match.
            let origin = item.trim_end_matches('/');
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .ok_or_else(|| CorsOriginsError::NotAnOrigin(item.to_string()))?;
            let valid_host = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !valid_host {
                return Err(CorsOriginsError::NotAnOrigin(item.to_string()));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self::Only(origins))
    }
}

impl CorsOrigins {
    /// The layer that answers preflights and adds the headers; `None` adds nothing.
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        let allow = match self {
            Self::Any => AllowOrigin::any(),
            Self::Only(origins) => AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
            Self::None => return None,
        };
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::HEAD])
                .allow_headers(Any)
                .expose_headers([crate::request_id::HEADER])
                .max_age(PREFLIGHT_MAX_AGE),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_none_and_lists() {
        assert_eq!("*".parse(), Ok(CorsOrigins::Any));
        assert_eq!("none".parse(), Ok(CorsOrigins::None));
        assert_eq!(
            "https://wallet.example/, http://localhost:8080".parse(),
            Ok(CorsOrigins::Only(vec![
                "https://wallet.example".into(),
                "http://localhost:8080".into()
            ]))
        );
    }

    #[test]
    fn refuses_what_is_not_an_origin() {
        for bad in [
            "wallet.example",
            "ftp://x",
            "https://a.example/path",
            "https://",
            "https://a b",
        ] {
            assert!(
                matches!(bad.parse::<CorsOrigins>(), Err(CorsOriginsError::NotAnOrigin(_))),
                "{bad}"
            );
        }
        assert_eq!(
            "https://a.example,*".parse::<CorsOrigins>(),
            Err(CorsOriginsError::AnyInAList)
        );
    }
}
