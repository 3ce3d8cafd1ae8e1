//! Generated NFT traffic: set definitions, mint-token redemptions (`nft_mint`), gifts and
//! airdrops of mint tokens, gifts and melts of NFTs, sales, auctions and reserved transfers
//! of both (opened, bought, bid on, completed, cancelled), and invalid ops of every kind the
//! modules must refuse or refund (wrong owner, unknown uid, bad amounts, wrong authority).
//!
//! A valid op needs to know what exists: which sets, who holds which mint tokens, which uids
//! were drawn and who owns them, which offers are open. [`NftShadow`] keeps that as the
//! modules will have it, from the ops this traffic generated as valid only (an invalid one
//! changes nothing there): the sets it defined, the mint requests it made (numbered as the
//! module numbers them, with their transaction ids once the block is sealed) and, at each
//! checkpoint block the simulator seals, the module's own uid draw with that block's id
//! ([`opentoken_nft::chron`]). A payment settles a block after its op (the token module
//! escrows it, the NFT module settles when the message arrives) and what it pays out a
//! block after that, so the shadow uses an item or an amount only from the block where it
//! is its new holder's on chain, and touches an offer at most once per block.
//!
//! Deterministic: a function of (seed, block, the earlier blocks' generated traffic and
//! their ids). Bounded: at most [`MAX_SETS`] sets of at most 48 uids and [`MAX_NFTS`] NFTs
//! are tracked; a set whose every uid was minted and melted is forgotten.
//!
//! What it cannot see: tokens other traffic moves. An account spends on NFTs only its
//! budget (a share of its genesis balance, [`NftTraffic::budgets`], plus what NFT sales
//! and refunds paid it back); on a chain whose other traffic drains an account below that,
//! a purchase the shadow counts as made is refused and the item stays with its seller,
//! where later ops of the shadow's on it are refused too. User broadcasts of `nft_mint`
//! shift the request numbers, and so the uids, the same way.

use crate::traffic::{Rng, TrafficConfig};
use opentoken_core::{Block, ChainPos, ChainSpec, CustomJsonOp, HiveOp, OpContext};
use opentoken_nft::chron::{draw, seed, uid_of};
use opentoken_nft::keys::Set;
use opentoken_nft::royalty::royalties;
use opentoken_nft::{b64, define, offer_id, NftConfig, OfferKind};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The most sets the shadow tracks (a forgotten set frees its place).
pub const MAX_SETS: usize = 6;
/// Sets the traffic defines early on, whatever their supply.
const MIN_SETS: usize = 3;
/// Below this many mint tokens in hand, a new set is defined (up to [`MAX_SETS`]).
const LOW_SUPPLY: u64 = 10;
/// Sets are defined only in the traffic's first this many blocks.
const DEFINE_WINDOW: u64 = 400;
/// The most NFTs minted and not melted (or waiting for their draw) the shadow tracks.
pub const MAX_NFTS: u64 = 256;
/// NFTs are melted only while more than this many are minted and not melted (or waiting
/// for their draw), so a long run keeps NFTs to trade after its sets are all minted.
const MELT_FLOOR: u64 = 48;
/// The most auctions open at once: an auction holds its item for a day of blocks, so
/// without a bound every item would end up in one and bids would be all that is left.
const MAX_AUCTIONS: usize = 8;
/// The most bids the traffic places on one auction.
const MAX_BIDS: u64 = 4;
/// Each account spends on NFTs at most this fraction of its genesis balance: the other
/// traffic spends the rest.
pub const BUDGET_SHARE: u64 = 4;
/// A uid no set of this traffic has (its sets' uids are one symbol long).
const UNKNOWN_UID: &str = "========";
/// A set name the traffic never defines (its sets are `sim<n>`).
const UNKNOWN_SET: &str = "no-such-set";

/// What the traffic must know of a chain's NFT module to trade on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftTraffic {
    /// The module's parameters (fees, blocks per day, mints per checkpoint).
    pub cfg: NftConfig,
    /// Mints are drawn at checkpoint blocks.
    pub checkpoint_interval: u64,
    /// What each account may spend on NFTs from genesis, in the token's base units.
    pub budgets: BTreeMap<String, u64>,
    /// NFT transactions per block: `None` the devnet's mix (0 to 3, about 1.5), `Some(n)`
    /// exactly `n` (`opentoken bench --mix nft`).
    pub per_block: Option<u32>,
}

impl NftTraffic {
    /// The traffic of a chain whose spec runs the NFT module (`modules.nft`), with budgets
    /// of a [`BUDGET_SHARE`]th of each token genesis balance; `None` when it runs none (or
    /// its section is invalid: such a chain does not start).
    pub fn from_spec(spec: &ChainSpec) -> Option<Self> {
        let cfg = NftConfig::from_spec(spec).ok().flatten()?;
        let budgets = spec
            .module_config("token")
            .and_then(|t| t.get("genesis"))
            .and_then(|g| g.get("balances"))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(a, v)| Some((a.clone(), v.as_u64()? / BUDGET_SHARE)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            cfg,
            checkpoint_interval: spec.checkpoint_interval.max(1),
            budgets,
            per_block: None,
        })
    }
}

/// A set the traffic defined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LiveSet {
    /// As the module stores it (`minted` counts the draws the shadow made).
    set: Set,
    /// The draw's swap table (the module's `perm/` keys).
    perm: BTreeMap<u64, u64>,
    /// Mint tokens redeemed (drawn or waiting).
    requested: u64,
    melted: u64,
    /// The first block its mint tokens are the definer's.
    from: u64,
}

/// An offer the traffic opened and that is still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowOffer {
    pub kind: OfferKind,
    pub set: String,
    /// The NFT's uid, or the mint-token offer's id.
    pub id: String,
    pub seller: String,
    pub price: u64,
    /// A reserved transfer's buyer.
    pub to: String,
    /// An auction's last block.
    pub expires: u64,
    pub high: u64,
    pub bidder: String,
    pub bids: u64,
    /// The block it was opened in (it can be bought from the next one: the token module
    /// learns its price then).
    pub since: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MintRequest {
    set: String,
    owner: String,
    block: u64,
    /// Its transaction's index in the block, and that transaction's id once sealed.
    tx: usize,
    txid: String,
}

