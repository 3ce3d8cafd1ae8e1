//! `opentoken`: one binary, every role a subcommand.
//!
//! Layout: `cmd/` holds one file per subcommand (its arguments and its `execute`); the
//! files beside it are the plumbing the commands share, each with one job: `active_key`
//! (the Hive active key from its file or flag), `api_args` (the API's limits as flags),
//! `backends`
//! (chain spec, log, store, Hive client), `context` (what every role starts with),
//! `supervise` (signals, the HTTP servers, retries, the role tasks of one process),
//! `drive` (the processor's step loop), `consensus` (the consensus agent), `progress`,
//! `simulator` (the in-process Hive simulator), `fault` (the test-only fault hook) and
//! `config` (the `--config` file). Commands depend on the plumbing, never on each other.

mod active_key;
mod api_args;
mod backends;
mod cmd;
mod config;
mod consensus;
mod context;
mod drive;
mod fault;
mod progress;
mod simulator;
mod supervise;

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer as _;

#[derive(Parser)]
#[command(name = "opentoken", version, about = "A Layer-2 token node for the Hive blockchain")]
struct Cli {
    /// A TOML file of settings (`data_dir = "..."`, `kafka_brokers = "..."`, ...): each key is
    /// the environment variable without `OPENTOKEN_`, lowercased. Flags and environment
    /// variables take precedence over it.
    #[arg(long, env = "OPENTOKEN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log filter (tracing env-filter syntax).
    #[arg(long, env = "OPENTOKEN_LOG", default_value = "info", global = true)]
    log: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every role in one process on the embedded log and store.
    Run(Box<cmd::run::RunArgs>),
    /// Follow Hive and publish each module's ops to its topic.
    Ingest(cmd::ingest::IngestArgs),
    /// Run one module over its topic.
    Process(cmd::process::ProcessArgs),
    /// Create the Kafka topics (idempotent; every role also does it at start).
    Topics(cmd::topics::TopicsArgs),
    /// Sign and publish consensus reports at checkpoints.
    Checkpoint(cmd::checkpoint::CheckpointArgs),
    /// Serve the HTTP API from the store.
    Serve(cmd::serve::ServeArgs),
    /// Rebuild a module from its topic into a fresh store and verify every recorded checkpoint.
    Replay(cmd::replay::ReplayArgs),
    /// A local Hive node simulator (JSON-RPC) producing blocks with generated traffic.
    Devnet(cmd::devnet::DevnetArgs),
    /// Measure token ops/s through the state machine and end to end on the embedded pipeline.
    Bench(cmd::bench::BenchArgs),
    /// Read a reference node's `/state` dump at block N into a chain spec that starts there.
    ImportState(cmd::import_state::ImportStateArgs),
}

impl Cmd {
    /// The subcommand's name: the default OpenTelemetry `service.name` is `opentoken-<it>`.
    fn role(&self) -> &'static str {
        match self {
            Cmd::Run(_) => "run",
            Cmd::Ingest(_) => "ingest",
            Cmd::Process(_) => "process",
            Cmd::Topics(_) => "topics",
            Cmd::Checkpoint(_) => "checkpoint",
            Cmd::Serve(_) => "serve",
            Cmd::Replay(_) => "replay",
            Cmd::Devnet(_) => "devnet",
            Cmd::Bench(_) => "bench",
            Cmd::ImportState(_) => "import-state",
        }
    }

    async fn execute(self) -> Result<()> {
        match self {
            Cmd::Run(args) => args.execute().await,
            Cmd::Ingest(args) => args.execute().await,
            Cmd::Process(args) => args.execute().await,
            Cmd::Topics(args) => args.execute().await,
            Cmd::Checkpoint(args) => args.execute().await,
            Cmd::Serve(args) => args.execute().await,
            Cmd::Replay(args) => args.execute().await,
            Cmd::Devnet(args) => args.execute().await,
            Cmd::Bench(args) => args.execute().await,
            Cmd::ImportState(args) => args.execute(),
        }
    }
}

fn main() -> Result<()> {
    config::apply_config_file(std::env::args_os().collect(), &Cli::command())?;
    let cli = Cli::parse();
    // Before the runtime: the OTLP exporters' blocking HTTP client lives on their own threads.
    // Exporting only when OTEL_EXPORTER_OTLP_*ENDPOINT is set (docs/architecture.md).
    let otel = opentoken_telemetry::otel::init(cli.cmd.role());
    // The spans meant for OpenTelemetry never reach the log: its lines read as before.
    let log_filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| "info".into())
        .add_directive(format!("{}=off", opentoken_telemetry::otel::TARGET).parse()?);
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour only on a terminal: log files and collectors get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(log_filter);
    let (otel, otel_error) = match otel {
        Ok(guard) => (guard, None),
        Err(e) => (None, Some(e)),
    };
    tracing_subscriber::registry()
        .with(log)
        .with(otel.as_ref().and_then(|g| g.layer()))
        .init();
    if let Some(e) = otel_error {
        // Observability is never a reason not to run.
        tracing::warn!(error = %e, "OpenTelemetry export is off");
    }
    if let Some(guard) = &otel {
        tracing::info!(exporting = ?guard, "OpenTelemetry export over OTLP/HTTP is on");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(cli.cmd.execute());
    // The runtime goes first, then the exporters flush what the roles left queued.
    drop(runtime);
    drop(otel);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Catches conflicting flags and bad defaults at test time instead of at startup.
    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_role_is_a_subcommand() {
        let cmd = Cli::command();
        let names: Vec<&str> = cmd.get_subcommands().map(|c| c.get_name()).collect();
        for role in [
            "run",
            "ingest",
            "process",
            "checkpoint",
            "serve",
            "replay",
            "devnet",
            "bench",
        ] {
            assert!(names.contains(&role), "{role} missing from {names:?}");
        }
    }

    /// Every setting a flag reads from the environment can come from a config file too:
    /// a new flag with `env = "OPENTOKEN_..."` is settable from the file without anyone
    /// remembering to list it.
    #[test]
    fn every_setting_but_secrets_can_come_from_the_config_file() {
        let cli = Cli::command();
        let mut checked = 0;
        for var in config::env_vars(&cli) {
            let key = var.trim_start_matches("OPENTOKEN_").to_lowercase();
            if config::SECRETS.contains(&var.as_str()) || var == "OPENTOKEN_CONFIG" {
                continue;
            }
            let set = config::settings(&format!("{key} = \"x\""), "t.toml", &cli)
                .unwrap_or_else(|e| panic!("{var} cannot be set from a config file: {e:#}"));
            assert_eq!(set, [(var.clone(), "x".to_string())]);
            checked += 1;
        }
        assert!(
            checked >= 14,
            "only {checked} settings found; is the walk over subcommands broken?"
        );
    }

    #[test]
    fn a_secret_cannot_come_from_the_config_file() {
        let cli = Cli::command();
        assert!(
            config::env_vars(&cli).contains(&"OPENTOKEN_HIVE_ACTIVE_KEY".to_string()),
            "the active key is still read from the environment"
        );
        let e = config::settings("hive_active_key = \"5K...\"", "t.toml", &cli).expect_err("a secret");
        assert!(e.to_string().contains("OPENTOKEN_HIVE_ACTIVE_KEY"), "{e}");
    }
}
