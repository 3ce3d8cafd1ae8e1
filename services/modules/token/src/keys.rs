//! The ledger's key scheme and value encoding.
//!
//! Keys are ASCII prefixes plus account names; amounts are 8-byte big-endian `u64`. Zero
//! amounts are deleted, never stored, so equal ledgers are equal key sets (the commitment
//! is over the key set). Schedule keys carry the block as 8 big-endian bytes so that byte
//! order is block order.

use opentoken_core::StateRead;

/// Where an account's tokens are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bucket {
    Liquid,
    Power,
    Gov,
    Claimable,
}

impl Bucket {
    pub fn prefix(self) -> &'static str {
        match self {
            Bucket::Liquid => "bal/",
            Bucket::Power => "pow/",
            Bucket::Gov => "gov/",
            Bucket::Claimable => "clm/",
        }
    }
    pub fn total_key(self) -> &'static [u8] {
        match self {
            Bucket::Liquid => b"tot/bal",
            Bucket::Power => b"tot/pow",
            Bucket::Gov => b"tot/gov",
            Bucket::Claimable => b"tot/clm",
        }
    }
    pub const ALL: [Bucket; 4] = [Bucket::Liquid, Bucket::Power, Bucket::Gov, Bucket::Claimable];
}

/// Which stake a withdrawal schedule unlocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unlock {
    Power,
    Gov,
}

impl Unlock {
    pub fn bucket(self) -> Bucket {
        match self {
            Unlock::Power => Bucket::Power,
            Unlock::Gov => Bucket::Gov,
        }
    }
    pub fn tag(self) -> u8 {
        match self {
            Unlock::Power => b'p',
            Unlock::Gov => b'g',
        }
    }
    pub fn from_tag(t: u8) -> Option<Self> {
        match t {
            b'p' => Some(Unlock::Power),
            b'g' => Some(Unlock::Gov),
            _ => None,
        }
    }
    fn index_prefix(self) -> &'static str {
        match self {
            Unlock::Power => "pds/",
            Unlock::Gov => "gds/",
        }
    }
}

pub const SUPPLY: &[u8] = b"sup";
pub const GRANTED_TOTAL: &[u8] = b"tot/gra";
/// `tot/dex`: the tokens the DEX holds (chains that run one): escrowed by `dex_sell`, not
/// yet credited back. The DEX keeps them per order; the ledger needs only the total, which
/// is part of the supply.
pub const DEX_ESCROW: &[u8] = b"tot/dex";
/// `tot/nft`: the tokens the NFT module holds (chains that run one): escrowed by the ops
/// that pay it, less what it credited back or burned.
pub const NFT_ESCROW: &[u8] = b"tot/nft";

/// The economy's pools (chains with `modules.token.economy`), under the reference's names:
/// `ra` inflation minted since the last DAO day, `rn` node operators, `rm` marketing, `rd`
/// delegators, `rc` content. Each is `pool/<name>`, part of the supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pool {
    Minted,
    Nodes,
    Marketing,
    Delegators,
    Content,
}

impl Pool {
    pub const ALL: [Pool; 5] = [
        Pool::Minted,
        Pool::Nodes,
        Pool::Marketing,
        Pool::Delegators,
        Pool::Content,
    ];
    /// The reference's account name of the pool (`balances/ra` ...).
    pub fn name(self) -> &'static str {
        match self {
            Pool::Minted => "ra",
            Pool::Nodes => "rn",
            Pool::Marketing => "rm",
            Pool::Delegators => "rd",
            Pool::Content => "rc",
        }
    }
    pub fn from_name(name: &str) -> Option<Pool> {
        Pool::ALL.into_iter().find(|p| p.name() == name)
    }
    pub fn key(self) -> Vec<u8> {
        format!("{POOL_PREFIX}{}", self.name()).into_bytes()
    }
}

pub const POOL_PREFIX: &str = "pool/";

/// `win/<acct>`: the tallies a runner agreed on since the last DAO day (its share of the
/// node pool).
pub fn wins(acct: &str) -> Vec<u8> {
    format!("{WINS_PREFIX}{acct}").into_bytes()
}
pub const WINS_PREFIX: &str = "win/";
/// `eco/node_rate`: the runners' average `bidRate`, as the nodes module last sent it.
pub const NODE_RATE: &[u8] = b"eco/node_rate";
/// `eco/day`: the last DAO day's figures (JSON, for `/stats`).
pub const LAST_DAY: &[u8] = b"eco/day";