/// What becomes someone's at a later block.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Gain {
    Ft { account: String, set: String, qty: u64 },
    Nft { set: String, uid: String, owner: String },
    Tokens { account: String, amount: u64 },
}

/// An offer's key: kind, set, id.
type Item = (OfferKind, String, String);

/// The NFT module as this traffic's valid ops leave it (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NftShadow {
    started: bool,
    /// The first block the traffic generated (sets are defined only early on).
    first: u64,
    /// The block being generated.
    block: u64,
    /// Sets ever defined (names are `sim<n>`).
    defined: u64,
    sets: BTreeMap<String, LiveSet>,
    /// Mint tokens held, by (account, set).
    ft: BTreeMap<(String, String), u64>,
    /// NFTs held by accounts, by (set, uid).
    nfts: BTreeMap<(String, String), String>,
    offers: BTreeMap<Item, ShadowOffer>,
    /// Offers bid on in the block being generated.
    touched: BTreeSet<Item>,
    /// Mint requests waiting for a checkpoint, by their number.
    mintq: BTreeMap<u64, MintRequest>,
    /// The next mint request's number.
    seq: u64,
    /// What each account may still spend.
    budget: BTreeMap<String, u64>,
    /// Gains by the block they are usable from.
    later: BTreeMap<u64, Vec<Gain>>,
    /// The transactions generated in the current block: index, and whether valid.
    made: Vec<(usize, bool)>,
}

impl NftShadow {
    /// Starts block `num`: what earlier blocks settle by now becomes usable, and auctions
    /// that ended go to their bidder (or back to their seller).
    pub fn begin(&mut self, t: &NftTraffic, num: u64) {
        if !self.started {
            self.budget = t.budgets.clone();
            self.started = true;
            self.first = num;
        }
        self.block = num;
        self.touched.clear();
        self.made.clear();
        let ended: Vec<Item> = self
            .offers
            .iter()
            .filter(|(_, o)| o.kind.is_auction() && o.expires < num)
            .map(|(k, _)| k.clone())
            .collect();
        for k in ended {
            if let Some(o) = self.offers.remove(&k) {
                if o.bidder.is_empty() {
                    self.release(&o, &o.seller, num);
                } else {
                    self.release(&o, &o.bidder, num);
                    self.pay_sale(&o, o.high, num);
                }
            }
        }
        let due: Vec<u64> = self.later.range(..=num).map(|(b, _)| *b).collect();
        for b in due {
            for g in self.later.remove(&b).unwrap_or_default() {
                match g {
                    Gain::Ft { account, set, qty } => *self.ft.entry((account, set)).or_default() += qty,
                    Gain::Nft { set, uid, owner } => {
                        self.nfts.insert((set, uid), owner);
                    }
                    Gain::Tokens { account, amount } => {
                        let b = self.budget.entry(account).or_default();
                        *b = b.saturating_add(amount);
                    }
                }
            }
        }
        self.sets.retain(|_, s| s.melted < s.set.uids());
    }

    /// Block `block` is sealed: its mint requests learn their transaction ids, and at a
    /// checkpoint block the waiting requests are drawn with its id, as the module draws
    /// them there.
    pub fn record(&mut self, t: &NftTraffic, block: &Block) {
        for r in self.mintq.values_mut().filter(|r| r.block == block.num) {
            if let Some(tx) = block.transactions.get(r.tx) {
                r.txid = tx.txid.clone();
            }
        }
        if !block.num.is_multiple_of(t.checkpoint_interval.max(1)) {
            return;
        }
        let due: Vec<u64> = self
            .mintq
            .iter()
            .take_while(|(_, r)| r.block < block.num)
            .take(usize::try_from(t.cfg.mints_per_block).unwrap_or(usize::MAX))
            .map(|(s, _)| *s)
            .collect();
        for seq in due {
            let Some(r) = self.mintq.remove(&seq) else { continue };
            let Some(live) = self.sets.get_mut(&r.set) else {
                continue;
            };
            let remaining = live.set.uids().saturating_sub(live.set.minted);
            if remaining == 0 {
                continue;
            }
            let j = seed(&block.id, seq, &r.txid, &r.set) % remaining;
            let (idx, writes) = draw(|slot| live.perm.get(&slot).copied(), remaining, j);
            for (slot, v) in writes {
                match v {
                    Some(v) => live.perm.insert(slot, v),
                    None => live.perm.remove(&slot),
                };
            }
            live.set.minted += 1;
            if let Ok(uid) = uid_of(&live.set, idx) {
                self.later.entry(block.num + 1).or_default().push(Gain::Nft {
                    set: r.set,
                    uid,
                    owner: r.owner,
                });
            }
        }
    }

    /// The NFTs accounts hold (usable now): `(set, uid, owner)`.
    pub fn nfts(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.nfts.iter().map(|((s, u), o)| (s.as_str(), u.as_str(), o.as_str()))
    }

