//! The state commitment on the hot path: every changed key costs two elements (the old
//! pair out, the new one in) at the next fold. `cargo bench -p opentoken-core --bench
//! commitment` (or `make bench-commitment`). The v1 element is measured beside v2 because
//! that comparison chose v2 (`docs/architecture.md`, "State commitment").

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use opentoken_core::commitment::{v1_element, v2_element, Delta, LtHash};
use opentoken_core::state::{ModuleState, StateWrite};

fn commitment(c: &mut Criterion) {
    let key = b"bal/some-hive-account";
    let value = 123_456_789u64.to_be_bytes();
    let mut g = c.benchmark_group("commitment");
    g.bench_function("element v1 (SHA-512 counter mode)", |b| {
        b.iter(|| v1_element(black_box(key), black_box(&value)))
    });
    g.bench_function("element v2 (SHA-256 seed + ChaCha20)", |b| {
        b.iter(|| v2_element(black_box(key), black_box(&value)))
    });
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..1_000u64)
        .map(|i| (format!("bal/account-{i}").into_bytes(), i.to_be_bytes().to_vec()))
        .collect();
    // A commit's fold: 1,000 changed keys = 1,000 removals and 1,000 additions.
    let deltas: Vec<Delta<'_>> = pairs
        .iter()
        .flat_map(|(k, v)| [Delta::Remove(k, v), Delta::Add(k, v)])
        .collect();
    g.bench_function("fold 1,000 changed keys (2,000 elements)", |b| {
        b.iter(|| {
            let mut h = LtHash::new();
            h.apply(black_box(&deltas));
            h
        })
    });
    g.bench_function("state: 1,000 puts then commitment", |b| {
        b.iter_batched(
            || ModuleState::from_pairs(pairs.iter().cloned().collect()),
            |mut state| {
                for (k, v) in &pairs {
                    let mut v = v.clone();
                    v.push(1);
                    state.put(k.clone(), v);
                }
                state.commitment()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, commitment);
criterion_main!(benches);
