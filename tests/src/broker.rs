//! The Kafka-compatible broker of the distributed-mode tests: tansu (installed by
//! `infra/broker.sh install`, which `make test` runs), started on a free port with durable
//! sqlite storage in the test's work directory.

use crate::{free_port, repo_root, Proc, Work};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The broker binary `infra/broker.sh install` put in its cache.
pub fn tansu() -> PathBuf {
    let out = Command::new(repo_root().join("infra/broker.sh"))
        .arg("path")
        .output()
        .expect("run infra/broker.sh path");
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        p.exists(),
        "the Kafka-compatible broker is not installed at {}: run `infra/broker.sh install` (make test does)",
        p.display()
    );
    p
}

/// tansu with its data in `<work>/broker` and its log in `<work>/broker.log` (printed with
/// the roles' logs when the test fails).
pub struct Broker {
    proc: Option<Proc>,
    dir: PathBuf,
    log: File,
    port: u16,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .field("running", &self.proc.is_some())
            .finish()
    }
}

impl Broker {
    pub fn start(work: &Work) -> Self {
        let dir = work.dir("broker");
        std::fs::create_dir_all(&dir).expect("broker dir");
        let mut b = Broker {
            proc: None,
            dir,
            log: work.log_file("broker"),
            port: free_port(),
        };
        b.spawn();
        b
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker (again, after [`Broker::kill`]) on the same port and data, and
    /// waits until it listens.
    pub fn spawn(&mut self) {
        let url = format!("tcp://{}", self.addr());
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            // tansu resolves the sqlite path relative to its working directory.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdout(Stdio::null())
            .stderr(self.log.try_clone().expect("broker log"))
            .spawn()
            .expect("spawn tansu");
        self.proc = Some(Proc::new(child));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(self.addr()).is_err() {
            assert!(Instant::now() < deadline, "the broker did not listen within 20 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }
}