    /// Mint tokens held (usable now): `(account, set, count)`.
    pub fn mint_tokens(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.ft
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|((a, s), n)| (a.as_str(), s.as_str(), *n))
    }

    pub fn offers(&self) -> impl Iterator<Item = &ShadowOffer> {
        self.offers.values()
    }

    /// The sets tracked, by name.
    pub fn sets(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// The transactions generated in the current block: their index in it, and whether
    /// the modules must apply them (the generator's word, for tests that check it).
    pub fn made(&self) -> &[(usize, bool)] {
        &self.made
    }

    /// Mint requests not drawn yet.
    pub fn waiting_mints(&self) -> usize {
        self.mintq.len()
    }

    /// What `account` may still spend on NFTs.
    pub fn budget(&self, account: &str) -> u64 {
        self.budget.get(account).copied().unwrap_or(0)
    }

    fn later(&mut self, at: u64, g: Gain) {
        self.later.entry(at).or_default().push(g);
    }

    /// The item of `o` is `to`'s from block `at`.
    fn release(&mut self, o: &ShadowOffer, to: &str, at: u64) {
        let g = if o.kind.is_nft() {
            Gain::Nft {
                set: o.set.clone(),
                uid: o.id.clone(),
                owner: to.to_string(),
            }
        } else {
            Gain::Ft {
                account: to.to_string(),
                set: o.set.clone(),
                qty: 1,
            }
        };
        self.later(at, g);
    }

    /// The seller's part of a sale of `o` at `price` and the royalties, usable from `at`.
    fn pay_sale(&mut self, o: &ShadowOffer, price: u64, at: u64) {
        let shares = self
            .sets
            .get(&o.set)
            .map(|s| royalties(&s.set, price))
            .unwrap_or_default();
        let royalty: u64 = shares.iter().map(|s| s.amount).sum();
        self.later(
            at,
            Gain::Tokens {
                account: o.seller.clone(),
                amount: price.saturating_sub(royalty),
            },
        );
        for s in shares {
            self.later(
                at,
                Gain::Tokens {
                    account: s.account,
                    amount: s.amount,
                },
            );
        }
    }

    fn spend(&mut self, account: &str, amount: u64) -> bool {
        match self.budget.get_mut(account) {
            Some(b) if *b >= amount => {
                *b -= amount;
                true
            }
            _ => false,
        }
    }

    fn take_ft(&mut self, account: &str, set: &str, qty: u64) {
        if let Some(n) = self.ft.get_mut(&(account.to_string(), set.to_string())) {
            *n = n.saturating_sub(qty);
        }
    }

    /// Mint tokens of `set` that `account` holds or will hold once what is on its way lands.
    fn ft_with_pending(&self, account: &str, set: &str) -> u64 {
        let held = self
            .ft
            .get(&(account.to_string(), set.to_string()))
            .copied()
            .unwrap_or(0);
        let coming: u64 = self
            .later
            .values()
            .flatten()
            .filter_map(|g| match g {
                Gain::Ft {
                    account: a,
                    set: s,
                    qty,
                } if a == account && s == set => Some(*qty),
                _ => None,
            })
            .sum();
        held + coming
    }

    /// NFTs minted or waiting for their draw, not melted.
    fn tracked(&self) -> u64 {
        self.sets.values().map(|s| s.requested.saturating_sub(s.melted)).sum()
    }

    /// Whether to define a set: a few early on, then another (up to [`MAX_SETS`]) when few
    /// mint tokens are left in hand to redeem or trade, within the first
    /// [`DEFINE_WINDOW`] blocks: a definition costs a hundred tokens or more, which the
    /// other traffic of a devnet leaves no account after a while (and a set whose
    /// definition is refused would make every later op on it fail).
    fn wants_set(&self) -> bool {
        let in_hand: u64 = self.ft.values().sum();
        self.block < self.first.saturating_add(DEFINE_WINDOW)
            && (self.sets.len() < MIN_SETS || (self.sets.len() < MAX_SETS && in_hand < LOW_SUPPLY))
    }

    fn auctions(&self) -> usize {
        self.offers.values().filter(|o| o.kind.is_auction()).count()
    }
}

/// One generated NFT transaction: one operation, and whether the modules must apply it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftTx {
    pub operations: Vec<HiveOp>,
    pub valid: bool,
}

