//! The NFT module's coin. On a chain that runs it (a `modules.nft` section), HIVE/HBD-priced
//! sales, auctions and reserved transfers are paid by a deposit whose memo names the offer
//! (`NFTbuy`, `NFTbid`, `NFTtrade <set>:<uid>`, the reference's memos): after the checks
//! every deposit gets (the minimum, the safety limit) it is escrowed for the NFT module
//! (`tot/nft/<COIN>`) and sent there as a `coin` message. The NFT module settles or
//! refunds it with `pay` messages, handled like the DEX's ([`crate::dex`]): to a Layer-2
//! balance or out to Hive, never stuck.

use crate::keys::Coin;
use crate::{MultisigEvent, MultisigModule};
use opentoken_core::{OpContext, TransferOp};
use opentoken_nft::protocol::{parse_memo, CoinIn};

/// The NFT module: who receives `coin` and sends `pay`.
pub(crate) const NFT: &str = opentoken_nft::NAME;

impl MultisigModule {
    /// What a deposit's memo means to the NFT module: `None` on a chain without one or
    /// for a memo that is not an NFT memo; else the escrow, or why the memo is malformed.
    pub(crate) fn nft_memo(
        &self,
        ctx: &OpContext<'_>,
        t: &TransferOp,
        coin: Coin,
        amt: u64,
    ) -> Option<Result<MultisigEvent, String>> {
        if !self.nft {
            return None;
        }
        Some(parse_memo(&t.memo)?.and_then(|(what, set, id)| {
            let payment = CoinIn {
                from: t.from.clone(),
                coin: coin.to_string(),
                amount: amt,
                what,
                set,
                id,
                txid: ctx.txid.to_string(),
                block: ctx.pos.block,
            };
            let order = serde_json::to_string(&payment).map_err(|e| format!("the payment does not encode: {e}"))?;
            Ok(MultisigEvent::Escrowed {
                module: NFT.to_string(),
                account: t.from.clone(),
                asset: coin,
                amount: amt,
                order,
                from_l2: false,
            })
        }))
    }
}
