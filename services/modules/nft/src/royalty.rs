//! Royalties: every sale pays the set's royalty (basis points of the price, rounded down)
//! to the author, or over the split the author set (`nft_add_roy`): each share after the
//! first gets its basis points of the royalty, rounded down, and the first gets the rest,
//! so the shares always add up to the royalty exactly.

use crate::events::Share;
use crate::keys::Set;

/// The royalty payments of a sale of `price` in `set` (no zero payments).
pub fn royalties(set: &Set, price: u64) -> Vec<Share> {
    let royalty = (u128::from(price) * u128::from(set.royalty_bp) / 10_000) as u64;
    if royalty == 0 {
        return Vec::new();
    }
    let split: Vec<(String, u64)> = match &set.distro {
        Some(d) if !d.is_empty() => d.clone(),
        _ => vec![(set.author.clone(), 10_000)],
    };
    let mut out: Vec<Share> = Vec::with_capacity(split.len());
    let mut rest = royalty;
    for (account, bp) in split.iter().skip(1) {
        let amount = (u128::from(royalty) * u128::from(*bp) / 10_000) as u64;
        rest -= amount.min(rest);
        out.push(Share {
            account: account.clone(),
            amount,
        });
    }
    out.insert(
        0,
        Share {
            account: split[0].0.clone(),
            amount: rest,
        },
    );
    out.retain(|s| s.amount > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::sample_set;
    use proptest::prelude::*;

    #[test]
    fn the_first_share_takes_the_rounding() {
        let mut set = sample_set();
        set.royalty_bp = 1000;
        set.distro = Some(vec![
            ("alice".into(), 3334),
            ("bob".into(), 3333),
            ("carol".into(), 3333),
        ]);
        let r = royalties(&set, 1000);
        let total: u64 = r.iter().map(|s| s.amount).sum();
        assert_eq!(total, 100);
        assert_eq!(r[0].account, "alice");
        assert_eq!(r[0].amount, 34);
    }

    proptest! {
        #[test]
        fn shares_add_up_to_the_royalty(price in 0u64..1u64 << 62, bp in 0u64..=10_000, a in 0u64..=10_000) {
            let mut set = sample_set();
            set.royalty_bp = bp;
            set.distro = Some(vec![("alice".into(), a), ("bob".into(), 10_000 - a)]);
            let total: u64 = royalties(&set, price).iter().map(|s| s.amount).sum();
            prop_assert_eq!(u128::from(total), u128::from(price) * u128::from(bp) / 10_000);
            prop_assert!(total <= price);
        }
    }
}
