//! The checks every module's event encoding must pass.

use crate::module::ModuleEvent;
use std::fmt::Debug;

/// Panics unless the event codec of a module is sound:
///
/// - every one of `variants` (give at least one of each) encodes as Avro single-object
///   (marker `C3 01`), decodes to itself, and encodes to the same bytes again (every node
///   must store the same bytes for the same event);
/// - bytes with another schema's fingerprint, and no bytes at all, are errors;
/// - the schema file under `schemas/` (`schema_file`) is the one compiled in
///   (`compiled`), so a reader without opentoken's code decodes what the node writes.
pub fn assert_event_codec<E: ModuleEvent + PartialEq + Debug>(variants: &[E], schema_file: &str, compiled: &str) {
    assert!(!variants.is_empty(), "no event to check");
    for e in variants {
        let bytes = e.encode().unwrap_or_else(|err| panic!("{e:?} does not encode: {err}"));
        assert_eq!(bytes.get(..2), Some(&[0xC3, 0x01][..]), "{e:?}: single-object marker");
        match E::decode(&bytes) {
            Ok(back) => assert_eq!(&back, e, "round trip"),
            Err(err) => panic!("{e:?} does not decode: {err}"),
        }
        let again = e.encode().unwrap_or_else(|err| panic!("{e:?} does not encode: {err}"));
        assert_eq!(again, bytes, "{e:?}: deterministic bytes");
    }
    assert!(
        E::decode(&[0xC3, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 1]).is_err(),
        "another schema's fingerprint decodes"
    );
    assert!(E::decode(b"").is_err(), "no bytes decode");
    let on_disk = std::fs::read_to_string(schema_file).unwrap_or_else(|err| panic!("cannot read {schema_file}: {err}"));
    assert_eq!(on_disk, compiled, "{schema_file} is not the schema compiled in");
}

/// Panics unless every one of `variants` encodes (`E::encode`, the codec's direct writer) to
/// the bytes `reference` gives for it (apache-avro's own writer): the direct writer must
/// never change what a node stores.
pub fn assert_writes_like<E: ModuleEvent + Debug>(variants: &[E], reference: impl Fn(&E) -> Vec<u8>) {
    for e in variants {
        let ours = e.encode().unwrap_or_else(|err| panic!("{e:?} does not encode: {err}"));
        assert_eq!(
            ours,
            reference(e),
            "{e:?}: the direct writer's bytes are not apache-avro's"
        );
    }
}
