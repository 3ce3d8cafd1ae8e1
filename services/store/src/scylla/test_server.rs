//! An in-process CQL server for tests (feature `cql-test-server`).

/// An in-process CQL server (kassandra: a protocol-level test double of ScyllaDB, with the
/// gaps the README lists) on a thread of its own, started once per process; clients in
/// this process or child processes reach it over TCP.
pub fn cql_test_server() -> std::net::SocketAddr {
    static ADDR: std::sync::OnceLock<std::net::SocketAddr> = std::sync::OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => panic!("runtime for the CQL test server: {e}"),
            };
            rt.block_on(async move {
                let tester = kassandra_tester::KassandraTester::new(kassandra::KassandraSession::default());
                let _ = tester
                    .in_scope(|addr| {
                        let tx = tx.clone();
                        async move {
                            let _ = tx.send(addr);
                            std::future::pending::<Result<(), ()>>().await
                        }
                    })
                    .await;
            });
        });
        match rx.recv() {
            Ok(addr) => addr,
            Err(e) => panic!("the CQL test server did not start: {e}"),
        }
    })
}
