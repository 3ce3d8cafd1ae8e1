//! The record codec on the hot path: every block record the ingester publishes and the
//! processors read, every op status and event the processors store. `cargo bench -p
//! opentoken-codec` (or `make bench-codec`); the figures go in the README with the command.
//! The "via values" cases are the schema-driven path (an Avro `Value` tree, then
//! apache-avro's schema walk) that the purpose-written writers and readers replaced.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use opentoken_codec::{
    decode_block_record, decode_event_record, decode_op_status, encode_block_record, encode_event_record,
    encode_op_status,
};

#[path = "../tests/common/mod.rs"]
mod common;

fn codec(c: &mut Criterion) {
    let (blocks, _, event, statuses, _) = common::samples();
    let block = &blocks[0];
    let status = &statuses[0];
    let block_bytes = encode_block_record(block);
    let event_bytes = encode_event_record(&event);
    let status_bytes = encode_op_status(status);
    let mut g = c.benchmark_group("codec");
    g.bench_function("block record (4 ops) encode", |b| {
        b.iter(|| encode_block_record(black_box(block)))
    });
    g.bench_function("block record (4 ops) decode", |b| {
        b.iter(|| decode_block_record(black_box(&block_bytes)))
    });
    // The schema-driven path the purpose-written one replaced, for the ratio.
    g.bench_function("block record (4 ops) encode via values", |b| {
        b.iter(|| opentoken_codec::encode_block_record_via_values(black_box(block)))
    });
    g.bench_function("block record (4 ops) decode via values", |b| {
        b.iter(|| opentoken_codec::decode_block_record_via_values(black_box(&block_bytes)))
    });
    g.bench_function("event record encode", |b| {
        b.iter(|| encode_event_record(black_box(&event)))
    });
    g.bench_function("event record decode", |b| {
        b.iter(|| decode_event_record(black_box(&event_bytes)))
    });
    g.bench_function("op status encode", |b| b.iter(|| encode_op_status(black_box(status))));
    g.bench_function("op status decode", |b| {
        b.iter(|| decode_op_status(black_box(&status_bytes)))
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
