//! The node's ed25519 report key: created on first start, kept in a 0600 file, never logged;
//! and the 0600 rule itself ([`read_secret_file`]), which every key file the node reads
//! (also the Hive active key's) goes through.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("cannot read node key {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot create node key {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("node key {path} is not 64 hex characters; restore it from your backup or remove it to create a new key (the new key must then be registered again)")]
    Malformed { path: PathBuf },
    #[error("{what} {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen {
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
    #[error("cannot read {what} {path}: {source}")]
    ReadSecret {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Reads a file holding a secret (`what` names it in errors), refusing one that group or
/// others may read: a key readable by other accounts on the machine is a key to replace,
/// so the node does not start with it until the operator has fixed the mode.
pub fn read_secret_file(path: &Path, what: &'static str) -> Result<String, KeyError> {
    refuse_open_mode(path, what)?;
    fs::read_to_string(path).map_err(|source| KeyError::ReadSecret {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// `TooOpen` when group or others have any access to `path` (unix; elsewhere no check).
fn refuse_open_mode(path: &Path, what: &'static str) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(|source| KeyError::ReadSecret {
                what,
                path: path.to_path_buf(),
                source,
            })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen {
                what,
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
    Ok(())
}

/// Cloned only within the process (a role that retries its start needs it again); it has no
/// Display and its Debug shows only the public key, so the secret cannot end up in a log line.
#[derive(Clone)]
pub struct NodeKey {
    signing: SigningKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "NodeKey(public {})", self.public_hex())
    }
}

impl NodeKey {
    /// Loads the key at `path`, or creates one (mode 0600) when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                refuse_open_mode(path, "node key")?;
                let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Malformed {
                    path: path.to_path_buf(),
                })?;
                let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed {
                    path: path.to_path_buf(),
                })?;
                Ok(Self {
                    signing: SigningKey::from_bytes(&seed),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let signing = SigningKey::generate(&mut rand::rngs::OsRng);
                if let Some(dir) = path.parent() {
                    fs::create_dir_all(dir).map_err(|source| KeyError::Create {
                        path: path.to_path_buf(),
                        source,
                    })?;
                }
                let mut opts = fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(path).map_err(|source| KeyError::Create {
                    path: path.to_path_buf(),
                    source,
                })?;
                f.write_all(hex::encode(signing.to_bytes()).as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|source| KeyError::Create {
                        path: path.to_path_buf(),
                        source,
                    })?;
                tracing::info!(public_key = %hex::encode(signing.verifying_key().to_bytes()), path = %path.display(), "created node report key");
                Ok(Self { signing })
            }
            Err(source) => Err(KeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public().to_bytes())
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.signing.sign(msg).to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_with_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/node.key");
        let k1 = NodeKey::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let k2 = NodeKey::load_or_create(&path).unwrap();
        assert_eq!(k1.public_hex(), k2.public_hex());
        assert!(!format!("{k1:?}").contains(&fs::read_to_string(&path).unwrap()));
    }

    #[test]
    fn debug_shows_the_public_key_and_never_the_seed() {
        let seed = [0x5a; 32];
        let k = NodeKey::from_seed(seed);
        let shown = format!("{k:?} {k:#?}");
        assert!(shown.contains(&k.public_hex()), "{shown}");
        assert!(!shown.contains(&hex::encode(seed)), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_world_readable_and_malformed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        fs::write(&path, "zz").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            NodeKey::load_or_create(&path),
            Err(KeyError::Malformed { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(NodeKey::load_or_create(&path), Err(KeyError::TooOpen { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_open_to_others_is_refused_naming_it_and_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("active.key");
        fs::write(&path, "5Jsecret\n").unwrap();
        for mode in [0o640, 0o604, 0o644] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
            let e = read_secret_file(&path, "Hive active key file").expect_err("too open");
            let text = e.to_string();
            assert!(
                text.contains("Hive active key file") && text.contains(&path.display().to_string()),
                "{text}"
            );
            assert!(text.contains(&format!("chmod 600 {}", path.display())), "{text}");
            assert!(!text.contains("5Jsecret"), "{text}");
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret_file(&path, "Hive active key file").unwrap(), "5Jsecret\n");
        let missing = read_secret_file(&dir.path().join("nope"), "Hive active key file").expect_err("missing");
        assert!(
            missing.to_string().contains("cannot read Hive active key file"),
            "{missing}"
        );
    }
}
