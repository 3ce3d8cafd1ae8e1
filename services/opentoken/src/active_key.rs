//! Where the node's Hive active key comes from: `--hive-active-key-file` (recommended: a
//! 0600 file, read with the same check as `node.key`) or `--hive-active-key` /
//! `OPENTOKEN_HIVE_ACTIVE_KEY` (a flag is visible to every user in process listings).

use crate::consensus::ActiveKeyWif;
use anyhow::{bail, Result};
use std::path::Path;

/// What errors call the file.
const WHAT: &str = "Hive active key file";

/// The active key given by `flag` or read from `file` (clap refuses both at once), `None`
/// when neither is given.
pub(crate) fn active_key(flag: Option<&ActiveKeyWif>, file: Option<&Path>) -> Result<Option<ActiveKeyWif>> {
    let Some(path) = file else {
        return Ok(flag.cloned());
    };
    let text = opentoken_checkpointer::read_secret_file(path, WHAT)?;
    let wif = text.trim();
    if wif.is_empty() {
        bail!(
            "{WHAT} {} is empty; it must hold the WIF private key (5...)",
            path.display()
        );
    }
    Ok(Some(ActiveKeyWif::from(wif.to_string())))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::{Cli, Cmd};
    use clap::Parser;
    use std::os::unix::fs::PermissionsExt;

    const WIF: &str = "5JdeC9P7Pbd1uGdFVEsJ41EkEnADbbHGq6p1BwFxm6txNBsQnsw";

    fn key_file(mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("active.key");
        std::fs::write(&path, format!("{WIF}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        (dir, path)
    }

    #[test]
    fn the_file_is_read_when_private_and_refused_with_the_fix_otherwise() {
        let (_dir, path) = key_file(0o600);
        let read = active_key(None, Some(&path)).expect("0600 is fine").expect("a key");
        assert!(
            crate::consensus::HiveIdentity::from_wif("alice", &read).is_ok(),
            "the trimmed WIF"
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = active_key(None, Some(&path)).expect_err("readable by others");
        let text = format!("{e:#}");
        assert!(text.contains(&format!("chmod 600 {}", path.display())), "{text}");
        assert!(!text.contains(WIF), "{text}");
    }

    #[test]
    fn run_and_checkpoint_take_the_file_but_not_with_the_flag_too() {
        let (_dir, path) = key_file(0o600);
        let file = path.to_str().expect("utf-8");
        for cmd in ["run", "checkpoint"] {
            let parsed = Cli::try_parse_from([
                "opentoken",
                cmd,
                "--node-account",
                "alice",
                "--hive-active-key-file",
                file,
            ]);
            let parsed = parsed.unwrap_or_else(|e| panic!("{cmd}: {e}"));
            let shown = match parsed.cmd {
                Cmd::Run(args) => format!("{args:?}"),
                Cmd::Checkpoint(args) => format!("{args:?}"),
                _ => unreachable!("parsed as {cmd}"),
            };
            assert!(shown.contains("active.key") && !shown.contains(WIF), "{shown}");
            let both = Cli::try_parse_from([
                "opentoken",
                cmd,
                "--hive-active-key",
                WIF,
                "--hive-active-key-file",
                file,
            ]);
            assert!(both.is_err(), "{cmd}: the flag and the file at once are refused");
        }
    }
}
