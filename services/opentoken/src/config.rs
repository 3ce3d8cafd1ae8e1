//! `--config FILE`: settings from a TOML file, applied as the `OPENTOKEN_*` environment
//! variables the flags already read, so the precedence is flag > environment > file and
//! every setting has exactly one name in all three places.

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::PathBuf;

/// The keys a config file may set (each is `OPENTOKEN_<KEY>` in the environment).
const KEYS: &[&str] = &[
    "data_dir",
    "chain",
    "kafka_brokers",
    "kafka_topics",
    "scylla_uri",
    "hive_api",
    "listen",
    "node_account",
    "log",
    "module",
    "commit_every",
];

fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    std::env::var_os("OPENTOKEN_CONFIG").map(PathBuf::from)
}

/// The environment assignments a config file asks for, skipping variables already set.
pub fn settings(text: &str, origin: &str) -> Result<Vec<(String, String)>> {
    let table: toml::Table = text.parse().with_context(|| format!("{origin} is not valid TOML"))?;
    let mut out = Vec::new();
    for (key, value) in table {
        if !KEYS.contains(&key.as_str()) {
            bail!("{origin}: unknown setting `{key}` (known: {})", KEYS.join(", "));
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
        out.push((format!("OPENTOKEN_{}", key.to_uppercase()), text));
    }
    Ok(out)
}

/// Reads `--config FILE` (or `OPENTOKEN_CONFIG`) and sets the variables it names that are
/// not set yet. Runs first thing in `main`, before any thread exists.
pub fn apply_config_file(args: Vec<OsString>) -> Result<()> {
    let Some(path) = config_path(&args) else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading config file {}", path.display()))?;
    for (var, value) in settings(&text, &path.display().to_string())? {
        if std::env::var_os(&var).is_none() {
            std::env::set_var(var, value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_environment_variables() {
        let s = settings(
            "data_dir = \"/var/lib/opentoken\"\nkafka_brokers = \"k1:9092\"\nhive_api = [\"https://a\", \"https://b\"]\ncommit_every = 50\n",
            "t.toml",
        )
        .expect("valid");
        assert!(s.contains(&("OPENTOKEN_DATA_DIR".into(), "/var/lib/opentoken".into())));
        assert!(s.contains(&("OPENTOKEN_KAFKA_BROKERS".into(), "k1:9092".into())));
        assert!(s.contains(&("OPENTOKEN_HIVE_API".into(), "https://a,https://b".into())));
        assert!(s.contains(&("OPENTOKEN_COMMIT_EVERY".into(), "50".into())));
    }

    #[test]
    fn typos_and_bad_values_are_refused_by_name() {
        let e = settings("data_dri = \"x\"", "t.toml").expect_err("typo");
        assert!(e.to_string().contains("data_dri"), "{e}");
        assert!(settings("listen = { a = 1 }", "t.toml").is_err());
        assert!(settings("not toml at all [", "t.toml").is_err());
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
