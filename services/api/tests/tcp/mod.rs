//! The API served over real TCP on a loopback port, for the tests that need what only a
//! real connection has (client addresses for rate limits, headers as a client sees them).

use opentoken_api::{router_with, ApiLimits, ApiState};
use std::net::SocketAddr;

/// Serves `state` with `limits` on a free loopback port until the test's runtime ends;
/// returns the base URL (`http://127.0.0.1:port`).
pub(crate) async fn listen(state: ApiState, limits: &ApiLimits) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router_with(state, limits).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}
