//! The .avsc files on disk are exactly the schemas the code writes and reads, any Avro reader
//! decodes our records with them, and published fingerprints never disappear.

mod common;

use apache_avro::Schema;
use opentoken_codec::single_object::fingerprint;
use opentoken_codec::*;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn disk_schema(path: &str) -> Schema {
    let text = std::fs::read_to_string(repo_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    Schema::parse_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

#[test]
fn disk_files_are_the_compiled_schemas() {
    for f in schema_files() {
        let disk = disk_schema(f.path);
        let compiled = Schema::parse_str(f.text).unwrap();
        assert_eq!(
            disk.canonical_form(),
            compiled.canonical_form(),
            "{} differs from the build",
            f.path
        );
    }
    // The current schema of each codec is the file marked current.
    let current: Vec<u64> = schema_files()
        .iter()
        .filter(|f| f.current)
        .map(|f| fingerprint(&disk_schema(f.path)))
        .collect();
    let codecs = [
        block_record_codec(),
        message_codec(),
        event_record_codec(),
        op_status_codec(),
        report_codec(),
    ];
    for c in codecs {
        assert!(
            current.contains(&c.fingerprint()),
            "{} writes with a schema not on disk",
            c.what()
        );
        assert_eq!(c.schema().canonical_form(), disk_schema_for(c).canonical_form());
    }
}

fn disk_schema_for(c: &SingleObjectCodec) -> Schema {
    schema_files()
        .iter()
        .filter(|f| f.current)
        .map(|f| disk_schema(f.path))
        .find(|s| fingerprint(s) == c.fingerprint())
        .unwrap()
}

#[test]
fn every_schema_file_on_disk_is_known() {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "avsc") {
                out.push(
                    p.strip_prefix(repo_root())
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    let mut found = Vec::new();
    walk(&repo_root().join("schemas"), &mut found);
    let listed: Vec<&str> = schema_files().iter().map(|f| f.path).collect();
    for f in &found {
        // Module event schemas (and their older versions under history/) belong to their
        // module crates, which check them.
        let module_event = f.ends_with("_event.avsc") || (f.starts_with("schemas/history/") && f.contains("_event.v"));
        if module_event && !f.contains("state_event") {
            continue;
        }
        assert!(listed.contains(&f.as_str()), "{f} is on disk but not in schema_files()");
    }
    for l in listed {
        assert!(found.iter().any(|f| f == l), "{l} is listed but missing on disk");
    }
}

/// A plain Avro reader with only the .avsc file decodes our bytes: strip the 10-byte header,
/// check its fingerprint against the file, and decode the datum.
fn foreign_decode(path: &str, bytes: &[u8]) -> apache_avro::types::Value {
    let schema = disk_schema(path);
    assert_eq!(&bytes[..2], &[0xC3, 0x01]);
    assert_eq!(
        u64::from_le_bytes(bytes[2..10].try_into().unwrap()),
        fingerprint(&schema),
        "{path}"
    );
    let mut datum = &bytes[10..];
    let v = apache_avro::from_avro_datum(&schema, &mut datum, None).unwrap();
    assert!(datum.is_empty());
    assert!(v.validate(&schema));
    v
}

#[test]
fn any_avro_reader_decodes_our_records_with_the_schema_files() {
    let (blocks, msg, ev, statuses, report) = common::samples();
    for b in &blocks {
        foreign_decode("schemas/block_record.avsc", &encode_block_record(b));
    }
    foreign_decode("schemas/module_message.avsc", &encode_message(&msg));
    foreign_decode("schemas/state_event.avsc", &encode_event_record(&ev));
    for s in &statuses {
        foreign_decode("schemas/op_status.avsc", &encode_op_status(s));
    }
    let v = foreign_decode("schemas/report.avsc", &encode_report(&report));
    let apache_avro::types::Value::Record(fields) = v else {
        panic!("not a record")
    };
    assert_eq!(
        fields[0],
        (
            "community".to_string(),
            apache_avro::types::Value::String("dlux".into())
        )
    );
}

/// Every fingerprint ever published. Removing one makes records already on topics and in
/// stores undecodable: keep old schemas in schemas/history instead.
const PUBLISHED: &[(&str, u64)] = &[
    ("block record", 0xb278_b7c4_9b0a_d962),
    ("block record", 0x8499_b8b5_2d4f_a08c), // schemas/history/block_record.v1.avsc
    ("module message", 0x238b_10a1_d93b_768e),
    ("state event", 0xb547_ea99_42c5_c383),
    ("op status", 0x9c87_e5e6_c92b_8d0e),
    ("report", 0x09bd_f7ab_974b_b72d),
];

#[test]
fn published_fingerprints_stay_decodable() {
    let all: Vec<(&str, u64)> = [
        block_record_codec(),
        message_codec(),
        event_record_codec(),
        op_status_codec(),
        report_codec(),
    ]
    .iter()
    .flat_map(|c| c.known_fingerprints().into_iter().map(move |f| (c.what(), f)))
    .collect();
    for (what, fp) in PUBLISHED {
        assert!(
            all.contains(&(*what, *fp)),
            "{what} schema {fp:016x} was published but is no longer known"
        );
    }
    assert_eq!(
        all.len(),
        PUBLISHED.len(),
        "new schema version: add it to PUBLISHED: {all:x?}"
    );
}

/// The module event schemas (`schemas/<module>_event.avsc` and their history) by
/// fingerprint. A module's events are decoded by its own crate, which tests that its
/// history reads old records; this list catches the step before that: a schema edited in
/// place, whose previous version then has no file any more and whose records on topics and
/// in stores no node can read. Changing a module's event schema: copy the published file
/// to `schemas/history/<module>_event.v<N>.avsc`, add it to the module's codec history,
/// and add the new fingerprint here. (Documentation, aliases and defaults are not part
/// of the fingerprint: editing them needs no new version.)
const PUBLISHED_MODULE_EVENTS: &[(&str, u64)] = &[
    ("dex event", 0x4716_0fbe_d3f3_c64f), // history v1
    ("dex event", 0xa483_baf1_4035_0d0d),
    ("guestbook event", 0x22bf_368b_08ef_8c76),
    ("multisig event", 0x98be_aa70_9a36_ac0c), // history v1
    ("multisig event", 0xf6e4_f9e0_b1ca_c042), // history v2
    ("multisig event", 0x8c14_e77a_514f_f8f6), // history v3
    ("multisig event", 0x857e_c32e_cc90_4550), // history v4
    ("multisig event", 0x6896_b8fa_5fe4_80e2), // history v5
    ("multisig event", 0x74c9_b07f_5b9e_ede0), // history v6
    ("multisig event", 0x16ea_f83f_fd68_de89),
    ("nft event", 0x3962_541c_aadb_feba), // history v1
    ("nft event", 0xe279_17fb_2c0a_ec75),
    ("nodes event", 0x4e7a_d5a4_40d6_1029), // history v1
    ("nodes event", 0x12a4_a307_76f9_b2ab), // history v2
    ("nodes event", 0x2acb_7897_c4e4_f999), // history v3
    ("nodes event", 0xb81b_46ea_cf17_1b67), // history v4
    ("nodes event", 0xa0cd_de9f_f422_372e),
    ("token event", 0xcb66_f2b9_6758_a9eb), // history v1
    ("token event", 0xe133_bc77_19e6_5d35), // history v2
    ("token event", 0xdb4b_713d_e47a_af74), // history v3
    ("token event", 0xd2fb_c451_2c4c_90a5), // history v4
    ("token event", 0x98db_1ae6_a784_e1a3), // history v5
    ("token event", 0x863a_b540_5e9e_41ad), // history v6
    ("token event", 0xcd09_1843_0ddb_e770), // history v7
    ("token event", 0xb0b5_bf5a_9455_0ffc), // history v8
    ("token event", 0xd76a_1bfe_7cd1_3a1a), // history v9
    ("token event", 0x9587_2c26_b8b6_a1f5),
];

#[test]
fn module_event_schemas_are_never_edited_in_place() {
    let mut on_disk = Vec::new();
    for dir in ["schemas", "schemas/history"] {
        for e in std::fs::read_dir(repo_root().join(dir)).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            let event = name.ends_with("_event.avsc") || name.contains("_event.v");
            if event && !name.starts_with("state_event") {
                let path = format!("{dir}/{name}");
                on_disk.push((path.clone(), fingerprint(&disk_schema(&path))));
            }
        }
    }
    on_disk.sort();
    for (name, fp) in PUBLISHED_MODULE_EVENTS {
        assert!(
            on_disk.iter().any(|(_, f)| f == fp),
            "{name} ({fp:016x}) was published and no schema file has it any more: restore it under schemas/history/"
        );
    }
    for (path, fp) in &on_disk {
        assert!(
            PUBLISHED_MODULE_EVENTS.iter().any(|(_, f)| f == fp),
            "{path} ({fp:#x}) is a new module event schema version: keep the one it replaces in schemas/history/ and add it to PUBLISHED_MODULE_EVENTS; all on disk: {on_disk:#x?}"
        );
    }
}
