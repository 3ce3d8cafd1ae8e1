//! Stable identifiers for what the node records and serves: state events, op statuses and
//! multi-sig outflows each get a UUID, so a downstream consumer that sees one twice (a
//! replay, a second node, a retried read) can drop the copy by id alone.
//!
//! They are name-based (RFC 4122 version 5: SHA-1 over a namespace and a name), never
//! random: the name is the thing's place in consensus data (community, module, chain
//! position, number), so every node, and the same node after a replay or a restore, gives
//! the same thing the same id, and two different things never share one.
//!
//! The name is the id's kind followed by its parts, each written as its length (8 bytes,
//! big-endian) and its bytes; numbers are their fixed-width big-endian bytes (block: 8;
//! transaction index, op index and event number: 4; outflow number: 8). Length prefixes
//! make the encoding prefix-free: no choice of parts can make one name out of two others'
//! pieces (`("ab", "c")` and `("a", "bc")` differ), which a plain concatenation or a
//! separator that may occur in a part (a txid, an account) would not ensure.
//! `tools/ids.py` recomputes the known answers from this description.

use crate::pos::ChainPos;
use crate::record::{EventRecord, OpStatus};
use uuid::Uuid;

/// The name the namespace is derived from (under RFC 4122's URL namespace). A new
/// derivation of any id must come with a new name (`.../v2`), never a changed one.
pub const NAMESPACE_NAME: &str = "opentoken.dlux.io/ids/v1";

/// `uuid5(NAMESPACE_URL, NAMESPACE_NAME)`, pinned so that it can never change by accident
/// (the test recomputes it).
pub const NAMESPACE: Uuid = Uuid::from_u128(0xc89d_c9c4_4ce5_54f4_92b8_0cc4_9e04_6a27);

/// The kinds of id; the first part of every name, so ids of different kinds never collide.
const EVENT: &str = "event";
const STATUS: &str = "status";
const OUTFLOW: &str = "outflow";

/// A name under construction: length-prefixed parts.
struct Name(Vec<u8>);

impl Name {
    fn new(kind: &str) -> Self {
        Self(Vec::with_capacity(128)).part(kind.as_bytes())
    }

    fn part(mut self, bytes: &[u8]) -> Self {
        // usize fits u64 on every target Rust supports, so the length is exact.
        self.0.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    fn pos(self, pos: ChainPos) -> Self {
        self.part(&pos.block.to_be_bytes())
            .part(&pos.trx_in_block.to_be_bytes())
            .part(&pos.op_in_trx.to_be_bytes())
    }

    fn id(self) -> Uuid {
        Uuid::new_v5(&NAMESPACE, &self.0)
    }
}

/// A state event: the `seq`-th event `module` recorded at `pos` in `community`
/// (`ChainSpec::name`). Events are numbered from 0 per position and module, so this is
/// unique per event.
pub fn event(community: &str, module: &str, pos: ChainPos, seq: u32) -> Uuid {
    Name::new(EVENT)
        .part(community.as_bytes())
        .part(module.as_bytes())
        .pos(pos)
        .part(&seq.to_be_bytes())
        .id()
}

/// The recorded outcome of the op at `pos` of transaction `txid`, as `module` ran it in
/// `community`. The position alone would do; the txid is there so that an id can be checked
/// against the status a client looked up by txid.
pub fn op_status(community: &str, module: &str, txid: &str, pos: ChainPos) -> Uuid {
    Name::new(STATUS)
        .part(community.as_bytes())
        .part(module.as_bytes())
        .part(txid.as_bytes())
        .pos(pos)
        .id()
}

/// Outflow number `seq` of `module` (the multi-sig account's queue, `out/<seq>`, memo
/// `ot:<seq>`) in `community`: the module numbers outflows once and never reuses a number,
/// so the id stays the same from queued to paid.
pub fn outflow(community: &str, module: &str, seq: u64) -> Uuid {
    Name::new(OUTFLOW)
        .part(community.as_bytes())
        .part(module.as_bytes())
        .part(&seq.to_be_bytes())
        .id()
}

impl EventRecord {
    /// This event's id in `community` ([`event`]).
    pub fn id(&self, community: &str) -> Uuid {
        event(community, &self.module, self.pos, self.seq)
    }
}

impl OpStatus {
    /// This status's id in `community` ([`op_status`]).
    pub fn id(&self, community: &str) -> Uuid {
        op_status(community, &self.module, &self.txid, self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};
    use std::path::Path;
    use std::process::Command;

    fn at(block: u64, trx: u32, op: u32) -> ChainPos {
        ChainPos::new(block, trx, op)
    }

    /// Every known answer: its label (as `tools/ids.py` prints it), the value computed here
    /// and the value pinned. Keep the inputs in step with `ANSWERS` in `tools/ids.py`.
    fn known() -> Vec<(&'static str, Uuid, &'static str)> {
        vec![
            ("namespace", NAMESPACE, "c89dc9c4-4ce5-54f4-92b8-0cc49e046a27"),
            (
                "event dlux token 5:0:0 #0",
                event("dlux", "token", at(5, 0, 0), 0),
                "76c50b82-b23b-5b01-9124-2e7e89a77484",
            ),
            (
                "event dlux token 5:1:2 #3",
                event("dlux", "token", at(5, 1, 2), 3),
                "630508f4-1fa4-571f-b250-1ddad19f1e8e",
            ),
            (
                "event dlux nodes 5:4294967295:0 #1",
                event("dlux", "nodes", ChainPos::block_end(5), 1),
                "2fbae240-8581-53b7-b7d0-0667663468c6",
            ),
            (
                "status dlux token abc 7:1:0",
                op_status("dlux", "token", "abc", at(7, 1, 0)),
                "2616bdcf-c0dc-5578-b4f4-715a31a11062",
            ),
            (
                "status dlux multisig msg 9:4294967295:0",
                op_status("dlux", "multisig", "msg:token:9:4294967295:0:0", ChainPos::block_end(9)),
                "5809de3f-16c3-5f11-afc2-1c1cd07d89b9",
            ),
            (
                "outflow dlux multisig 0",
                outflow("dlux", "multisig", 0),
                "7fa91e4e-541c-513d-aea2-8223f6461dd9",
            ),
            (
                "outflow dlux multisig 42",
                outflow("dlux", "multisig", 42),
                "608b724e-2845-5c1e-8557-ce78aff83b6e",
            ),
        ]
    }

    #[test]
    fn the_namespace_is_the_documented_derivation() {
        assert_eq!(NAMESPACE, Uuid::new_v5(&Uuid::NAMESPACE_URL, NAMESPACE_NAME.as_bytes()));
        assert_eq!(NAMESPACE.get_version_num(), 5);
    }

    /// The ids never change: a consumer that stored one must find it again after an
    /// upgrade. Every id is a version 5 UUID of the RFC 4122 variant.
    #[test]
    fn known_answers_are_pinned() {
        for (label, value, pinned) in known() {
            assert_eq!(value.to_string(), pinned, "{label}");
            assert_eq!(value.get_version_num(), 5, "{label}");
            assert_eq!(value.get_variant(), uuid::Variant::RFC4122, "{label}");
        }
    }

    /// An independent implementation (`tools/ids.py`: Python's hashlib and uuid, written
    /// from the module documentation) prints the same answers.
    #[test]
    fn an_independent_implementation_gives_the_same_ids() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/ids.py");
        let out = Command::new("python3")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("python3 {}: {e} (python3 must be installed)", script.display()));
        assert!(
            out.status.success(),
            "python3 {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("tools/ids.py prints UTF-8");
        let printed: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('\t')).collect();
        let known = known();
        assert_eq!(printed.len(), known.len(), "tools/ids.py printed {printed:?}");
        for (label, value, _) in known {
            assert_eq!(printed.get(label), Some(&value.to_string().as_str()), "{label}");
        }
    }