/// `nftp/<item>`: what an item the NFT module offers at a price costs (its `price`
/// messages), so that an op naming only the item can be escrowed.
pub fn nft_price(item: &str) -> Vec<u8> {
    format!("nftp/{item}").into_bytes()
}

pub fn account(bucket: Bucket, acct: &str) -> Vec<u8> {
    format!("{}{acct}", bucket.prefix()).into_bytes()
}

/// `gra/<from>/<to>`: what `from` grants `to`.
pub fn grant(from: &str, to: &str) -> Vec<u8> {
    format!("gra/{from}/{to}").into_bytes()
}
/// `gro/<from>`: all `from` grants out.
pub fn granting(from: &str) -> Vec<u8> {
    format!("gro/{from}").into_bytes()
}
/// `gri/<to>`: all `to` is granted.
pub fn granted(to: &str) -> Vec<u8> {
    format!("gri/{to}").into_bytes()
}
pub fn node(acct: &str) -> Vec<u8> {
    format!("node/{acct}").into_bytes()
}
pub fn delegation(acct: &str) -> Vec<u8> {
    format!("{DELEGATION_PREFIX}{acct}").into_bytes()
}
/// `dlg/<acct>`: an account's Hive delegation to the delegation account, micro-VESTS.
pub const DELEGATION_PREFIX: &str = "dlg/";

/// `sch/<block BE8><tag>/<account>`: an installment due at `block`.
pub fn schedule(block: u64, unlock: Unlock, acct: &str) -> Vec<u8> {
    let mut k = b"sch/".to_vec();
    k.extend_from_slice(&block.to_be_bytes());
    k.push(unlock.tag());
    k.push(b'/');
    k.extend_from_slice(acct.as_bytes());
    k
}

pub const SCHEDULE_PREFIX: &[u8] = b"sch/";

/// Decodes a schedule key into (block, unlock, account).
pub fn parse_schedule(key: &[u8]) -> Option<(u64, Unlock, String)> {
    let rest = key.strip_prefix(SCHEDULE_PREFIX)?;
    if rest.len() < 10 || rest[9] != b'/' {
        return None;
    }
    let block = u64::from_be_bytes(rest[..8].try_into().ok()?);
    let unlock = Unlock::from_tag(rest[8])?;
    let acct = std::str::from_utf8(&rest[10..]).ok()?.to_string();
    Some((block, unlock, acct))
}

/// `pds/<acct>` / `gds/<acct>`: the blocks of the account's pending installments, so a new
/// schedule cancels exactly the account's own entries.
pub fn schedule_index(unlock: Unlock, acct: &str) -> Vec<u8> {
    format!("{}{acct}", unlock.index_prefix()).into_bytes()
}

pub fn encode_u64(v: u64) -> Vec<u8> {
    v.to_be_bytes().to_vec()
}

pub fn decode_u64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

pub fn encode_blocks(blocks: &[u64]) -> Vec<u8> {
    blocks.iter().flat_map(|b| b.to_be_bytes()).collect()
}

pub fn decode_blocks(v: &[u8]) -> Vec<u64> {
    v.chunks_exact(8).filter_map(decode_u64).collect()
}

/// Reads an amount; a missing key is zero. A malformed value reads as zero too, but cannot
/// exist: only `apply` writes, and it writes 8 bytes.
pub fn amount(state: &dyn StateRead, key: &[u8]) -> u64 {
    state.get(key).and_then(decode_u64).unwrap_or(0)
}

