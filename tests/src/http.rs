//! One HTTP GET for every test that talks to a running role: the API (`serve`, `run`) and
//! the probe server of the other roles answer JSON.

use serde_json::Value;
use std::time::Duration;

/// How long one request may take: a role that hangs fails the poll, it does not stall it.
const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `url`: `(status, body)`, or `None` when nothing answers in time. A body that is
/// not JSON comes back as a JSON string, so a failing assertion can still show it.
pub fn http_get_json(url: &str) -> Option<(u16, Value)> {
    let resp = reqwest::blocking::Client::new().get(url).timeout(TIMEOUT).send().ok()?;
    let code = resp.status().as_u16();
    let text = resp.text().ok()?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some((code, body))
}
