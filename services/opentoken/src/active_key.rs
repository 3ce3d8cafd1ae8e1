//! Where the node's Hive keys come from. The active key: `--hive-active-key-file`
//! (recommended: a 0600 file, read with the same check as `node.key`) or `--hive-active-key`
//! / `OPENTOKEN_HIVE_ACTIVE_KEY` (a flag is visible to every user in process listings). The
//! multi-sig key: `--ms-key-file` only, with the same check; it never sits in a flag, an
//! environment variable or a config file.

use crate::consensus::ActiveKeyWif;
use anyhow::{anyhow, bail, Result};
use opentoken_hive_tx::PrivateKey;
use std::path::Path;

/// What errors call the file.
const WHAT: &str = "Hive active key file";
/// What errors call the multi-sig key file.
const MS_WHAT: &str = "multi-sig key file";

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

/// The node's multi-sig key read from `--ms-key-file` (a WIF private key), `None` without
/// the flag. Errors name the file, never its content.
pub(crate) fn ms_key(file: Option<&Path>) -> Result<Option<PrivateKey>> {
    let Some(path) = file else {
        return Ok(None);
    };
    let text = opentoken_checkpointer::read_secret_file(path, MS_WHAT)?;
    let wif = text.trim();
    if wif.is_empty() {
        bail!(
            "{MS_WHAT} {} is empty; it must hold the WIF private key (5...) of the node's multi-sig key",
            path.display()
        );
    }
    let key = PrivateKey::from_wif(wif).map_err(|e| {
        anyhow!(
            "{MS_WHAT} {} does not hold a valid WIF private key: {e}",
            path.display()
        )
    })?;
    Ok(Some(key))
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

    /// Another key than the active one, so a mix-up shows.
    fn ms_wif() -> String {
        opentoken_hive_tx::PrivateKey::from_secret([0x5a; 32])
            .expect("scalar")
            .to_wif()
    }

    fn ms_file(mode: u32, content: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ms.key");
        std::fs::write(&path, content).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        (dir, path)
    }

    #[test]
    fn the_multisig_key_file_is_read_when_private_and_refused_otherwise() {
        assert!(ms_key(None).expect("no flag").is_none());
        let wif = ms_wif();
        let (_dir, path) = ms_file(0o600, &format!("{wif}\n"));
        let key = ms_key(Some(&path)).expect("0600 is fine").expect("a key");
        let want = opentoken_hive_tx::PrivateKey::from_wif(&wif).expect("wif");
        assert_eq!(key.public(), want.public());
        for mode in [0o640, 0o604, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let e = ms_key(Some(&path)).expect_err("readable by others");
            let text = format!("{e:#}");
            assert!(
                text.contains(&format!("chmod 600 {}", path.display())),
                "{mode:o}: {text}"
            );
            assert!(!text.contains(&wif), "{text}");
        }
    }

    #[test]
    fn a_multisig_key_file_without_a_key_is_refused_without_echoing_it() {
        let (_d1, empty) = ms_file(0o600, "\n");
        let e = format!("{:#}", ms_key(Some(&empty)).expect_err("empty"));
        assert!(e.contains("is empty"), "{e}");
        // One character changed: the checksum fails.
        let wif = ms_wif();
        let last = if wif.ends_with('2') { "3" } else { "2" };
        let garbage = format!("{}{last}", &wif[..wif.len() - 1]);
        let (_d2, bad) = ms_file(0o600, &garbage);
        let e = format!("{:#}", ms_key(Some(&bad)).expect_err("bad checksum"));
        assert!(e.contains("not hold a valid WIF") && !e.contains(&garbage), "{e}");
    }

    #[test]
    fn run_and_checkpoint_take_the_multisig_key_file_and_show_no_key() {
        let wif = ms_wif();
        let (_dir, path) = ms_file(0o600, &wif);
        let file = path.to_str().expect("utf-8");
        for cmd in ["run", "checkpoint"] {
            let parsed = Cli::try_parse_from(["opentoken", cmd, "--node-account", "alice", "--ms-key-file", file]);
            let parsed = parsed.unwrap_or_else(|e| panic!("{cmd}: {e}"));
            let shown = match parsed.cmd {
                Cmd::Run(args) => format!("{args:?} {args:#?}"),
                Cmd::Checkpoint(args) => format!("{args:?} {args:#?}"),
                _ => unreachable!("parsed as {cmd}"),
            };
            assert!(shown.contains("ms.key") && !shown.contains(&wif), "{shown}");
        }
        // What the agent holds and shows (AgentParts, MsDuty): the public key only.
        let key = ms_key(Some(&path)).expect("read").expect("a key");
        let shown = format!("{key:?} {key:#?}");
        assert!(
            shown.contains(&key.public().to_string()) && !shown.contains(&wif),
            "{shown}"
        );
    }
}
