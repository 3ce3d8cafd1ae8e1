//! Evolve: how each event changes the ledger. Total by contract: an event `handle` or
//! `on_block` produced always applies, so every failure here is a broken invariant.

use crate::keys::{self, decode_blocks, encode_blocks, encode_u64, Bucket, Pool};
use crate::state::{add, cancel_schedule, credit, debit, sub};
use crate::TokenEvent;
use opentoken_core::module::InvariantError;
use opentoken_core::StateWrite;

pub(crate) fn apply(event: &TokenEvent, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
    match event {
        TokenEvent::Minted {
            account,
            bucket,
            amount,
        } => {
            credit(state, *bucket, account, *amount)?;
            add(state, keys::SUPPLY.to_vec(), *amount)
        }
        TokenEvent::Transferred { from, to, amount } => {
            debit(state, Bucket::Liquid, from, *amount)?;
            credit(state, Bucket::Liquid, to, *amount)
        }
        TokenEvent::PoweredUp { account, amount } => {
            debit(state, Bucket::Liquid, account, *amount)?;
            credit(state, Bucket::Power, account, *amount)
        }
        TokenEvent::GovLocked { account, amount } => {
            debit(state, Bucket::Liquid, account, *amount)?;
            credit(state, Bucket::Gov, account, *amount)
        }
        TokenEvent::Claimed {
            account,
            liquid,
            locked,
            to_gov,
        } => {
            debit(state, Bucket::Claimable, account, liquid + locked)?;
            credit(state, Bucket::Liquid, account, *liquid)?;
            credit(
                state,
                if *to_gov { Bucket::Gov } else { Bucket::Power },
                account,
                *locked,
            )
        }
        TokenEvent::WithdrawalScheduled {
            account,
            unlock,
            installments,
            ..
        } => {
            cancel_schedule(state, *unlock, account);
            for (block, amt) in installments {
                state.put(keys::schedule(*block, *unlock, account), encode_u64(*amt));
            }
            if !installments.is_empty() {
                let blocks: Vec<u64> = installments.iter().map(|(b, _)| *b).collect();
                state.put(keys::schedule_index(*unlock, account), encode_blocks(&blocks));
            }
            Ok(())
        }
        TokenEvent::WithdrawalCancelled { account, unlock } => {
            cancel_schedule(state, *unlock, account);
            Ok(())
        }
        TokenEvent::WithdrawalPaid {
            account,
            unlock,
            block,
            paid,
            ..
        } => {
            state.delete(&keys::schedule(*block, *unlock, account));
            let index = keys::schedule_index(*unlock, account);
            let rest: Vec<u64> = state
                .get(&index)
                .map(decode_blocks)
                .unwrap_or_default()
                .into_iter()
                .filter(|b| b != block)
                .collect();
            if rest.is_empty() {
                state.delete(&index);
            } else {
                state.put(index, encode_blocks(&rest));
            }
            debit(state, unlock.bucket(), account, *paid)?;
            credit(state, Bucket::Liquid, account, *paid)
        }
        TokenEvent::PowerGranted {
            from,
            to,
            previous,
            amount,
        } => {
            if amount > previous {
                let more = amount - previous;
                debit(state, Bucket::Power, from, more)?;
                add(state, keys::grant(from, to), more)?;
                add(state, keys::granting(from), more)?;
                add(state, keys::granted(to), more)?;
                add(state, keys::GRANTED_TOTAL.to_vec(), more)
            } else {
                let less = previous - amount;
                sub(state, keys::grant(from, to), less)?;
                sub(state, keys::granting(from), less)?;
                sub(state, keys::granted(to), less)?;
                sub(state, keys::GRANTED_TOTAL.to_vec(), less)?;
                credit(state, Bucket::Power, from, less)
            }
        }
        TokenEvent::DelegationSet { account, vests } => {
            state.put(keys::delegation(account), encode_u64(*vests));
            Ok(())
        }
        TokenEvent::DelegationRemoved { account } => {
            state.delete(&keys::delegation(account));
            Ok(())
        }
        TokenEvent::NodeRegistered { account } => {
            state.put(keys::node(account), vec![1]);
            Ok(())
        }
        TokenEvent::NodeRemoved { account } => {
            state.delete(&keys::node(account));
            Ok(())
        }
        TokenEvent::DexEscrowed { account, amount, .. } => {
            debit(state, Bucket::Liquid, account, *amount)?;
            add(state, keys::DEX_ESCROW.to_vec(), *amount)
        }
        TokenEvent::DexCredited { account, amount, .. } => {
            sub(state, keys::DEX_ESCROW.to_vec(), *amount)?;
            credit(state, Bucket::Liquid, account, *amount)
        }
        TokenEvent::NftEscrowed { account, amount, .. } => {
            debit(state, Bucket::Liquid, account, *amount)?;
            add(state, keys::NFT_ESCROW.to_vec(), *amount)
        }
        TokenEvent::NftCredited { account, amount, .. } => {
            sub(state, keys::NFT_ESCROW.to_vec(), *amount)?;
            credit(state, Bucket::Liquid, account, *amount)
        }
        TokenEvent::LeaderVoteQueued { author, permlink, sum } => {
            if *sum == 0 {
                return Err(crate::state::broken(format!(
                    "@{author}/{permlink} queued for the leader with no votes"
                )));
            }
            state.put(keys::pob::leader_queued(author, permlink), encode_u64(*sum));
            Ok(())
        }
        TokenEvent::LeaderVotesDue { expires, votes, .. } => {
            for v in votes {
                let queued = keys::pob::leader_queued(&v.author, &v.permlink);
                if state.get(&queued).is_none() {
                    return Err(crate::state::broken(format!(
                        "the leader's vote on @{}/{} is due but was not queued",
                        v.author, v.permlink
                    )));
                }
                state.delete(&queued);
                if v.weight > 0 {
                    let mut due = encode_u64(v.weight);
                    due.extend_from_slice(&expires.to_be_bytes());
                    state.put(keys::pob::leader_due(&v.author, &v.permlink), due);
                    state.put(keys::pob::leader_expiry(*expires, &v.author, &v.permlink), vec![1]);
                }
            }
            Ok(())
        }
        TokenEvent::LeaderVoted { author, permlink, .. } | TokenEvent::LeaderVoteExpired { author, permlink } => {
            let due = keys::pob::leader_due(author, permlink);
            let (_, expires) = state
                .get(&due)
                .and_then(crate::pob::decode_due)
                .ok_or_else(|| crate::state::broken(format!("no leader vote on @{author}/{permlink} is due")))?;
            state.delete(&due);
            state.delete(&keys::pob::leader_expiry(expires, author, permlink));
            Ok(())
        }
        TokenEvent::PaidPruned { posts, .. } => {
            for post in posts {
                let (author, permlink) = post
                    .split_once('/')
                    .ok_or_else(|| crate::state::broken(format!("pruned post {post:?} is not author/permlink")))?;
                let key = keys::pob::paid(author, permlink);
                if state.get(&key).is_none() {
                    return Err(crate::state::broken(format!(
                        "@{post} is pruned but has no paid record"
                    )));
                }
                state.delete(&key);
            }
            Ok(())
        }
        TokenEvent::NftEscrowSeeded { amount } => {
            add(state, keys::NFT_ESCROW.to_vec(), *amount)?;
            add(state, keys::SUPPLY.to_vec(), *amount)
        }
        TokenEvent::NftBurned { amount, .. } => {
            sub(state, keys::NFT_ESCROW.to_vec(), *amount)?;
            sub(state, keys::SUPPLY.to_vec(), *amount)
        }
        TokenEvent::NftPriced { item, price } => {
            let key = keys::nft_price(item);
            if *price == 0 {
                state.delete(&key);
            } else {
                state.put(key, encode_u64(*price));
            }
            Ok(())
        }
        TokenEvent::Inflated { amount, .. } => {
            add(state, Pool::Minted.key(), *amount)?;
            add(state, keys::SUPPLY.to_vec(), *amount)
        }
        TokenEvent::WinsCounted { accounts, node_rate } => {
            for a in accounts {
                let key = keys::wins(a);
                let now = keys::amount(state, &key);
                state.put(key, encode_u64(now.saturating_add(1)));
            }
            state.put(keys::NODE_RATE.to_vec(), encode_u64(*node_rate));
            Ok(())
        }
        TokenEvent::DaoDay(d) => {
            sub(state, Pool::Minted.key(), d.minted)?;
            add(state, Pool::Nodes.key(), d.to_nodes)?;
            // `overflow` is part of `to_marketing` that the cap sends to content instead.
            let overflow = d.overflow.min(d.to_marketing);
            add(state, Pool::Marketing.key(), d.to_marketing - overflow)?;
            add(state, Pool::Delegators.key(), d.to_delegators)?;
            add(state, Pool::Content.key(), d.to_content.saturating_add(overflow))?;
            let wins: Vec<Vec<u8>> = state
                .scan_prefix(keys::WINS_PREFIX.as_bytes())
                .map(|(k, _)| k.to_vec())
                .collect();
            for k in wins {
                state.delete(&k);
            }
            let day = serde_json::to_vec(d).map_err(|e| crate::state::broken(format!("DAO day: {e}")))?;
            state.put(keys::LAST_DAY.to_vec(), day);
            Ok(())
        }
        TokenEvent::PoolPaid { pool, account, amount } => {
            sub(state, pool.key(), *amount)?;
            credit(state, Bucket::Claimable, account, *amount)
        }
        TokenEvent::PoolSeeded { pool, amount } => {
            add(state, pool.key(), *amount)?;
            add(state, keys::SUPPLY.to_vec(), *amount)
        }
        TokenEvent::ManaSeeded { account, mana } => {
            state.put(keys::pob::mana(account), mana.encode());
            Ok(())
        }
        TokenEvent::DaySeeded(d) => {
            let day = serde_json::to_vec(d).map_err(|e| crate::state::broken(format!("DAO day: {e}")))?;
            state.put(keys::LAST_DAY.to_vec(), day);
            Ok(())
        }
        TokenEvent::PaidSeeded { author, permlink, paid } => {
            let paid = serde_json::to_vec(paid).map_err(|e| crate::state::broken(format!("paid post: {e}")))?;
            state.put(keys::pob::paid(author, permlink), paid);
            Ok(())
        }
        TokenEvent::PostPending {
            author,
            permlink,
            expires,
            ..
        } => {
            state.put(keys::pob::pending(author, permlink), encode_u64(*expires));
            state.put(keys::pob::pending_expiry(*expires, author, permlink), vec![1]);
            Ok(())
        }
        TokenEvent::PostExpired {
            author,
            permlink,
            expires,
        } => {
            state.delete(&keys::pob::pending(author, permlink));
            state.delete(&keys::pob::pending_expiry(*expires, author, permlink));
            Ok(())
        }
        TokenEvent::PostRegistered {
            author,
            permlink,
            block,
            closes,
        } => {
            let pending = keys::pob::pending(author, permlink);
            let expires = state
                .get(&pending)
                .and_then(keys::decode_u64)
                .ok_or_else(|| crate::state::broken(format!("@{author}/{permlink} registers but is not pending")))?;
            state.delete(&pending);
            state.delete(&keys::pob::pending_expiry(expires, author, permlink));
            let mut post = encode_u64(*block);
            post.extend_from_slice(&closes.to_be_bytes());
            state.put(keys::pob::post(author, permlink), post);
            state.put(keys::pob::closing(*closes, author, permlink), vec![1]);
            Ok(())
        }
        TokenEvent::VoteCast {
            voter,
            author,
            permlink,
            block,
            value,
            mana,
        } => {
            let key = keys::pob::vote(author, permlink, voter);
            if *value == 0 {
                state.delete(&key);
            } else {
                state.put(key, crate::pob::encode_vote(*block, *value));
            }
            state.put(keys::pob::mana(voter), mana.encode());
            Ok(())
        }
        TokenEvent::PobTally { running, .. } => {
            if *running == 0 {
                state.delete(keys::pob::MOVING_WEIGHT);
            } else {
                state.put(keys::pob::MOVING_WEIGHT.to_vec(), encode_u64(*running));
            }
            Ok(())
        }
        TokenEvent::PostPaid { block, payout } => {
            let (author, permlink) = (&payout.author, &payout.permlink);
            let (_, closes) = crate::pob::post(state, author, permlink)
                .ok_or_else(|| crate::state::broken(format!("@{author}/{permlink} is paid but not registered")))?;
            let mut curation: u64 = 0;
            for (account, amount) in &payout.curators {
                sub(state, Pool::Content.key(), *amount)?;
                credit(state, Bucket::Claimable, account, *amount)?;
                curation = curation.saturating_add(*amount);
            }
            sub(state, Pool::Content.key(), payout.author_share)?;
            credit(state, Bucket::Claimable, author, payout.author_share)?;
            let votes: Vec<Vec<u8>> = state
                .scan_prefix(keys::pob::votes_of(author, permlink).as_bytes())
                .map(|(k, _)| k.to_vec())
                .collect();
            for k in votes {
                state.delete(&k);
            }
            state.delete(&keys::pob::post(author, permlink));
            state.delete(&keys::pob::closing(closes, author, permlink));
            let paid = crate::pob::PaidPost {
                block: *block,
                weight: payout.weight,
                author_share: payout.author_share,
                curation,
            };
            let paid = serde_json::to_vec(&paid).map_err(|e| crate::state::broken(format!("paid post: {e}")))?;
            state.put(keys::pob::paid(author, permlink), paid);
            Ok(())
        }
    }
}
