//! A hand-written dump in the reference's shapes (dex-nft-api §2.2), imported into the
//! devnet-multisig chain, gives an NFT module whose views show exactly its sets, owners,
//! mint tokens, offers and profile pictures, with the token's NFT escrow equal to what the
//! module holds and in the supply; what cannot be carried is reported, what is malformed
//! refused by path.

use super::*;
use crate::{import_state, ImportError};
use opentoken_core::test_utils::TestNet;
use opentoken_core::ChainSpec;
use opentoken_nft::views;

fn base(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/chains/");
    serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).expect("spec")).expect("json")
}

fn dump() -> Value {
    json!({"state": {
        "balances": {"alice": 1_000, "dave": 300, "bob": 50},
        "sets": {
            "art": {"a": "alice", "s": "QmScript", "i": "5", "m": "0A", "o": "00", "n": "art", "nl": "Art",
                    "r": 500, "t": 1, "e": "svg", "p": "art-post", "b": 100, "f": 0,
                    "u": "01_alice,02_ls,03_D,04_ah,05_hh,", "d": 1, "ra": "alice_6000,bob_4000"},
            "pix": {"a": "bob", "s": "QmPix", "i": "0", "m": "Z", "o": "0", "n": "pix", "r": 0, "t": 1,
                    "e": "img", "p": "pix-post", "b": 0, "f": 40_000, "u": "", "d": 0, "ra": "bob_5000,d_5000"},
        },
        "nfts": {"alice": {"art:01": {"s": "F0,"}}},
        "rnfts": {"art": {"alice": 3, "erin": 2}, "pix": {"bob": 10}},
        "ls": {"art:02": {"p": 2_000, "i": "art:02", "o": "bob", "h": "DLUX", "nft": {"s": "G1,"}}},
        "ah": {"art:04": {"p": 500, "n": "", "t": 7, "e": 5_000, "i": "art:04", "q": "5000:Qmq", "o": "carol",
                          "c": 2, "b": 700, "f": "dave", "nft": {"s": "H2,"}}},
        "ahh": {"art:05": {"p": 1_000, "n": "", "t": 3, "e": 4_000, "i": "art:05", "q": "4000:Qmh", "o": "erin",
                           "c": 1, "b": 5_000, "f": "frank", "h": "HIVE", "nft": {"s": "A,"}}},
        "lt": {"pix:QmSale1": {"p": 300, "i": "pix:QmSale1", "o": "bob"}},
        "lth": {"pix:QmLth": {"h": 1_000, "b": 0, "q": 3, "d": "bob_10000", "o": "bob", "i": "pix:QmLth", "e": false}},
        "pfps": {"alice": "art:01"},
        "div": {"art": {"p": 30_000, "s": "art", "b": 0}},
    }})
}