/// Proof of Brain's keys (chains with `economy.proof_of_brain`). Authors and voters are Hive
/// account names and permlinks are `[a-z0-9-]` (both checked before any key is made), so
/// `/` separates them unambiguously.
pub mod pob {
    /// `pnd/<author>/<permlink>`: a qualifying post waiting for its `comment_options`;
    /// the value is the block it is forgotten at (8 bytes BE).
    pub fn pending(author: &str, permlink: &str) -> Vec<u8> {
        format!("{PENDING_PREFIX}{author}/{permlink}").into_bytes()
    }
    pub const PENDING_PREFIX: &str = "pnd/";
    /// `pnx/<block BE8><author>/<permlink>`: the pending posts by the block they expire at.
    pub fn pending_expiry(block: u64, author: &str, permlink: &str) -> Vec<u8> {
        indexed(PENDING_EXPIRY_PREFIX, block, author, permlink)
    }
    pub const PENDING_EXPIRY_PREFIX: &[u8] = b"pnx/";
    /// `pst/<author>/<permlink>`: a registered post; the value is the block it was
    /// registered at and the block its voting closes at (8 bytes BE each).
    pub fn post(author: &str, permlink: &str) -> Vec<u8> {
        format!("{POST_PREFIX}{author}/{permlink}").into_bytes()
    }
    pub const POST_PREFIX: &str = "pst/";
    /// `prw/<block BE8><author>/<permlink>`: the registered posts by the block voting closes.
    pub fn closing(block: u64, author: &str, permlink: &str) -> Vec<u8> {
        indexed(CLOSING_PREFIX, block, author, permlink)
    }
    pub const CLOSING_PREFIX: &[u8] = b"prw/";
    /// `vot/<author>/<permlink>/<voter>`: a vote on a registered post; the value is its
    /// block (8 bytes BE) and its signed value (8 bytes BE two's complement).
    pub fn vote(author: &str, permlink: &str, voter: &str) -> Vec<u8> {
        format!("{}{voter}", votes_of(author, permlink)).into_bytes()
    }
    /// The prefix of every vote on one post.
    pub fn votes_of(author: &str, permlink: &str) -> String {
        format!("vot/{author}/{permlink}/")
    }
    /// `mana/<acct>`: the vote-mana meters: up power, up last block, down power, down last
    /// block (8 bytes BE each). Absent: both full.
    pub fn mana(acct: &str) -> Vec<u8> {
        format!("mana/{acct}").into_bytes()
    }
    /// `eco/mw`: the payout curve's moving weight (the reference's `movingWeight.running`).
    pub const MOVING_WEIGHT: &[u8] = b"eco/mw";
    /// `paid/<author>/<permlink>`: what a closed post earned (JSON, for the API).
    pub fn paid(author: &str, permlink: &str) -> Vec<u8> {
        format!("{PAID_PREFIX}{author}/{permlink}").into_bytes()
    }
    pub const PAID_PREFIX: &str = "paid/";
    /// `lvq/<author>/<permlink>`: a post queued for the leader's next voter round; the
    /// value is its vote sum (8 bytes BE).
    pub fn leader_queued(author: &str, permlink: &str) -> Vec<u8> {
        format!("{LEADER_QUEUED_PREFIX}{author}/{permlink}").into_bytes()
    }
    pub const LEADER_QUEUED_PREFIX: &str = "lvq/";
    /// `lvd/<author>/<permlink>`: a Hive vote due from the leader; the value is its weight
    /// in basis points and the block it stops being listed (8 bytes BE each).
    pub fn leader_due(author: &str, permlink: &str) -> Vec<u8> {
        format!("{LEADER_DUE_PREFIX}{author}/{permlink}").into_bytes()
    }
    pub const LEADER_DUE_PREFIX: &str = "lvd/";
    /// `lvx/<block BE8><author>/<permlink>`: the due votes by the block they stop being
    /// listed.
    pub fn leader_expiry(block: u64, author: &str, permlink: &str) -> Vec<u8> {
        indexed(LEADER_EXPIRY_PREFIX, block, author, permlink)
    }
    pub const LEADER_EXPIRY_PREFIX: &[u8] = b"lvx/";

    fn indexed(prefix: &[u8], block: u64, author: &str, permlink: &str) -> Vec<u8> {
        let mut k = prefix.to_vec();
        k.extend_from_slice(&block.to_be_bytes());
        k.extend_from_slice(author.as_bytes());
        k.push(b'/');
        k.extend_from_slice(permlink.as_bytes());
        k
    }

    /// Decodes an index key (`pnx/`, `prw/`) into (block, author, permlink).
    pub fn parse_indexed(prefix: &[u8], key: &[u8]) -> Option<(u64, String, String)> {
        let rest = key.strip_prefix(prefix)?;
        if rest.len() < 8 {
            return None;
        }
        let block = u64::from_be_bytes(rest[..8].try_into().ok()?);
        let (author, permlink) = std::str::from_utf8(&rest[8..]).ok()?.split_once('/')?;
        Some((block, author.to_string(), permlink.to_string()))
    }
}
