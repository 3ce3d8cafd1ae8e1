//! The consensus report a node signs at every checkpoint block.

use crate::value::{long_u64, record, Fields};
use crate::CodecError;
use apache_avro::types::Value;

/// Domain tag of [`Report::signing_bytes`]: a signature over a report can never be replayed as
/// a signature over anything else this key signs (Hive transactions, multi-sig work), and a
/// future layout change gets a new tag instead of silently changing what v1 signatures mean.
pub const REPORT_SIGNING_DOMAIN: &[u8] = b"opentoken/report/v1\0";

/// One module's state commitment at the report's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleHash {
    pub module: String,
    pub hash: [u8; 32],
}

/// A node's signed statement "at block `block`, community `community` has consensus hash
/// `consensus_hash`" (DESIGN.md: signed consensus reports, 2/3 stake agreement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub community: String,
    pub block: u64,
    pub consensus_hash: [u8; 32],
    /// Sorted by module name (the checkpointer builds it from a BTreeMap).
    pub module_hashes: Vec<ModuleHash>,
    /// The node's Hive account; empty for a node without one.
    pub node: String,
    pub version: String,
    /// ed25519 public key the signature verifies with.
    pub public_key: [u8; 32],
    /// ed25519 signature over [`Report::signing_bytes`].
    pub signature: [u8; 64],
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Report {
    /// The exact bytes the ed25519 signature covers: the domain tag, then every field but the
    /// signature, in a fixed order, strings and lists length-prefixed (u64 big-endian) so that
    /// no two different reports share signing bytes. Deliberately independent of the Avro
    /// encoding, so that a schema change (e.g. an added field with a default) never changes
    /// what existing signatures mean.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            REPORT_SIGNING_DOMAIN.len() + 128 + self.module_hashes.len() * 48 + self.community.len(),
        );
        out.extend_from_slice(REPORT_SIGNING_DOMAIN);
        put_str(&mut out, &self.community);
        out.extend_from_slice(&self.block.to_be_bytes());
        out.extend_from_slice(&self.consensus_hash);
        out.extend_from_slice(&(self.module_hashes.len() as u64).to_be_bytes());
        for m in &self.module_hashes {
            put_str(&mut out, &m.module);
            out.extend_from_slice(&m.hash);
        }
        put_str(&mut out, &self.node);
        put_str(&mut out, &self.version);
        out.extend_from_slice(&self.public_key);
        out
    }
}

pub(crate) fn report(r: &Report) -> Value {
    let hashes = r
        .module_hashes
        .iter()
        .map(|m| {
            record(vec![
                ("module", Value::String(m.module.clone())),
                ("hash", Value::Fixed(32, m.hash.to_vec())),
            ])
        })
        .collect();
    record(vec![
        ("community", Value::String(r.community.clone())),
        ("block", long_u64(r.block)),
        ("consensus_hash", Value::Fixed(32, r.consensus_hash.to_vec())),
        ("module_hashes", Value::Array(hashes)),
        ("node", Value::String(r.node.clone())),
        ("version", Value::String(r.version.clone())),
        ("public_key", Value::Fixed(32, r.public_key.to_vec())),
        ("signature", Value::Fixed(64, r.signature.to_vec())),
    ])
}

pub(crate) fn report_from(v: &Value) -> Result<Report, CodecError> {
    const WHAT: &str = "report";
    let f = Fields::of(WHAT, v)?;
    let module_hashes = f
        .array("module_hashes")?
        .iter()
        .map(|m| {
            let mf = Fields::of(WHAT, m)?;
            Ok(ModuleHash {
                module: mf.string("module")?,
                hash: mf.fixed::<32>("hash")?,
            })
        })
        .collect::<Result<Vec<_>, CodecError>>()?;
    Ok(Report {
        community: f.string("community")?,
        block: f.u64("block")?,
        consensus_hash: f.fixed::<32>("consensus_hash")?,
        module_hashes,
        node: f.string("node")?,
        version: f.string("version")?,
        public_key: f.fixed::<32>("public_key")?,
        signature: f.fixed::<64>("signature")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            community: "dlux".into(),
            block: 100,
            consensus_hash: [1; 32],
            module_hashes: vec![ModuleHash {
                module: "token".into(),
                hash: [2; 32],
            }],
            node: "alice".into(),
            version: "0.1.0".into(),
            public_key: [3; 32],
            signature: [4; 64],
        }
    }

    #[test]
    fn signing_bytes_cover_every_field_but_the_signature() {
        let base = sample();
        let b = base.signing_bytes();
        assert!(b.starts_with(REPORT_SIGNING_DOMAIN));
        let mut s = base.clone();
        s.signature = [9; 64];
        assert_eq!(s.signing_bytes(), b, "the signature is not signed");
        let variants: [fn(&mut Report); 9] = [
            |r| r.community.push('x'),
            |r| r.block += 1,
            |r| r.consensus_hash[0] ^= 1,
            |r| r.module_hashes[0].hash[31] ^= 1,
            |r| r.module_hashes[0].module.push('x'),
            |r| r.module_hashes.clear(),
            |r| r.node.clear(),
            |r| r.version.push('1'),
            |r| r.public_key[5] ^= 1,
        ];
        for (i, change) in variants.iter().enumerate() {
            let mut r = base.clone();
            change(&mut r);
            assert_ne!(r.signing_bytes(), b, "change {i} is not covered");
        }
    }

    #[test]
    fn signing_bytes_are_unambiguous_across_field_boundaries() {
        let mut a = sample();
        a.node = "ab".into();
        a.version = "c".into();
        let mut b = sample();
        b.node = "a".into();
        b.version = "bc".into();
        assert_ne!(a.signing_bytes(), b.signing_bytes());
    }

    #[test]
    fn signing_bytes_layout_is_pinned() {
        // Changing this layout invalidates every report signed so far: bump the domain tag.
        let r = Report {
            community: "d".into(),
            block: 1,
            consensus_hash: [0xAA; 32],
            module_hashes: vec![],
            node: String::new(),
            version: "v".into(),
            public_key: [0xBB; 32],
            signature: [0; 64],
        };
        let mut want = REPORT_SIGNING_DOMAIN.to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, b'd']);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        want.extend_from_slice(&[0xAA; 32]);
        want.extend_from_slice(&[0; 8]);
        want.extend_from_slice(&[0; 8]);
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, b'v']);
        want.extend_from_slice(&[0xBB; 32]);
        assert_eq!(r.signing_bytes(), want);
    }
}
