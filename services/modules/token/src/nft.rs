//! The token side of the NFT module (chains whose spec has a `modules.nft` section). The
//! NFT module holds no balances: an op that pays in the token (`opentoken_nft::protocol::PAID_OPS`)
//! escrows its amount here (the `tot/nft` total) and goes to the NFT module as a `paid`
//! message; the NFT module answers with `credit` (escrowed tokens to a balance: a seller,
//! royalties, refunds, bonds, the fee account) and `burn` (out of the supply), and keeps
//! this module's mirror of what each priced item costs (`price`). Nothing leaves the
//! escrow but a credit or a burn, and neither may take more than the escrow holds, so the
//! supply is conserved whatever the NFT module says.

use crate::keys::{self, amount};
use crate::parse::Payload;
use crate::state::{afford, escrow_credit, liquid};
use crate::{NftSetup, TokenEvent, TokenModule};
use opentoken_core::{field, Message, OpContext, Reject, RejectCode, StateRead};
use opentoken_nft::protocol::{
    item_id, priced_item, set_name, Burn, Credit, Paid, Price, KIND_BURN, KIND_CREDIT, KIND_PRICE, PAID_OPS,
};

impl TokenModule {
    /// An op that pays the NFT module: its amount (the field the op names, or the
    /// mirrored price of the item it buys) from the payer's liquid balance into the NFT
    /// escrow. What only the op's own fields can show is checked here, so a malformed op
    /// is rejected with nothing taken; what needs the NFT module's state is checked there
    /// (a failure refunds in full).
    pub(crate) fn nft_paid(
        &self,
        nft: &NftSetup,
        ctx: &OpContext<'_>,
        op: &str,
        from: &str,
        payload: &Payload,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let Some((_, source)) = PAID_OPS.iter().find(|(name, _)| *name == op) else {
            return Err(Reject::new(
                RejectCode::UnknownOperation,
                format!("token has no NFT operation `{op}`"),
            ));
        };
        let paying = match source {
            Some("max_fee") => {
                opentoken_nft::define::parse(&nft.cfg, from, ctx.pos.block, payload)?;
                field::amount(payload, "max_fee", "base units")?
            }
            Some(f) => {
                set_name(payload)?;
                item_id(payload)?;
                field::amount(payload, f, "base units")?
            }
            None => {
                let item = priced_item(op, payload)?;
                let price = amount(state, &keys::nft_price(&item));
                if price == 0 {
                    return Err(Reject::new(
                        RejectCode::NothingToDo,
                        format!("{item} is not offered at a price (sold, cancelled, or never listed)"),
                    ));
                }
                price
            }
        };
        let amount = paying;
        if amount == 0 {
            return Err(Reject::field(format!("`{op}` must pay at least 1")));
        }
        afford(from, amount, liquid(state, from), "liquid")?;
        if keys::amount(state, keys::NFT_ESCROW).checked_add(amount).is_none() {
            return Err(Reject::new(
                RejectCode::Overflow,
                format!("escrowing {amount} would overflow the NFT escrow"),
            ));
        }
        let json = serde_json::to_string(payload).map_err(|e| Reject::field(format!("the op does not encode: {e}")))?;
        Ok(vec![TokenEvent::NftEscrowed {
            account: from.to_string(),
            amount,
            paid: Paid {
                op: op.to_string(),
                from: from.to_string(),
                amount,
                payload: json,
                txid: ctx.txid.to_string(),
                block: ctx.pos.block,
                trx: ctx.pos.trx_in_block,
                op_in_trx: ctx.pos.op_in_trx,
            },
        }])
    }

    /// A message from the NFT module: `credit`, `burn` or `price`. Refused, never guessed:
    /// a payload that does not decode, a zero amount, an account that is neither a Hive
    /// account nor the fee account, more than the escrow holds.
    pub(crate) fn nft_message(
        &self,
        nft: &NftSetup,
        m: &Message,
        state: &dyn StateRead,
    ) -> Result<Vec<TokenEvent>, Reject> {
        let bad = |why: String| Err(Reject::new(RejectCode::BadMessage, why));
        let escrow = amount(state, keys::NFT_ESCROW);
        match m.kind.as_str() {
            KIND_CREDIT => {
                let c: Credit = match serde_json::from_str(&m.payload) {
                    Ok(c) => c,
                    Err(e) => return bad(format!("an nft credit must be {{account, amount, why, item}}: {e}")),
                };
                escrow_credit(
                    state,
                    keys::NFT_ESCROW,
                    "nft",
                    &c.account,
                    c.amount,
                    &nft.cfg.fee_account,
                )?;
                Ok(vec![TokenEvent::NftCredited {
                    account: c.account,
                    amount: c.amount,
                    why: c.why,
                    item: c.item,
                }])
            }
            KIND_BURN => {
                let b: Burn = match serde_json::from_str(&m.payload) {
                    Ok(b) => b,
                    Err(e) => return bad(format!("an nft burn must be {{amount, item}}: {e}")),
                };
                if b.amount == 0 || b.amount > escrow {
                    return bad(format!("an nft burn of {} (the escrow holds {escrow})", b.amount));
                }
                Ok(vec![TokenEvent::NftBurned {
                    amount: b.amount,
                    item: b.item,
                }])
            }
            KIND_PRICE => {
                let p: Price = match serde_json::from_str(&m.payload) {
                    Ok(p) => p,
                    Err(e) => return bad(format!("an nft price must be {{item, price}}: {e}")),
                };
                if p.item.is_empty() || p.item.len() > 128 || p.price > field::MAX_AMOUNT {
                    return bad(format!(
                        "an nft price of {} for an item of {} bytes",
                        p.price,
                        p.item.len()
                    ));
                }
                Ok(vec![TokenEvent::NftPriced {
                    item: p.item,
                    price: p.price,
                }])
            }
            other => bad(format!("token accepts credit, burn and price from nft, not {other}")),
        }
    }
}
