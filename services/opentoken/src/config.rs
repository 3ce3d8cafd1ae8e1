//! `--config FILE`: settings from a TOML file, applied as the `OPENTOKEN_*` environment
//! variables the flags already read, so the precedence is flag > environment > file and
//! every setting has exactly one name in all three places.
//!
//! The keys a file may set are read off the CLI definition itself (every argument of every
//! subcommand that has an environment variable), so a new flag is settable from a file the
//! day it is added. Secrets are the exception: they stay out of files that get copied,
//! committed and mounted into containers.

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

/// Environment variables holding key material: never read from a config file.
pub(crate) const SECRETS: &[&str] = &["OPENTOKEN_HIVE_ACTIVE_KEY"];

/// Not a setting: the variable that names the config file.
const CONFIG_VAR: &str = "OPENTOKEN_CONFIG";

/// Every `OPENTOKEN_*` variable some argument of `cli` (or of its subcommands, at any
/// depth) reads, sorted.
pub(crate) fn env_vars(cli: &clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(var) = arg.get_env().and_then(|v| v.to_str()) {
                if var.starts_with("OPENTOKEN_") {
                    out.insert(var.to_string());
                }
            }
        }
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(cli, &mut out);
    out.into_iter().collect()
}

/// The keys a config file may set (each is `OPENTOKEN_<KEY>` in the environment).
fn keys(cli: &clap::Command) -> Vec<String> {
    env_vars(cli)
        .into_iter()
        .filter(|v| v != CONFIG_VAR && !SECRETS.contains(&v.as_str()))
        .map(|v| v.trim_start_matches("OPENTOKEN_").to_lowercase())
        .collect()
}

fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_VAR).map(PathBuf::from)
}

/// The environment assignments a config file asks for.
pub(crate) fn settings(text: &str, origin: &str, cli: &clap::Command) -> Result<Vec<(String, String)>> {
    let table: toml::Table = text.parse().with_context(|| format!("{origin} is not valid TOML"))?;
    let known = keys(cli);
    let mut out = Vec::new();
    for (key, value) in table {
        let var = format!("OPENTOKEN_{}", key.to_uppercase());
        if SECRETS.contains(&var.as_str()) {
            bail!("{origin}: `{key}` is a secret and cannot be set in a config file; set {var} in the environment");
        }
        if !known.contains(&key) {
            bail!("{origin}: unknown setting `{key}` (known: {})", known.join(", "));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => bail!("{origin}: `{key}` must be a list of strings, found {other}"),
                })
                .collect::<Result<Vec<_>>>()?
                .join(","),
            other => bail!("{origin}: `{key}` must be a string, number, boolean or list, found {other}"),
        };
        out.push((var, text));
    }
    Ok(out)
}

/// Reads `--config FILE` (or `OPENTOKEN_CONFIG`) and sets the variables it names that are
/// not set yet. Runs first thing in `main`, before any thread exists.
pub(crate) fn apply_config_file(args: Vec<OsString>, cli: &clap::Command) -> Result<()> {
    let Some(path) = config_path(&args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {}", path.display()))?;
    for (var, value) in settings(&text, &path.display().to_string(), cli)? {
        if std::env::var_os(&var).is_none() {
            std::env::set_var(var, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    /// A CLI shaped like the real one: settings on the root, on subcommands and nested.
    fn cli() -> Command {
        let env_arg = |name: &'static str, var: &'static str| Arg::new(name).long(name).env(var);
        Command::new("opentoken")
            .arg(env_arg("config", "OPENTOKEN_CONFIG"))
            .arg(env_arg("log", "OPENTOKEN_LOG"))
            .subcommand(
                Command::new("process")
                    .arg(env_arg("data-dir", "OPENTOKEN_DATA_DIR"))
                    .arg(env_arg("kafka-brokers", "OPENTOKEN_KAFKA_BROKERS"))
                    .arg(env_arg("hive-api", "OPENTOKEN_HIVE_API"))
                    .arg(env_arg("commit-every", "OPENTOKEN_COMMIT_EVERY"))
                    .arg(Arg::new("until-block").long("until-block")),
            )
            .subcommand(
                Command::new("run")
                    .subcommand(Command::new("nested").arg(env_arg("listen", "OPENTOKEN_LISTEN")))
                    .arg(env_arg("hive-active-key", "OPENTOKEN_HIVE_ACTIVE_KEY")),
            )
    }

    #[test]
    fn keys_become_environment_variables() {
        let s = settings(
            "data_dir = \"/var/lib/opentoken\"\nkafka_brokers = \"k1:9092\"\nhive_api = [\"https://a\", \"https://b\"]\ncommit_every = 50\n",
            "t.toml",
            &cli(),
        )
        .expect("valid");
        assert!(s.contains(&("OPENTOKEN_DATA_DIR".into(), "/var/lib/opentoken".into())));
        assert!(s.contains(&("OPENTOKEN_KAFKA_BROKERS".into(), "k1:9092".into())));
        assert!(s.contains(&("OPENTOKEN_HIVE_API".into(), "https://a,https://b".into())));
        assert!(s.contains(&("OPENTOKEN_COMMIT_EVERY".into(), "50".into())));
    }

    #[test]
    fn keys_are_every_env_var_of_every_subcommand_but_secrets_and_the_file_itself() {
        assert_eq!(
            keys(&cli()),
            ["commit_every", "data_dir", "hive_api", "kafka_brokers", "listen", "log"]
        );
    }

    #[test]
    fn typos_bad_values_and_secrets_are_refused_by_name() {
        let e = settings("data_dri = \"x\"", "t.toml", &cli()).expect_err("typo");
        assert!(e.to_string().contains("data_dri"), "{e}");
        assert!(settings("listen = { a = 1 }", "t.toml", &cli()).is_err());
        assert!(settings("not toml at all [", "t.toml", &cli()).is_err());
        let e = settings("hive_active_key = \"5K\"", "t.toml", &cli()).expect_err("secret");
        assert!(e.to_string().contains("is a secret"), "{e}");
    }

    #[test]
    fn config_flag_is_found_in_both_spellings() {
        let args = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["opentoken", "process", "--config", "a.toml"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&args(&["opentoken", "--config=b.toml", "serve"])),
            Some(PathBuf::from("b.toml"))
        );
    }
}