    /// Parts that a plain concatenation (or a `:` separator) would run together give
    /// different ids, as do the same parts under different kinds.
    #[test]
    fn crafted_near_collisions_stay_apart() {
        let p = at(1, 2, 3);
        let ids = [
            event("ab", "c", p, 0),
            event("a", "bc", p, 0),
            event("a:b", "c", p, 0),
            event("a", "b:c", p, 0),
            op_status("d", "token", "x", p),
            op_status("d", "tokenx", "", p),
            op_status("d", "token", "x1", at(1, 2, 3)),
            op_status("d", "token", "x", at(12, 2, 3)),
            // The block's bytes shifted into the txid.
            op_status("d", "token", "", at(0x0100, 2, 3)),
            op_status("d", "token", "\u{1}", at(0, 2, 3)),
            outflow("d", "multisig", 1),
            outflow("d", "multisi", 1),
            outflow("", "dmultisig", 1),
        ];
        let distinct: HashSet<Uuid> = ids.iter().copied().collect();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
        // Same numbers, different kinds.
        assert_ne!(event("d", "m", at(0, 0, 0), 0), op_status("d", "m", "", at(0, 0, 0)));
    }

    /// Every field of a position, and the event number, changes the id; the same inputs
    /// always give the same id, and the record helpers agree with the functions.
    #[test]
    fn every_part_counts_and_ids_are_stable() {
        let base = event("dlux", "token", at(10, 1, 1), 1);
        let varied = [
            event("dluy", "token", at(10, 1, 1), 1),
            event("dlux", "tokem", at(10, 1, 1), 1),
            event("dlux", "token", at(11, 1, 1), 1),
            event("dlux", "token", at(10, 2, 1), 1),
            event("dlux", "token", at(10, 1, 2), 1),
            event("dlux", "token", at(10, 1, 1), 2),
        ];
        let mut seen: HashSet<Uuid> = varied.iter().copied().collect();
        assert_eq!(seen.len(), varied.len());
        assert!(seen.insert(base), "{base} repeated");
        assert_eq!(base, event("dlux", "token", at(10, 1, 1), 1));

        let record = EventRecord {
            module: "token".into(),
            pos: at(10, 1, 1),
            seq: 1,
            kind: "send".into(),
            data: vec![1, 2, 3],
        };
        assert_eq!(record.id("dlux"), base);
        let status = OpStatus {
            txid: "abc".into(),
            pos: at(7, 1, 0),
            module: "token".into(),
            op: "send".into(),
            from: "alice".into(),
            outcome: crate::Outcome::Applied { summary: "ok".into() },
        };
        assert_eq!(status.id("dlux"), op_status("dlux", "token", "abc", at(7, 1, 0)));
    }

    /// The name is the documented bytes: kind, then each part as an 8-byte big-endian
    /// length and its bytes.
    #[test]
    fn the_name_is_length_prefixed_parts() {
        let name = Name::new("outflow").part(b"d").part(&7u64.to_be_bytes()).0;
        let mut want = Vec::new();
        for part in [&b"outflow"[..], b"d", &7u64.to_be_bytes()] {
            want.extend_from_slice(&(part.len() as u64).to_be_bytes());
            want.extend_from_slice(part);
        }
        assert_eq!(name, want);
    }
}