/// How many NFT transactions a block gets (0 to 3, one or two mostly).
pub fn nft_count(rng: &mut Rng) -> u64 {
    match rng.range(0, 9) {
        0 => 0,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mint,
    FtTransfer,
    FtAirdrop,
    FtSell,
    FtAuction,
    FtEscrow,
    NftTransfer,
    NftSell,
    NftAuction,
    NftReserve,
    Melt,
    Buy,
    Bid,
    Complete,
    Cancel,
}

/// Draws after the first of a valid kind that can be made.
const REROLLS: usize = 6;

/// Kinds of valid operations by a roll in `0..=89` (each up to its bound; 90..=99 is
/// invalid). When the one drawn cannot be made (nothing to sell, no budget), another is
/// drawn, up to [`REROLLS`] times, so the mix keeps these weights among what can be made.
const KINDS: [(Kind, u64); 15] = [
    (Kind::Mint, 13),
    (Kind::FtTransfer, 18),
    (Kind::FtAirdrop, 21),
    (Kind::FtSell, 27),
    (Kind::FtAuction, 31),
    (Kind::FtEscrow, 34),
    (Kind::NftTransfer, 40),
    (Kind::NftSell, 48),
    (Kind::NftAuction, 54),
    (Kind::NftReserve, 58),
    (Kind::Melt, 61),
    (Kind::Buy, 71),
    (Kind::Bid, 77),
    (Kind::Complete, 82),
    (Kind::Cancel, 89),
];

/// One NFT transaction of block `shadow`'s current block (see [`NftShadow::begin`]), whose
/// index in the block is `tx` (mint-token offer ids depend on it), or `None` when none
/// can be made. Valid ones change `shadow` as the modules will change.
pub fn nft_transaction(
    cfg: &TrafficConfig,
    t: &NftTraffic,
    shadow: &mut NftShadow,
    rng: &mut Rng,
    tx: usize,
) -> Option<NftTx> {
    let users: Vec<String> = cfg
        .accounts
        .iter()
        .filter(|a| cfg.msaccount.as_deref() != Some(a.as_str()))
        .cloned()
        .collect();
    if users.len() < 2 {
        return None;
    }
    let num = shadow.block;
    let mut g = Gen {
        cfg,
        t,
        s: shadow,
        rng,
        users,
        num,
        tx,
    };
    let valid = |op: HiveOp| NftTx {
        operations: vec![op],
        valid: true,
    };
    let made = if g.s.wants_set() && g.rng.chance(350) {
        g.define().map(valid)
    } else {
        None
    };
    let made = made.or_else(|| {
        let roll = g.rng.range(0, 99);
        if roll >= 90 {
            return g.invalid().map(|op| NftTx {
                operations: vec![op],
                valid: false,
            });
        }
        let kind = |roll: u64| {
            KINDS
                .iter()
                .find(|(_, upto)| roll <= *upto)
                .map_or(Kind::Mint, |(k, _)| *k)
        };
        if let Some(op) = g.valid(kind(roll)) {
            return Some(valid(op));
        }
        (0..REROLLS).find_map(|_| {
            let roll = g.rng.range(0, 89);
            g.valid(kind(roll)).map(valid)
        })
    });
    if let Some(m) = &made {
        shadow.made.push((tx, m.valid));
    }
    made
}

/// The generator of one transaction.
struct Gen<'a> {
    cfg: &'a TrafficConfig,
    t: &'a NftTraffic,
    s: &'a mut NftShadow,
    rng: &'a mut Rng,
    users: Vec<String>,
    num: u64,
    tx: usize,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A mint-token offer's id as the module makes it for the first op of transaction `tx`
/// of block `num`.
fn ft_offer_id(from: &str, set: &str, num: u64, tx: usize) -> String {
    let spec = ChainSpec {
        name: String::new(),
        prefix: String::new(),
        token: String::new(),
        precision: 0,
        starting_block: 0,
        leader: String::new(),
        msaccount: String::new(),
        delegation_account: String::new(),
        checkpoint_interval: 1,
        json_max_bytes: 0,
        hive_chain_id: String::new(),
        modules: BTreeMap::new(),
    };
    let ctx = OpContext {
        pos: ChainPos::new(num, u32::try_from(tx).unwrap_or(u32::MAX), 0),
        txid: "",
        timestamp: 0,
        spec: &spec,
    };
    offer_id(from, set, &ctx)
}

impl Gen<'_> {
    fn op(&self, name: &str, signer: &str, json: Value) -> HiveOp {
        HiveOp::CustomJson(CustomJsonOp {
            required_auths: vec![signer.to_string()],
            required_posting_auths: vec![],
            id: format!("{}{name}", self.cfg.prefix),
            json: json.to_string(),
        })
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        self.rng.pick(items).cloned()
    }

    /// A user other than `not`.
    fn other(&mut self, not: &[&str]) -> Option<String> {
        let others: Vec<String> = self
            .users
            .iter()
            .filter(|u| !not.contains(&u.as_str()))
            .cloned()
            .collect();
        self.pick(&others)
    }

    /// A user other than `not` who may spend `amount`.
    fn payer(&mut self, amount: u64, not: &[&str]) -> Option<String> {
        let able: Vec<String> = self
            .users
            .iter()
            .filter(|u| !not.contains(&u.as_str()) && self.s.budget(u) >= amount)
            .cloned()
            .collect();
        self.pick(&able)
    }

    /// A price in the token's base units: 0.005 to 0.1 of a token, so that accounts the
    /// other traffic has left with little can still pay.
    fn price(&mut self) -> u64 {
        self.rng.range(5, 100)
    }

    /// `(account, set, count)` of the mint tokens held of sets usable now.
    fn holders(&self, at_least: u64) -> Vec<(String, String, u64)> {
        self.s
            .ft
            .iter()
            .filter(|((_, set), n)| **n >= at_least && self.s.sets.get(set).is_some_and(|s| s.from <= self.num))
            .map(|((a, s), n)| (a.clone(), s.clone(), *n))
            .collect()
    }

    /// `(set, uid, owner)` of the NFTs accounts hold.
    fn owned(&self) -> Vec<(String, String, String)> {
        self.s
            .nfts
            .iter()
            .map(|((s, u), o)| (s.clone(), u.clone(), o.clone()))
            .collect()
    }

    /// Offers of `kinds` opened before this block and not bid on in it.
    fn open(&self, kinds: &[OfferKind]) -> Vec<ShadowOffer> {
        self.s
            .offers
            .iter()
            .filter(|(k, o)| kinds.contains(&o.kind) && o.since < self.num && !self.s.touched.contains(*k))
            .map(|(_, o)| o.clone())
            .collect()
    }

    fn any_set(&mut self) -> String {
        let names: Vec<String> = self.s.sets.keys().cloned().collect();
        self.pick(&names).unwrap_or_else(|| UNKNOWN_SET.to_string())
    }

    /// The definition of the next set and its fee (the module's own fee formula), by `from`.
    fn definition(&mut self, from: &str, max_fee: u64) -> Option<(Value, define::Definition)> {
        let n = self.s.defined;
        let uids = self.rng.range(16, 48);
        let mut body = json!({
            "name": format!("sim{n}"), "type": 1, "script": "QmSimRenderer",
            "permlink": format!("sim-set-{n}"), "start": "0", "end": b64::from_number(uids - 1),
            "royalty": self.rng.range(0, 10) * 100, "handling": "svg", "max_fee": max_fee,
        });
        if self.rng.chance(300) {
            body["bond"] = json!(self.rng.range(1, 20) * 10);
        }
        let d = define::parse(&self.t.cfg, from, self.num, &obj(body.clone())).ok()?;
        Some((body, d))
    }

    /// `nft_define` by a user who can afford it, `max_fee` half again the fee (the rest
    /// comes back).
    fn define(&mut self) -> Option<HiveOp> {
        let (_, probe) = self.definition("probe", opentoken_core::field::MAX_AMOUNT)?;
        let max_fee = probe.fee + probe.fee / 2;
        let definer = self.payer(max_fee, &[])?;
        let (body, d) = self.definition(&definer, max_fee)?;
        let name = d.set.name.clone();
        if !self.s.spend(&definer, max_fee) {
            return None;
        }
        self.s.later(
            self.num + 2,
            Gain::Tokens {
                account: definer.clone(),
                amount: max_fee - d.fee,
            },
        );
        self.s.later(
            self.num + 1,
            Gain::Ft {
                account: definer.clone(),
                set: name.clone(),
                qty: d.set.total,
            },
        );
        self.s.defined += 1;
        self.s.sets.insert(
            name,
            LiveSet {
                set: d.set,
                perm: BTreeMap::new(),
                requested: 0,
                melted: 0,
                from: self.num + 1,
            },
        );
        Some(self.op("nft_define", &definer, body))
    }

    fn valid(&mut self, kind: Kind) -> Option<HiveOp> {
        let num = self.num;
        match kind {
            Kind::Mint => {
                if self.s.tracked() >= MAX_NFTS {
                    return None;
                }
                let (owner, set, _) = self.pick(&self.holders(1))?;
                self.s.take_ft(&owner, &set, 1);
                let seq = self.s.seq;
                self.s.seq += 1;
                if let Some(live) = self.s.sets.get_mut(&set) {
                    live.requested += 1;
                }
                self.s.mintq.insert(
                    seq,
                    MintRequest {
                        set: set.clone(),
                        owner: owner.clone(),
                        block: num,
                        tx: self.tx,
                        txid: String::new(),
                    },
                );
                Some(self.op("nft_mint", &owner, json!({ "set": set })))
            }
            Kind::FtTransfer => {
                let (from, set, held) = self.pick(&self.holders(1))?;
                let to = self.other(&[&from])?;
                let qty = self.rng.range(1, held.min(3));
                self.s.take_ft(&from, &set, qty);
                self.s.later(
                    num + 1,
                    Gain::Ft {
                        account: to.clone(),
                        set: set.clone(),
                        qty,
                    },
                );
                Some(self.op("ft_transfer", &from, json!({"set": set, "to": to, "qty": qty})))
            }
            Kind::FtAirdrop => {
                let (from, set, held) = self.pick(&self.holders(2))?;
                let want = self.rng.range(2, held.min(4));
                let mut to: Vec<String> = Vec::new();
                for _ in 0..want {
                    let mut not: Vec<&str> = to.iter().map(String::as_str).collect();
                    not.push(&from);
                    let Some(r) = self.other(&not) else { break };
                    to.push(r);
                }
                if to.is_empty() {
                    return None;
                }
                self.s.take_ft(&from, &set, to.len() as u64);
                for r in &to {
                    self.s.later(
                        num + 1,
                        Gain::Ft {
                            account: r.clone(),
                            set: set.clone(),
                            qty: 1,
                        },
                    );
                }
                Some(self.op("ft_airdrop", &from, json!({"set": set, "to": to})))
            }
            Kind::FtSell | Kind::FtAuction | Kind::FtEscrow => {
                if kind == Kind::FtAuction && self.s.auctions() >= MAX_AUCTIONS {
                    return None;
                }
                let (seller, set, _) = self.pick(&self.holders(1))?;
                let (okind, name) = match kind {
                    Kind::FtSell => (OfferKind::FtSale, "ft_sell"),
                    Kind::FtAuction => (OfferKind::FtAuction, "ft_auction"),
                    _ => (OfferKind::FtReserve, "ft_escrow"),
                };
                let id = ft_offer_id(&seller, &set, num, self.tx);
                let body = self.open_offer(okind, &set, &id, &seller)?;
                self.s.take_ft(&seller, &set, 1);
                Some(self.op(name, &seller, body))
            }
            Kind::NftTransfer => {
                let (set, uid, owner) = self.pick(&self.owned())?;
                let to = self.other(&[&owner])?;
                self.s.nfts.remove(&(set.clone(), uid.clone()));
                self.s.later(
                    num + 1,
                    Gain::Nft {
                        set: set.clone(),
                        uid: uid.clone(),
                        owner: to.clone(),
                    },
                );
                Some(self.op("nft_transfer", &owner, json!({"set": set, "uid": uid, "to": to})))
            }
            Kind::NftSell | Kind::NftAuction | Kind::NftReserve => {
                if kind == Kind::NftAuction && self.s.auctions() >= MAX_AUCTIONS {
                    return None;
                }
                let (set, uid, owner) = self.pick(&self.owned())?;
                let (okind, name) = match kind {
                    Kind::NftSell => (OfferKind::NftSale, "nft_sell"),
                    Kind::NftAuction => (OfferKind::NftAuction, "nft_auction"),
                    _ => (OfferKind::NftReserve, "nft_reserve_transfer"),
                };
                let mut body = self.open_offer(okind, &set, &uid, &owner)?;
                body["uid"] = json!(uid);
                self.s.nfts.remove(&(set, uid));
                Some(self.op(name, &owner, body))
            }
            Kind::Melt => {
                if self.s.tracked() <= MELT_FLOOR {
                    return None;
                }
                let (set, uid, owner) = self.pick(&self.owned())?;
                self.s.nfts.remove(&(set.clone(), uid.clone()));
                let bond = match self.s.sets.get_mut(&set) {
                    Some(live) => {
                        live.melted += 1;
                        live.set.bond
                    }
                    None => 0,
                };
                if bond > 0 {
                    self.s.later(
                        num + 1,
                        Gain::Tokens {
                            account: owner.clone(),
                            amount: bond,
                        },
                    );
                }
                Some(self.op("nft_melt", &owner, json!({"set": set, "uid": uid})))
            }
            Kind::Buy | Kind::Complete => {
                let kinds: &[OfferKind] = if kind == Kind::Buy {
                    &[OfferKind::NftSale, OfferKind::FtSale]
                } else {
                    &[OfferKind::NftReserve, OfferKind::FtReserve]
                };
                let o = self.pick(&self.open(kinds))?;
                let buyer = if kind == Kind::Buy {
                    self.payer(o.price, &[&o.seller])?
                } else if self.s.budget(&o.to) >= o.price {
                    o.to.clone()
                } else {
                    return None;
                };
                if !self.s.spend(&buyer, o.price) {
                    return None;
                }
                self.s.offers.remove(&(o.kind, o.set.clone(), o.id.clone()));
                self.s.release(&o, &buyer, num + 1);
                self.s.pay_sale(&o, o.price, num + 2);
                let name = match o.kind {
                    OfferKind::NftSale => "nft_buy",
                    OfferKind::FtSale => "ft_buy",
                    OfferKind::NftReserve => "nft_reserve_complete",
                    _ => "ft_escrow_complete",
                };
                Some(self.op(name, &buyer, json!({"set": o.set, "uid": o.id})))
            }
            Kind::Bid => {
                let live: Vec<ShadowOffer> = self
                    .open(&[OfferKind::NftAuction, OfferKind::FtAuction])
                    .into_iter()
                    .filter(|o| num + 2 <= o.expires && o.bids < MAX_BIDS)
                    .collect();
                let o = self.pick(&live)?;
                let amount = if o.high == 0 {
                    o.price + self.rng.range(0, o.price / 4)
                } else {
                    o.high + (o.high / 10).max(1) + self.rng.range(0, 5)
                };
                let bidder = self.payer(amount, &[&o.seller, &o.bidder])?;
                if !self.s.spend(&bidder, amount) {
                    return None;
                }
                let key = (o.kind, o.set.clone(), o.id.clone());
                if !o.bidder.is_empty() {
                    self.s.later(
                        num + 2,
                        Gain::Tokens {
                            account: o.bidder.clone(),
                            amount: o.high,
                        },
                    );
                }
                if let Some(open) = self.s.offers.get_mut(&key) {
                    open.high = amount;
                    open.bidder = bidder.clone();
                    open.bids += 1;
                }
                self.s.touched.insert(key);
                let name = if o.kind.is_nft() { "nft_bid" } else { "ft_bid" };
                Some(self.op(name, &bidder, json!({"set": o.set, "uid": o.id, "bid_amount": amount})))
            }
            Kind::Cancel => {
                let o = self.pick(&self.open(&[
                    OfferKind::NftSale,
                    OfferKind::FtSale,
                    OfferKind::NftReserve,
                    OfferKind::FtReserve,
                ]))?;
                let by = if !o.to.is_empty() && self.rng.chance(500) {
                    o.to.clone()
                } else {
                    o.seller.clone()
                };
                self.s.offers.remove(&(o.kind, o.set.clone(), o.id.clone()));
                self.s.release(&o, &o.seller, num + 1);
                let name = match o.kind {
                    OfferKind::NftSale => "nft_sell_cancel",
                    OfferKind::FtSale => "ft_sell_cancel",
                    OfferKind::NftReserve => "nft_transfer_cancel",
                    _ => "ft_escrow_cancel",
                };
                Some(self.op(name, &by, json!({"set": o.set, "uid": o.id})))
            }
        }
    }

    /// Opens offer `kind` of `set:id` by `seller` in the shadow; returns the op's fields
    /// (without the NFT's `uid`).
    fn open_offer(&mut self, kind: OfferKind, set: &str, id: &str, seller: &str) -> Option<Value> {
        let price = self.price();
        let mut body = json!({"set": set, "price": price});
        let mut offer = ShadowOffer {
            kind,
            set: set.to_string(),
            id: id.to_string(),
            seller: seller.to_string(),
            price,
            to: String::new(),
            expires: 0,
            high: 0,
            bidder: String::new(),
            bids: 0,
            since: self.num,
        };
        if matches!(kind, OfferKind::NftReserve | OfferKind::FtReserve) {
            let to = self.other(&[seller])?;
            body["to"] = json!(to);
            if kind == OfferKind::NftReserve {
                body["type"] = json!("TOKEN");
            }
            offer.to = to;
        }
        if kind.is_auction() {
            body["time"] = json!(1);
            offer.expires = self.num.saturating_add(self.t.cfg.blocks_per_day);
        }
        self.s.offers.insert((kind, set.to_string(), id.to_string()), offer);
        Some(body)
    }

    /// An NFT some user other than its owner names: `(set, uid, owner, not the owner)`.
    fn not_theirs(&mut self) -> Option<(String, String, String, String)> {
        let (set, uid, owner) = self.pick(&self.owned())?;
        let actor = self.other(&[&owner])?;
        Some((set, uid, owner, actor))
    }

    /// One op the modules refuse (or, for the ops that pay, refund in full), of a user;
    /// it changes nothing in the shadow but the budget of what it escrows until the refund.
    fn invalid(&mut self) -> Option<HiveOp> {
        let actor = self.pick(&self.users.clone())?;
        let peer = self.other(&[&actor])?;
        let set = self.any_set();
        let num = self.num;
        let unknown =
            |g: &Self, name: &str, who: &str| g.op(name, who, json!({"set": set, "uid": UNKNOWN_UID, "to": peer}));
        Some(match self.rng.range(0, 17) {
            // Someone else's NFT.
            0 => match self.not_theirs() {
                Some((set, uid, _, actor)) => {
                    let to = self.other(&[&actor])?;
                    self.op("nft_transfer", &actor, json!({"set": set, "uid": uid, "to": to}))
                }
                None => unknown(self, "nft_transfer", &actor),
            },
            1 => unknown(self, "nft_transfer", &actor),
            2 => match self.not_theirs() {
                Some((set, uid, _, actor)) => self.op("nft_melt", &actor, json!({"set": set, "uid": uid})),
                None => self.op("nft_melt", &actor, json!({"set": set, "uid": UNKNOWN_UID})),
            },
            // A redemption without a mint token of the set.
            3 => {
                let set = if self.s.ft_with_pending(&actor, &set) == 0 {
                    set
                } else {
                    UNKNOWN_SET.to_string()
                };
                self.op("nft_mint", &actor, json!({ "set": set }))
            }
            4 => self.op("ft_transfer", &actor, json!({"set": set, "to": peer, "qty": 0})),
            5 => {
                let qty = self.s.ft_with_pending(&actor, &set) + 5;
                self.op("ft_transfer", &actor, json!({"set": set, "to": peer, "qty": qty}))
            }
            6 => self.op("ft_transfer", &actor, json!({"set": set, "to": actor, "qty": 1})),
            7 => self.op("ft_airdrop", &actor, json!({"set": set, "to": []})),
            // An owner's sale at a bad price, or in a currency there is none of.
            8 | 9 => {
                let (set, uid, owner) =
                    self.pick(&self.owned())
                        .unwrap_or((set.clone(), UNKNOWN_UID.to_string(), actor.clone()));
                let mut body = json!({"set": set, "uid": uid});
                if self.rng.chance(500) {
                    body["price"] = json!(1_000);
                    body["type"] = json!("BTC");
                } else {
                    let bad = [json!(0), json!(-5), json!("1.5")];
                    body["price"] = self.pick(&bad).unwrap_or(Value::Null);
                }
                self.op("nft_sell", &owner, body)
            }
            10 => self.op("nft_buy", &actor, json!({"set": set, "uid": UNKNOWN_UID})),
            // A first bid below the starting price, or one by the seller: escrowed, refunded.
            11 | 12 => {
                let auctions: Vec<ShadowOffer> = self
                    .open(&[OfferKind::NftAuction, OfferKind::FtAuction])
                    .into_iter()
                    .filter(|o| o.high == 0 && o.price >= 2 && num + 2 <= o.expires)
                    .collect();
                let (bidder, name, target, amount) = match self.pick(&auctions) {
                    Some(o) if self.s.budget(&o.seller) >= o.price && self.rng.chance(500) => {
                        (o.seller.clone(), o.kind, (o.set, o.id), o.price)
                    }
                    Some(o) if self.s.budget(&actor) >= o.price && actor != o.seller => {
                        (actor.clone(), o.kind, (o.set, o.id), o.price - 1)
                    }
                    _ if self.s.budget(&actor) >= 1 => (
                        actor.clone(),
                        OfferKind::NftAuction,
                        (set.clone(), UNKNOWN_UID.to_string()),
                        1,
                    ),
                    _ => return Some(self.op("nft_buy", &actor, json!({"set": set, "uid": UNKNOWN_UID}))),
                };
                self.s.spend(&bidder, amount);
                self.s.later(
                    num + 2,
                    Gain::Tokens {
                        account: bidder.clone(),
                        amount,
                    },
                );
                let name = if name.is_nft() { "nft_bid" } else { "ft_bid" };
                self.op(
                    name,
                    &bidder,
                    json!({"set": target.0, "uid": target.1, "bid_amount": amount}),
                )
            }
            // A reserved transfer completed by someone it is not reserved for.
            13 => {
                let reserved: Vec<ShadowOffer> = self
                    .open(&[OfferKind::NftReserve, OfferKind::FtReserve])
                    .into_iter()
                    .filter(|o| o.to != actor && self.s.budget(&actor) >= o.price)
                    .collect();
                match self.pick(&reserved) {
                    Some(o) => {
                        self.s.spend(&actor, o.price);
                        self.s.later(
                            num + 2,
                            Gain::Tokens {
                                account: actor.clone(),
                                amount: o.price,
                            },
                        );
                        let name = if o.kind.is_nft() {
                            "nft_reserve_complete"
                        } else {
                            "ft_escrow_complete"
                        };
                        self.op(name, &actor, json!({"set": o.set, "uid": o.id}))
                    }
                    None => self.op("nft_reserve_complete", &actor, json!({"set": set, "uid": UNKNOWN_UID})),
                }
            }
            // A definition whose max_fee is below its fee.
            14 => {
                let (mut body, d) = self.definition(&actor, opentoken_core::field::MAX_AMOUNT)?;
                body["max_fee"] = json!(d.fee - 1);
                self.op("nft_define", &actor, body)
            }
            // A cancellation by neither party.
            15 => {
                let open = self.open(&[
                    OfferKind::NftSale,
                    OfferKind::FtSale,
                    OfferKind::NftReserve,
                    OfferKind::FtReserve,
                ]);
                let theirs: Vec<ShadowOffer> = open
                    .into_iter()
                    .filter(|o| o.seller != actor && o.to != actor)
                    .collect();
                match self.pick(&theirs) {
                    Some(o) if o.kind == OfferKind::NftSale => {
                        self.op("nft_sell_cancel", &actor, json!({"set": o.set, "uid": o.id}))
                    }
                    Some(o) if o.kind == OfferKind::FtSale => {
                        self.op("ft_sell_cancel", &actor, json!({"set": o.set, "uid": o.id}))
                    }
                    Some(o) if o.kind == OfferKind::NftReserve => {
                        self.op("nft_transfer_cancel", &actor, json!({"set": o.set, "uid": o.id}))
                    }
                    Some(o) => self.op("ft_escrow_cancel", &actor, json!({"set": o.set, "uid": o.id})),
                    None => self.op("nft_sell_cancel", &actor, json!({"set": set, "uid": UNKNOWN_UID})),
                }
            }
            // An owner's transfer signed with the posting key (it needs the active one).
            _ => match self.pick(&self.owned()) {
                Some((set, uid, owner)) => {
                    let to = self.other(&[&owner])?;
                    HiveOp::CustomJson(CustomJsonOp {
                        required_auths: vec![],
                        required_posting_auths: vec![owner],
                        id: format!("{}nft_transfer", self.cfg.prefix),
                        json: json!({"set": set, "uid": uid, "to": to}).to_string(),
                    })
                }
                None => self.op("ft_sell", &actor, json!({"set": UNKNOWN_SET, "price": 100})),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentoken_core::Transaction;

    fn cfg() -> TrafficConfig {
        TrafficConfig {
            prefix: "dlux_".into(),
            accounts: ["alice", "bob", "carol", "dlux-cc"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            nodes: vec![],
            delegation_account: "dlux-io".into(),
            ops_per_block: (0, 0),
            invalid_per_mille: 0,
            msaccount: Some("dlux-cc".into()),
            dex: None,
            nft: None,
            pob: None,
        }
    }

    fn traffic(budget: u64) -> NftTraffic {
        NftTraffic {
            cfg: NftConfig {
                blocks_per_day: 20,
                ..NftConfig::default()
            },
            checkpoint_interval: 10,
            budgets: ["alice", "bob", "carol"]
                .iter()
                .map(|a| (a.to_string(), budget))
                .collect(),
            per_block: Some(3),
        }
    }

    /// `blocks` blocks of NFT traffic alone, sealed with made-up ids: each op with the
    /// generator's word and its signer.
    fn run(t: &NftTraffic, seed: u64, blocks: u64) -> (Vec<(HiveOp, bool)>, NftShadow) {
        let cfg = cfg();
        let mut shadow = NftShadow::default();
        let mut out = Vec::new();
        for num in 1..=blocks {
            shadow.begin(t, num);
            let mut rng = Rng::new(seed, num, b"nft");
            let mut transactions = Vec::new();
            for i in 0..3 {
                if let Some(tx) = nft_transaction(&cfg, t, &mut shadow, &mut rng, i) {
                    out.extend(tx.operations.iter().map(|op| (op.clone(), tx.valid)));
                    transactions.push(Transaction {
                        txid: format!("{num:08x}{i:032x}"),
                        operations: tx.operations,
                    });
                }
            }
            let block = Block {
                num,
                id: format!("{num:08x}{:032x}", seed),
                previous: String::new(),
                timestamp: 0,
                witness: String::new(),
                transactions,
            };
            shadow.record(t, &block);
        }
        (out, shadow)
    }

    fn name(op: &HiveOp) -> (&str, &str) {
        match op {
            HiveOp::CustomJson(c) => (
                c.id.strip_prefix("dlux_").unwrap_or(&c.id),
                c.required_auths
                    .first()
                    .or(c.required_posting_auths.first())
                    .map_or("", |s| s.as_str()),
            ),
            other => panic!("not an NFT op: {other:?}"),
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_ops_and_another_seed_others() {
        let t = traffic(500_000);
        let (a, sa) = run(&t, 1, 150);
        let (b, sb) = run(&t, 1, 150);
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        assert_ne!(a, run(&t, 2, 150).0);
        assert!(sa.nfts().count() > 5, "{} NFTs", sa.nfts().count());
        assert!(sa.sets().count() >= MIN_SETS);
    }

    /// Without a budget nobody defines a set, so nothing valid can be made; no op that
    /// escrows tokens is generated either, valid or not (purchases name nothing offered,
    /// which the token module refuses with nothing taken), and the multi-sig account signs
    /// nothing.
    #[test]
    fn without_a_budget_nothing_is_paid_for() {
        let t = traffic(0);
        let (ops, shadow) = run(&t, 3, 200);
        assert!(ops.len() > 20, "{} ops", ops.len());
        for (op, valid) in &ops {
            let (name, signer) = name(op);
            assert!(!valid, "{op:?}");
            assert_ne!(signer, "dlux-cc");
            assert!(!["nft_bid", "ft_bid"].contains(&name), "{op:?}");
            if ["nft_buy", "ft_buy", "nft_reserve_complete", "ft_escrow_complete"].contains(&name) {
                // Nothing is offered, so the token module has no price and takes nothing.
                assert_eq!(op_json(op)["uid"], UNKNOWN_UID, "{op:?}");
            }
            if name == "nft_define" {
                let refused = define::parse(&t.cfg, signer, 1, &obj(op_json(op)));
                assert!(refused.is_err(), "max_fee below the fee: {op:?}");
            }
        }
        assert_eq!(shadow.sets().count(), 0);
    }

    fn op_json(op: &HiveOp) -> Value {
        match op {
            HiveOp::CustomJson(c) => serde_json::from_str(&c.json).unwrap(),
            _ => Value::Null,
        }
    }

    /// Every valid op that pays is within its signer's budget: definitions pay `max_fee`,
    /// bids `bid_amount`, and the total a payer's valid ops escrow never exceeds its
    /// budget plus what sales paid it back.
    #[test]
    fn valid_payments_stay_within_the_budget() {
        let t = traffic(400_000);
        let (ops, shadow) = run(&t, 7, 300);
        let mut paid: BTreeMap<&str, u64> = BTreeMap::new();
        let mut kinds = BTreeSet::new();
        for (op, valid) in ops.iter().filter(|(_, v)| *v) {
            let (name, signer) = name(op);
            kinds.insert(name);
            let j = op_json(op);
            let amount = match name {
                "nft_define" => j["max_fee"].as_u64().unwrap(),
                "nft_bid" | "ft_bid" => j["bid_amount"].as_u64().unwrap(),
                _ => 0,
            };
            assert!(*valid);
            *paid.entry(signer).or_default() += amount;
        }
        for (who, n) in &paid {
            assert!(*n <= 400_000 + 2_000 * 300, "@{who} escrowed {n}");
        }
        for k in [
            "nft_define",
            "nft_mint",
            "ft_transfer",
            "ft_airdrop",
            "ft_sell",
            "ft_auction",
            "ft_escrow",
            "nft_transfer",
            "nft_sell",
            "nft_auction",
            "nft_reserve_transfer",
            "nft_melt",
            "nft_buy",
            "ft_buy",
            "nft_bid",
            "ft_bid",
            "nft_reserve_complete",
            "ft_escrow_complete",
            "nft_sell_cancel",
            "nft_transfer_cancel",
        ] {
            assert!(kinds.contains(k), "no valid {k} in 300 blocks: {kinds:?}");
        }
        assert!(shadow.waiting_mints() < 40);
    }
}