#[test]
fn sets_nfts_fts_offers_and_pfps_are_the_imported_modules_state() {
    let ok = import_state(&dump(), 1_000, &base("devnet-multisig.json")).expect("imports");
    let reported: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
    for want in ["ahh/art:05", "lth/pix:QmLth", "div/art", "sets/pix/ra"] {
        assert!(reported.contains(&want), "{want} not reported: {reported:?}");
    }
    // art: 900 of bonds (9 tokens and NFTs not melted); pix: its 40,000 fee; dave's bid.
    let held = 900 + 40_000 + 700;
    assert_eq!(ok.supply, 1_350 + held);
    assert_eq!(ok.spec["modules"]["token"]["genesis"]["nft"]["escrow"], held);

    let spec = ChainSpec::from_json(&ok.spec.to_string()).expect("a valid spec");
    let modules = opentoken_registry::modules(&spec).expect("the imported genesis is accepted");
    let net = TestNet::new(spec, modules);
    let (nft, token) = (net.state("nft"), net.state("token"));

    let art = views::set(nft, "art").expect("art");
    assert_eq!(
        (
            art.author.as_str(),
            art.minted,
            art.melted,
            art.total,
            art.bond,
            art.royalty_bp
        ),
        ("alice", 5, 1, 10, 100, 500)
    );
    assert_eq!(art.distro, Some(vec![("alice".into(), 6_000), ("bob".into(), 4_000)]));
    let pix = views::set(nft, "pix").expect("pix");
    assert_eq!((pix.fee_held, pix.total, pix.minted), (40_000, 14, 0));
    assert_eq!(
        pix.distro,
        Some(vec![("bob".into(), 10_000)]),
        "the dividend share to the author"
    );
    let owner = |uid: &str| views::nft(nft, "art", uid).map(|n| (n.owner, n.last));
    assert_eq!(owner("01"), Some(("alice".into(), 960)));
    assert_eq!(owner("02"), Some(("ls".into(), 1_025)));
    assert_eq!(owner("04"), Some(("ah".into(), 1_090)));
    assert_eq!(
        owner("05"),
        Some(("erin".into(), 10)),
        "the HIVE auction closed: back to its seller"
    );
    assert_eq!(owner("03"), None, "melted");
    assert_eq!(views::account_nfts(nft, "erin", 10), vec![("art".into(), "05".into())]);
    assert_eq!(views::account_fts(nft, "alice", 10), vec![("art".into(), 3)]);
    assert_eq!(views::account_fts(nft, "bob", 10), vec![("pix".into(), 13)]);
    assert_eq!(views::pfp(nft, "alice"), Some(("art".into(), "01".into())));
    let auction = views::offer(nft, OfferKind::NftAuction, "art", "04").expect("the auction");
    assert_eq!(
        (
            auction.seller.as_str(),
            auction.high,
            auction.bidder.as_str(),
            auction.bids,
            auction.expires
        ),
        ("carol", 700, "dave", 2, 5_000)
    );
    let sale = views::offer(nft, OfferKind::FtSale, "pix", "QmSale1").expect("the mint-token sale");
    assert_eq!((sale.seller.as_str(), sale.price), ("bob", 300));
    assert_eq!(opentoken_nft::held_matches(nft).expect("consistent"), held);
    assert_eq!(opentoken_core::counter::read(token, b"tot/nft"), held);
    assert_eq!(opentoken_core::counter::read(token, b"sup"), 1_350 + held);
    assert_eq!(
        opentoken_core::counter::read(token, b"nftp/ls/art:02"),
        2_000,
        "the sale's price mirrored"
    );
    assert_eq!(opentoken_core::counter::read(token, b"nftp/lt/pix:QmSale1"), 300);
}

#[test]
fn malformed_nft_paths_are_refused_with_their_paths() {
    let mut d = dump();
    let s = &mut d["state"];
    s["nfts"]["alice"]["art:0Z"] = json!({"s": "F0,"});
    s["nfts"]["Not_An_Account"] = json!({"art:06": {"s": "F0,"}});
    s["nfts"]["bob"] = json!({"nope:01": {"s": "F0,"}});
    s["sets"]["art"]["b"] = json!(1.5);
    let Err(ImportError::Refused(f)) = import_state(&d, 1_000, &base("devnet-multisig.json")) else {
        panic!("refused")
    };
    let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "nfts/alice/art:0Z",
        "nfts/Not_An_Account",
        "nfts/bob/nope:01",
        "sets/art/b",
    ] {
        assert!(paths.contains(&want), "{want} not refused: {paths:?}");
    }
}

/// Counts that do not add up (an NFT the `u` string says nothing of while `i` counts 5)
/// are refused: the module could not have made that state.
#[test]
fn a_set_whose_counts_do_not_add_up_is_refused() {
    let mut d = dump();
    d["state"]["nfts"]["alice"]["art:06"] = json!({"s": "F0,"});
    let Err(ImportError::Refused(f)) = import_state(&d, 1_000, &base("devnet-multisig.json")) else {
        panic!("refused")
    };
    assert!(f.iter().any(|f| f.path == "sets" && f.why.contains("minted")), "{f:?}");
}

#[test]
fn without_an_nft_module_every_nft_path_is_reported() {
    let ok = import_state(&dump(), 1_000, &base("devnet.json")).expect("imports");
    let reported: Vec<&str> = ok.not_imported.iter().map(|f| f.path.as_str()).collect();
    for want in ["sets", "nfts", "rnfts", "ls", "ah", "ahh", "lt", "lth", "pfps", "div"] {
        assert!(reported.contains(&want), "{want} not reported: {reported:?}");
    }
    assert_eq!(ok.supply, 1_350);
    assert!(ok.spec.pointer("/modules/nft").is_none());
}
