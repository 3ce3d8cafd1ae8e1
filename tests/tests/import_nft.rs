//! `opentoken import-state` with the NFT module: a generated devnet-multisig run's NFT state
//! at block N, written in the reference's `/state` shapes (dex-nft-api §2.2: `sets` with
//! their `u` strings, `nfts/<owner>/<set>:<uid>`, `rnfts`, `ls`, `ah`, `ahh`, `am`, `lt`,
//! `nfts/t`, `fts/t`, `pfps`), imported into a chain that starts at N+1, gives the run's
//! NFT state key for key, with two exceptions that depend on history the reference does
//! not keep: the define block of a set and the listing block of a sale or reserved
//! transfer (0 when imported; an auction's is its end less its days), and the mint draw's
//! swap table (`perm/`: the imported one is the canonical table of the same unused uids,
//! which is compared instead), and the mint requests' counter (`mseq`: the reference
//! numbers none; it only seeds later draws). A following block of NFT ops (a transfer, a melt, a sale
//! of an imported listing) gives the same NFT state and the same balances on both.

use opentoken_core::engine::ErasedModule;
use opentoken_core::router::{RouteTable, Router};
use opentoken_core::test_utils::{custom_json, TestNet};
use opentoken_core::{Block, ChainSpec, HiveOp, ModuleState, StateRead};
use opentoken_e2e::pipeline::generate;
use opentoken_nft::keys::{Nft, Offer, Set};
use opentoken_nft::protocol::Currency;
use opentoken_nft::{b64, views, OfferKind};
use opentoken_token::keys::{self as tkeys, Bucket};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn route(spec: &ChainSpec, modules: &[Arc<dyn ErasedModule>], ops: &[HiveOp]) -> Vec<(String, Vec<HiveOp>)> {
    let tables: Vec<&dyn RouteTable> = modules.iter().map(|m| m.as_ref() as &dyn RouteTable).collect();
    let router = Router::new(spec, tables);
    let mut by_module: Vec<(String, Vec<HiveOp>)> = Vec::new();
    for op in ops {
        if let Some(m) = router.route(op) {
            match by_module.iter_mut().find(|(n, _)| n == m) {
                Some((_, list)) => list.push(op.clone()),
                None => by_module.push((m.to_string(), vec![op.clone()])),
            }
        }
    }
    by_module
}

fn run(net: &mut TestNet, spec: &ChainSpec, modules: &[Arc<dyn ErasedModule>], ops: &[HiveOp]) {
    let routed = route(spec, modules, ops);
    net.run_modules(routed.iter().map(|(m, o)| (m.as_str(), o.clone())).collect());
}

fn feed(net: &mut TestNet, spec: &ChainSpec, modules: &[Arc<dyn ErasedModule>], b: &Block) {
    assert_eq!(net.next_block(), b.num, "blocks in order");
    let ops: Vec<HiveOp> = b
        .transactions
        .iter()
        .flat_map(|t| t.operations.iter().cloned())
        .collect();
    run(net, spec, modules, &ops);
}

fn set_of(v: &[u8]) -> Set {
    serde_json::from_slice(v).expect("a set")
}

fn offer_of(v: &[u8]) -> Offer {
    serde_json::from_slice(v).expect("an offer")
}

fn nft_of(v: &[u8]) -> Nft {
    serde_json::from_slice(v).expect("an NFT")
}

fn sets(nft: &ModuleState) -> Vec<Set> {
    nft.scan_prefix(b"set/").map(|(_, v)| set_of(v)).collect()
}

fn offers(nft: &ModuleState) -> Vec<Offer> {
    nft.scan_prefix(b"off/").map(|(_, v)| offer_of(v)).collect()
}

/// `(set, uid, record)` of every NFT.
fn nfts(nft: &ModuleState) -> Vec<(String, String, Nft)> {
    nft.scan_prefix(b"nft/")
        .map(|(k, v)| {
            let k = std::str::from_utf8(&k[4..]).expect("utf8");
            let (set, uid) = k.split_once('/').expect("set/uid");
            (set.to_string(), uid.to_string(), nft_of(v))
        })
        .collect()
}

/// The uid indices of `set` the draw has not used: what its swap table means.
fn unused(nft: &ModuleState, set: &Set) -> BTreeSet<u64> {
    (0..set.uids().saturating_sub(set.minted))
        .map(|j| {
            nft.get(&opentoken_nft::keys::perm(&set.name, j))
                .map(|v| u64::from_be_bytes(v.try_into().expect("8 bytes")))
                .unwrap_or(j)
        })
        .collect()
}

