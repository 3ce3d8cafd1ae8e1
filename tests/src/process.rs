//! The `opentoken` binary as child processes.
//!
//! A test owns one [`Work`] directory. Every role it starts through [`Role`] keeps its data
//! in `<work>/<name>` and its stderr in `<work>/<name>.log`, and its log is registered with
//! the work. When anything fails (a role exits badly or hangs in [`Proc::wait_ok`], or any
//! assertion panics while the work is alive) the tail of every role's log is printed with
//! the failure, so a test that fails on CI explains itself.
//!
//! ```no_run
//! use opentoken_e2e::{Role, Work};
//! let work = Work::new();
//! let mut process = Role::new("process")
//!     .data(&work, "process-token")
//!     .kafka("127.0.0.1:9092")
//!     .until(600)
//!     .args(["--module", "token"])
//!     .spawn();
//! process.wait_ok("token processor", 300);
//! ```

use crate::paths::{bin, devnet_spec_path, repo_root};
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Lines of each log printed when a test fails.
const TAIL_LINES: usize = 40;

/// A test's working directory: the roles' data directories and logs.
/// `OPENTOKEN_KEEP_TEST_DIRS=1` keeps it after the test for diagnosis.
pub struct Work {
    dir: tempfile::TempDir,
    logs: Arc<LogBook>,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl Work {
    pub fn new() -> Self {
        let mut dir = tempfile::tempdir().expect("tmp");
        if std::env::var_os("OPENTOKEN_KEEP_TEST_DIRS").is_some() {
            eprintln!("keeping {}", dir.path().display());
            dir.disable_cleanup(true);
        }
        Work {
            dir,
            logs: Arc::default(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `<work>/<name>`: the data directory of the role called `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    /// `<work>/<name>.log`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.path().join(format!("{name}.log"))
    }

    /// Everything the process called `name` has logged so far.
    pub fn read_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log_path(name))
            .unwrap_or_else(|e| panic!("{}: {e}", self.log_path(name).display()))
    }

    /// Opens `<work>/<name>.log` for appending and registers it with the logs printed on
    /// failure; for processes that are not `opentoken` roles (the broker).
    pub fn log_file(&self, name: &str) -> File {
        self.logs.open(&self.log_path(name))
    }
}

impl Default for Work {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Work {
    /// A test that panics while its roles' logs still exist prints them.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.logs.print_tails();
        }
    }
}

/// The logs of the processes a test started, printed once when the test fails.
#[derive(Default)]
struct LogBook {
    files: Mutex<Vec<PathBuf>>,
    printed: AtomicBool,
}

impl LogBook {
    fn open(&self, path: &Path) -> File {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        if !files.iter().any(|f| f == path) {
            files.push(path.to_path_buf());
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn print_tails(&self) {
        if self.printed.swap(true, Ordering::SeqCst) {
            return;
        }
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        for path in files.iter() {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(TAIL_LINES).collect();
            eprintln!("==== {} (last lines)", path.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// One `opentoken` command line (a role, `replay`, ...) with the prelude every test role
/// shares: `--data-dir <work>/<name>`, `--chain` (the devnet unless [`Role::chain`]),
/// `OPENTOKEN_LOG=warn` (unless [`Role::log_level`]), and its stderr appended to
/// `<work>/<name>.log`.
#[must_use]
pub struct Role {
    subcommand: &'static str,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    chain: PathBuf,
    log_level: &'static str,
    place: Option<Place>,
}

/// Environment variables by name only: their values may be keys (`OPENTOKEN_HIVE_ACTIVE_KEY`).
impl std::fmt::Debug for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let envs: Vec<&OsString> = self.envs.iter().map(|(name, _)| name).collect();
        f.debug_struct("Role")
            .field("subcommand", &self.subcommand)
            .field("args", &self.args)
            .field("envs", &envs)
            .field("chain", &self.chain)
            .field("log_level", &self.log_level)
            .field("data", &self.place.as_ref().map(|p| &p.data))
            .finish_non_exhaustive()
    }
}

/// Where a role keeps its data and its log.
struct Place {
    work: PathBuf,
    logs: Arc<LogBook>,
    data: String,
    log: String,
}

impl Role {
    pub fn new(subcommand: &'static str) -> Self {
        Role {
            subcommand,
            args: Vec::new(),
            envs: Vec::new(),
            chain: devnet_spec_path(),
            log_level: "warn",
            place: None,
        }
    }

    /// Data in `<work>/<name>`, stderr in `<work>/<name>.log`. Every role needs this.
    pub fn data(mut self, work: &Work, name: &str) -> Self {
        self.place = Some(Place {
            work: work.path().to_path_buf(),
            logs: Arc::clone(&work.logs),
            data: name.to_string(),
            log: name.to_string(),
        });
        self
    }

    /// Logs to `<work>/<name>.log` instead: for a command run on another role's data
    /// directory (`replay` of a processor's store).
    pub fn log_as(mut self, name: &str) -> Self {
        self.place.as_mut().expect("Role::data comes before Role::log_as").log = name.to_string();
        self
    }

    /// The chain spec at `path` instead of the devnet's.
    pub fn chain(mut self, path: &Path) -> Self {
        self.chain = path.to_path_buf();
        self
    }

    /// Distributed mode: the log is the broker at `addr`.
    pub fn kafka(self, addr: &str) -> Self {
        // tansu loses records of topics created with retention configs (infra/kafka/README.md).
        let topics = repo_root().join("infra/kafka/topics.tansu.json");
        self.args(["--kafka-brokers", addr])
            .env("OPENTOKEN_KAFKA_TOPICS", topics)
    }

    /// `--until-block <block>`: the role exits once it has handled `block`.
    pub fn until(self, block: u64) -> Self {
        self.arg("--until-block").arg(block.to_string())
    }

    /// The tracing filter (`OPENTOKEN_LOG`); `warn` by default.
    pub fn log_level(mut self, filter: &'static str) -> Self {
        self.log_level = filter;
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.envs.push((key.into(), value.into()));
        self
    }

    /// Starts the role in the background.
    pub fn spawn(self) -> Proc {
        let (mut command, place) = self.command();
        let log = place.logs.open(&place.log_path());
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn opentoken {}: {e}", self.subcommand));
        Proc {
            child,
            logs: Some(Arc::clone(&place.logs)),
        }
    }

    /// Runs the command to its end and returns what it printed; its stderr is also
    /// appended to its log.
    pub fn output(self) -> Output {
        let (mut command, place) = self.command();
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("run opentoken {}: {e}", self.subcommand));
        let mut log = place.logs.open(&place.log_path());
        log.write_all(&out.stderr).expect("write log");
        out
    }

    fn command(&self) -> (Command, &Place) {
        let place = self
            .place
            .as_ref()
            .expect("a role needs Role::data(&work, name): its data directory and log");
        let mut c = Command::new(bin());
        c.arg(self.subcommand)
            .args(&self.args)
            .arg("--data-dir")
            .arg(place.work.join(&place.data))
            .arg("--chain")
            .arg(&self.chain)
            .env("OPENTOKEN_LOG", self.log_level)
            // An error names what failed in its first lines; a backtrace would push them out
            // of the log tail a failing test prints.
            .env("RUST_LIB_BACKTRACE", "0")
            .envs(self.envs.iter().map(|(k, v)| (k, v)));
        (c, place)
    }
}

impl Place {
    fn log_path(&self) -> PathBuf {
        self.work.join(format!("{}.log", self.log))
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// nothing running.
pub struct Proc {
    child: Child,
    /// The logs of the test's roles, printed when [`Proc::wait_ok`] fails.
    logs: Option<Arc<LogBook>>,
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proc")
            .field("pid", &self.child.id())
            .finish_non_exhaustive()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Proc {
    /// A process that is no role of a [`Work`] (the simulator, the broker).
    pub fn new(child: Child) -> Self {
        Proc { child, logs: None }
    }

    /// Waits for the process to exit successfully within `secs`; otherwise prints every
    /// role's log tail and panics naming `what`.
    pub fn wait_ok(&mut self, what: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                if !status.success() {
                    self.fail(format!("{what} exited with {status}"));
                }
                return;
            }
            if Instant::now() > deadline {
                self.fail(format!("{what} did not finish within {secs} s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn fail(&self, why: String) -> ! {
        if let Some(logs) = &self.logs {
            logs.print_tails();
        }
        panic!("{why}");
    }

    /// Waits up to `secs` for the process to exit, however it exits; `None` if it is still
    /// running then.
    pub fn wait_exit(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn exited(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_some()
    }

    /// The process id, for reading the process's own accounting (`/proc/<pid>/status`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `opentoken devnet` on a random port: the simulated Hive chain is a function of `seed`.
pub fn start_devnet(seed: u64, block_ms: u64, prefill: u64, lag: u64) -> (Proc, String) {
    start_devnet_with(
        &devnet_spec_path(),
        &[
            "--sim-seed",
            &seed.to_string(),
            "--sim-block-ms",
            &block_ms.to_string(),
            "--sim-prefill",
            &prefill.to_string(),
            "--sim-lag",
            &lag.to_string(),
            "--sim-ops",
            "0,8",
        ],
    )
}

/// `opentoken devnet` for the chain spec at `spec` with simulator flags `args`; returns
/// the process and the simulator's URL.
pub fn start_devnet_with(spec: &Path, args: &[&str]) -> (Proc, String) {
    use std::io::BufRead;
    let mut child = Command::new(bin())
        .args(["devnet", "--chain"])
        .arg(spec)
        .args(args)
        .args(["--sim-listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn devnet");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc::new(child);
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("devnet prints its URL");
    // Keep draining its stdout: a closed pipe would make its next line fail.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let url = line.rsplit(' ').next().expect("url").trim().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "unexpected devnet banner {line:?}"
    );
    (proc, url)
}
