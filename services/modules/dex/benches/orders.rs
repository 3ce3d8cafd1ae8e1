//! Order ops per second through the DEX state machine alone: escrowed orders (as the token
//! and multisig modules send them) decided, applied and their messages built, on one core.
//!
//! `cargo bench -p opentoken-dex --bench orders`

use opentoken_core::{ChainPos, ChainSpec, Input, Message, Module, ModuleEvent, ModuleState, OpContext, StateRead};
use opentoken_dex::protocol::{KIND_ORDER, MULTISIG, TOKEN};
use opentoken_dex::{DexModule, OrderIn, Pair, Payout, Side};
use std::time::Instant;

fn spec() -> ChainSpec {
    let mut s: ChainSpec = serde_json::from_value(serde_json::json!({
        "name": "bench", "prefix": "dlux_", "token": "DLUX", "precision": 3, "starting_block": 1,
        "leader": "dlux-io", "msaccount": "dlux-cc", "delegation_account": "dlux-io"
    }))
    .expect("spec");
    s.modules.insert("dex".into(), serde_json::json!({}));
    s
}

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn main() {
    let n: u64 = std::env::args()
        .skip_while(|a| a != "--orders")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let spec = spec();
    let m = DexModule::from_spec(&spec).expect("module");
    let mut rng = Rng(7);
    let accounts: Vec<String> = (0..200).map(|i| format!("trader{i}")).collect();
    let orders: Vec<(Message, u64)> = (0..n)
        .map(|i| {
            let bid = rng.next().is_multiple_of(2);
            let from = accounts[(rng.next() % 200) as usize].clone();
            // Prices around 0.1 with a spread, 1 in 10 a market order.
            let price = if rng.next().is_multiple_of(10) {
                0
            } else {
                90_000 + (rng.next() % 20_001)
            };
            let amount = 1_000 + rng.next() % 50_000;
            let block = 10 + i / 20;
            let o = OrderIn {
                id: format!("DLUX{i:012}"),
                from,
                pair: if rng.next().is_multiple_of(4) {
                    Pair::Hbd
                } else {
                    Pair::Hive
                },
                side: if bid { Side::Bid } else { Side::Ask },
                amount,
                price,
                expires: block + 864_000,
                payout: Payout::L2,
                txid: format!("{i:040x}"),
                block,
                time: 1_700_000_000 + block * 3,
            };
            let msg = Message {
                from: if bid { MULTISIG } else { TOKEN }.into(),
                to: "dex".into(),
                pos: ChainPos::new(block - 1, 0, 0),
                seq: 0,
                kind: KIND_ORDER.into(),
                payload: serde_json::to_string(&o).expect("json"),
            };
            (msg, block + 1)
        })
        .collect();
    let mut state = ModuleState::new();
    let (mut events, mut messages, mut bytes) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for (msg, block) in &orders {
        let ctx = OpContext {
            pos: ChainPos::new(*block, 0, 0),
            txid: "",
            timestamp: 0,
            spec: &spec,
        };
        let decided = m.handle(&ctx, Input::Message(msg), &state).expect("order");
        for e in &decided {
            m.apply(e, &mut state).expect("apply");
            messages += m.messages(e).len() as u64;
            if std::env::var_os("NO_ENCODE").is_none() {
                bytes += e.encode().expect("encode").len() as u64;
            }
        }
        events += decided.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    let resting = state.scan_prefix(b"ord/").count();
    println!(
        "dex state machine: {n} orders in {secs:.2} s = {:.0} orders/s ({events} events, {messages} messages, {} KiB of events, {resting} resting at the end)",
        n as f64 / secs,
        bytes / 1024
    );
}