fn s_of(last: u64) -> Value {
    json!({ "s": format!("{},", b64::from_number(last)) })
}

/// The NFT module's state (and the token's balances) as the reference's `/state` holds it.
fn reference_dump(nft: &ModuleState, token: &ModuleState, symbol: &str) -> Value {
    let mut s: Map<String, Value> = Map::new();
    let mut put = |path: &[&str], v: Value| opentoken_e2e::put_path(&mut s, path, v);
    for (k, v) in token.scan_prefix(Bucket::Liquid.prefix().as_bytes()) {
        let a = std::str::from_utf8(&k[Bucket::Liquid.prefix().len()..]).expect("utf8");
        put(&["balances", a], json!(tkeys::decode_u64(v).expect("an amount")));
    }
    let all = nfts(nft);
    for set in sets(nft) {
        // The `u` string: each holder's uids, then the melted ones.
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (_, uid, n) in all.iter().filter(|(s, ..)| *s == set.name) {
            let owner = if n.owner == "ah" && offers(nft).iter().any(|o| o.id == *uid && o.currency.is_coin()) {
                "hh".to_string()
            } else {
                n.owner.clone()
            };
            groups.entry(owner).or_default().push(uid.clone());
        }
        let free = unused(nft, &set);
        let live: BTreeSet<u64> = all
            .iter()
            .filter(|(s, ..)| *s == set.name)
            .map(|(_, u, _)| opentoken_nft::genesis::uid_index(&set, u).expect("a uid"))
            .collect();
        let melted: Vec<String> = (0..set.uids())
            .filter(|i| !free.contains(i) && !live.contains(i))
            .map(|i| opentoken_nft::chron::uid_of(&set, i).expect("uid"))
            .collect();
        assert_eq!(melted.len() as u64, set.melted);
        if !melted.is_empty() {
            groups.insert("D".into(), melted);
        }
        let u: String = groups
            .iter()
            .map(|(o, uids)| format!("{}_{o},", uids.join("_")))
            .collect();
        let ra = set.distro.as_ref().map(|d| {
            d.iter()
                .map(|(a, bp)| format!("{a}_{bp}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        let mut rec = json!({"a": set.author, "s": set.script, "i": b64::from_number(set.minted), "m": set.end,
            "o": set.start, "n": set.name, "nl": set.long_name, "r": set.royalty_bp, "t": set.kind,
            "e": set.handling, "p": set.permlink, "b": set.bond, "f": set.fee_held, "u": u, "d": set.melted});
        if let Some(ra) = ra {
            rec["ra"] = json!(ra);
        }
        if set.kind > 1 {
            rec["x"] = json!(set.exe_size);
            rec["y"] = json!(set.opt_size);
        }
        put(&["sets", &set.name], rec);
    }
    for (set, uid, n) in &all {
        if opentoken_core::account::is_valid_account_name(&n.owner) {
            put(&["nfts", &n.owner, &format!("{set}:{uid}")], s_of(n.last));
        }
    }
    for (k, v) in nft.scan_prefix(b"ft/") {
        let k = std::str::from_utf8(&k[3..]).expect("utf8");
        let (account, set) = k.split_once('/').expect("account/set");
        put(
            &["rnfts", set, account],
            json!(u64::from_be_bytes(v.try_into().expect("8 bytes"))),
        );
    }
    let h = |c: Currency| match c {
        Currency::Token => symbol.to_string(),
        c => c.as_str().to_string(),
    };
    for o in offers(nft) {
        let item = format!("{}:{}", o.set, o.id);
        let last = || {
            let n = nft_of(
                nft.get(&opentoken_nft::keys::nft(&o.set, &o.id))
                    .expect("the offered NFT"),
            );
            s_of(n.last)
        };
        let auction = |o: &Offer| {
            let mut a = json!({"p": o.price, "n": if o.buy_now > 0 { json!(o.buy_now) } else { json!("") },
                "t": o.days, "e": o.expires, "i": item, "q": format!("{}:Qm", o.expires), "o": o.seller, "c": o.bids});
            if o.high > 0 {
                a["b"] = json!(o.high);
                a["f"] = json!(o.bidder);
            }
            a
        };
        match o.kind {
            OfferKind::NftSale => put(
                &["ls", &item],
                json!({"p": o.price, "i": item, "o": o.seller, "h": h(o.currency), "nft": last()}),
            ),
            OfferKind::NftAuction => {
                let mut a = auction(&o);
                a["nft"] = last();
                if o.currency.is_coin() {
                    a["h"] = json!(o.currency.as_str());
                    put(&["ahh", &item], a);
                } else {
                    put(&["ah", &item], a);
                }
            }
            OfferKind::NftReserve => {
                let mut n = last();
                n["t"] = json!(format!("{}_{}_{}_{}", o.seller, o.to, o.price, o.currency.as_str()));
                put(&["nfts", "t", &item], n);
            }
            OfferKind::FtSale => put(&["lt", &item], json!({"p": o.price, "i": item, "o": o.seller})),
            OfferKind::FtAuction => put(&["am", &item], auction(&o)),
            OfferKind::FtReserve => put(
                &["fts", "t", &item],
                json!({"i": item, "t": format!("{}_{}_{}", o.seller, o.to, o.price)}),
            ),
        }
    }
    for (k, v) in nft.scan_prefix(b"pfp/") {
        let a = std::str::from_utf8(&k[4..]).expect("utf8");
        put(&["pfps", a], json!(String::from_utf8_lossy(v)));
    }
    json!({ "state": s })
}

type Comparable = (BTreeMap<Vec<u8>, Vec<u8>>, BTreeMap<String, BTreeSet<u64>>);

/// The NFT state with what depends on history the reference does not keep set aside:
/// sets' define blocks, sales' and reserved transfers' listing blocks (0 on import), the
/// swap table (compared as the unused uids), the mint request counter `mseq`.
fn comparable(nft: &ModuleState) -> Comparable {
    let mut out = BTreeMap::new();
    for (k, v) in nft.iter() {
        if k.starts_with(b"perm/") || k == b"mseq" {
            continue;
        }
        let v = if k.starts_with(b"set/") {
            let mut s = set_of(v);
            s.block = 0;
            serde_json::to_vec(&s).expect("json")
        } else if k.starts_with(b"off/") {
            let mut o = offer_of(v);
            if !o.kind.is_auction() {
                o.block = 0;
            }
            serde_json::to_vec(&o).expect("json")
        } else {
            v.to_vec()
        };
        out.insert(k.to_vec(), v);
    }
    let free = sets(nft).iter().map(|s| (s.name.clone(), unused(nft, s))).collect();
    (out, free)
}

fn op(spec: &ChainSpec, from: &str, name: &str, body: Value) -> HiveOp {
    custom_json(&format!("{}{name}", spec.prefix), &[from], &[], &body.to_string())
}

#[test]
fn an_imported_nft_state_equals_the_run_and_answers_the_next_ops_alike() {
    let spec = (*opentoken_e2e::devnet_multisig_spec()).clone();
    let modules = opentoken_registry::modules(&spec).expect("modules");
    let blocks = generate(&spec, 7, 1_200);
    let mut original = TestNet::new(spec.clone(), modules.clone());
    // N: the first block after 300 where the run holds sets, NFTs in accounts and a TOKEN
    // sale, with no mint waiting for its draw, no HIVE/HBD bid (both not carried) and no
    // message between modules in flight (the reference has none: its state is settled).
    let mut n = None;
    for b in &blocks {
        feed(&mut original, &spec, &modules, b);
        let nft = original.state("nft");
        let held = nfts(nft)
            .iter()
            .filter(|(_, _, x)| opentoken_core::account::is_valid_account_name(&x.owner))
            .count();
        let os = offers(nft);
        let sale = os
            .iter()
            .any(|o| o.kind == OfferKind::NftSale && o.currency == Currency::Token);
        let coin_bid = os.iter().any(|o| o.currency.is_coin() && o.high > 0);
        let settled = original.pending_messages().is_empty();
        if b.num > 300 && held >= 2 && sale && !coin_bid && settled && nft.scan_prefix(b"mintq/").next().is_none() {
            n = Some(b.num);
            break;
        }
    }
    let n = n.expect("the generated run reaches an NFT state with sales and held NFTs");
    let (nft, token) = (original.state("nft").clone(), original.state("token").clone());
    assert!(!offers(&nft).is_empty() && nft.scan_prefix(b"ft/").next().is_some());

    let dump = reference_dump(&nft, &token, &spec.token);
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(opentoken_e2e::paths::repo_root().join("infra/chains/devnet-multisig.json"))
            .expect("spec"),
    )
    .expect("json");
    let imported = opentoken_import::import_state(&dump, n, &base).expect("the dump imports");
    let spec_n = ChainSpec::from_json(&imported.spec.to_string()).expect("a valid spec");
    let modules_n = opentoken_registry::modules(&spec_n).expect("the imported genesis is accepted");
    let mut resumed = TestNet::new(spec_n.clone(), modules_n.clone());
    assert_eq!(resumed.next_block(), n + 1);
    let (got, want) = (comparable(resumed.state("nft")), comparable(&nft));
    let diff: Vec<String> = got
        .0
        .iter()
        .filter(|(k, v)| want.0.get(*k) != Some(*v))
        .map(|(k, v)| format!("+ {} {}", String::from_utf8_lossy(k), String::from_utf8_lossy(v)))
        .chain(
            want.0
                .iter()
                .filter(|(k, v)| got.0.get(*k) != Some(*v))
                .map(|(k, v)| format!("- {} {}", String::from_utf8_lossy(k), String::from_utf8_lossy(v))),
        )
        .take(20)
        .collect();
    assert!(
        diff.is_empty() && got.1 == want.1,
        "the imported NFT state differs from the run's: {diff:#?}"
    );
    let held = opentoken_nft::held_matches(&nft).expect("consistent");
    assert_eq!(
        opentoken_core::counter::read(resumed.state("token"), tkeys::NFT_ESCROW),
        held
    );
    for (k, v) in token.scan_prefix(b"nftp/") {
        assert_eq!(resumed.state("token").get(k), Some(v), "the price mirror");
    }

    // The next block: a transfer, a melt, a purchase of an imported sale.
    let mut accounts: Vec<(String, String, String)> = nfts(&nft)
        .into_iter()
        .filter(|(_, _, x)| opentoken_core::account::is_valid_account_name(&x.owner))
        .map(|(s, u, x)| (x.owner, s, u))
        .collect();
    accounts.sort();
    let (giver, gset, guid) = accounts[0].clone();
    let (melter, mset, muid) = accounts
        .iter()
        .find(|(_, s, u)| (s, u) != (&gset, &guid))
        .cloned()
        .expect("a second NFT");
    let sale = offers(&nft)
        .into_iter()
        .find(|o| o.kind == OfferKind::NftSale && o.currency == Currency::Token)
        .expect("a sale");
    let buyer = ["alice", "bob", "carol", "dave", "erin"]
        .into_iter()
        .find(|a| *a != sale.seller && tkeys::amount(&token, format!("bal/{a}").as_bytes()) >= sale.price)
        .expect("a buyer who can pay");
    let next = vec![
        op(
            &spec,
            &giver,
            "nft_transfer",
            json!({"set": gset, "uid": guid, "to": "judy"}),
        ),
        op(&spec, &melter, "nft_melt", json!({"set": mset, "uid": muid})),
        op(&spec, buyer, "nft_buy", json!({"set": sale.set, "uid": sale.id})),
    ];
    for net in [&mut original, &mut resumed] {
        run(net, &spec, &modules, &next);
        net.idle_until(n + 3);
    }
    let (a, b) = (original.state("nft"), resumed.state("nft"));
    assert_eq!(views::nft(a, &gset, &guid).map(|x| x.owner), Some("judy".into()));
    assert_eq!(views::nft(a, &mset, &muid), None, "melted");
    assert_eq!(
        views::nft(a, &sale.set, &sale.id).map(|x| x.owner),
        Some(buyer.to_string())
    );
    assert!(comparable(a) == comparable(b), "the next block's NFT state differs");
    let mut who: BTreeSet<String> = [giver, melter, buyer.to_string(), sale.seller.clone()].into();
    if let Some(s) = views::set(a, &sale.set) {
        who.insert(s.author.clone());
        who.extend(s.distro.unwrap_or_default().into_iter().map(|(x, _)| x));
    }
    for acct in who {
        let key = format!("bal/{acct}").into_bytes();
        let was = tkeys::amount(&token, &key);
        assert_eq!(
            tkeys::amount(resumed.state("token"), &key).wrapping_sub(was),
            tkeys::amount(original.state("token"), &key).wrapping_sub(was),
            "@{acct}'s balance change in the next block"
        );
    }
    assert_eq!(
        opentoken_core::counter::read(resumed.state("token"), tkeys::NFT_ESCROW),
        opentoken_core::counter::read(original.state("token"), tkeys::NFT_ESCROW)
    );
}
