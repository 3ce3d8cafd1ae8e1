//! `send {"to", "amount", "memo"?}`: moves liquid tokens to another account (at least the
//! chain's `min_send_to_new_account` to one that holds no liquid balance). The memo is the
//! sender's note and changes nothing: like the reference, whatever it is (a string, a
//! number, an object) is not validated and does not fail the send.

use crate::keys::{self, Bucket};
use crate::parse::{recipient_field, Payload};
use crate::state::{enough_for_new_key, liquid_amount};
use crate::{TokenEvent, TokenModule};
use opentoken_core::{Reject, StateRead};

impl TokenModule {
    pub(crate) fn send(&self, from: &str, payload: &Payload, state: &dyn StateRead) -> Result<Vec<TokenEvent>, Reject> {
        let to = recipient_field(payload, "to", from)?;
        let amt = liquid_amount(from, payload, state)?;
        enough_for_new_key(
            self.config().min_send_to_new_account,
            state,
            &keys::account(Bucket::Liquid, &to),
            amt,
            &format!("a send to @{to}, who holds no liquid balance,"),
        )?;
        Ok(vec![TokenEvent::Transferred {
            from: from.into(),
            to,
            amount: amt,
        }])
    }
}

#[cfg(test)]
mod tests {
    use crate::keys::{self, Bucket};
    use crate::TokenModule;
    use opentoken_core::test_utils::{assert_applied, assert_rejected, devnet_spec, op, TestNet};
    use opentoken_core::{Outcome, RejectCode, StateRead};
    use std::sync::Arc;

    /// The devnet token module with `min_send_to_new_account` set to `min` (`None`: as
    /// shipped, which sets none).
    fn net(min: Option<u64>) -> TestNet {
        let spec = devnet_spec();
        let spec = match min {
            Some(min) => {
                let mut token = spec
                    .module_config("token")
                    .cloned()
                    .expect("devnet has a token section");
                token["min_send_to_new_account"] = min.into();
                spec.with_module("token", token)
            }
            None => spec,
        };
        let module = Arc::new(TokenModule::from_spec(&spec).expect("valid token config"));
        TestNet::new(spec, vec![module])
    }

    fn one(net: &mut TestNet, signer: &str, name: &str, json: &str) -> Outcome {
        net.run("token", vec![op(signer, name, json)]).outcomes().remove(0)
    }

    fn liquid(net: &TestNet, acct: &str) -> Option<Vec<u8>> {
        net.state("token")
            .get(&keys::account(Bucket::Liquid, acct))
            .map(<[u8]>::to_vec)
    }

    /// Rejected with the minimum named in the recorded reason, and nothing changed.
    fn refused(net: &mut TestNet, signer: &str, name: &str, json: &str) {
        let before = net.state("token").to_map();
        let o = one(net, signer, name, json);
        let reason = assert_rejected(&o, RejectCode::InvalidField, json);
        assert!(reason.contains("min_send_to_new_account"), "{reason}");
        assert!(before == net.state("token").to_map(), "{json} changed the state");
    }

    #[test]
    fn a_minimum_refuses_dust_to_a_never_seen_name_and_nothing_else() {
        let mut net = net(Some(1000));
        // One unit to a name the ledger has never seen: refused, no key created.
        refused(&mut net, "alice", "send", r#"{"to":"never-seen","amount":1}"#);
        refused(&mut net, "alice", "send", r#"{"to":"never-seen","amount":999}"#);
        assert_eq!(liquid(&net, "never-seen"), None);
        // The same to an account that holds a balance passes.
        assert_applied(
            &one(&mut net, "alice", "send", r#"{"to":"bob","amount":1}"#),
            "dust to bob",
        );
        // The minimum itself opens the account; after that any amount goes.
        assert_applied(
            &one(&mut net, "alice", "send", r#"{"to":"never-seen","amount":1000}"#),
            "the minimum",
        );
        assert_applied(
            &one(&mut net, "alice", "send", r#"{"to":"never-seen","amount":1}"#),
            "dust to it now",
        );
        assert_eq!(liquid(&net, "never-seen"), Some(1001u64.to_be_bytes().to_vec()));
        // Insufficient funds is still reported as such.
        let o = one(&mut net, "judy", "send", r#"{"to":"other-name","amount":50001}"#);
        assert_rejected(&o, RejectCode::InsufficientFunds, "judy overdraws");
    }

    /// A memo is not validated, as in the reference: a number, an object or null does not
    /// fail the send, and the tokens move.
    #[test]
    fn any_memo_goes_with_the_send() {
        let mut net = net(None);
        let before = u64::from_be_bytes(liquid(&net, "bob").unwrap().try_into().unwrap());
        for memo in ["7", "{\"ref\":\"x\"}", "null", "[1,2]", "\"text\""] {
            let json = format!(r#"{{"to":"bob","amount":1,"memo":{memo}}}"#);
            assert_applied(&one(&mut net, "alice", "send", &json), &json);
        }
        let after = u64::from_be_bytes(liquid(&net, "bob").unwrap().try_into().unwrap());
        assert_eq!(after, before + 5);
    }

    /// JSON that Hive puts in blocks is not refused as malformed: a memo with a lone
    /// surrogate escape (as a wallet truncating an emoji writes it) and a memo nested 150
    /// deep (past serde_json's 128); nesting past Hive's own limit of 200 is.
    #[test]
    fn json_hive_accepts_is_applied() {
        let mut net = net(None);
        let before = u64::from_be_bytes(liquid(&net, "bob").unwrap().try_into().unwrap());
        let surrogate = r#"{"to":"bob","amount":1,"memo":"thanks \ud83d"}"#;
        assert_applied(&one(&mut net, "alice", "send", surrogate), "a lone surrogate");
        let nested = |n: usize| {
            format!(
                r#"{{"to":"bob","amount":1,"memo":{}0{}}}"#,
                "[".repeat(n - 1),
                "]".repeat(n - 1)
            )
        };
        assert_applied(&one(&mut net, "alice", "send", &nested(150)), "150 deep");
        let o = one(&mut net, "alice", "send", &nested(201));
        let reason = assert_rejected(&o, RejectCode::MalformedJson, "201 deep");
        assert!(reason.contains("Hive's limit of 200"), "{reason}");
        let after = u64::from_be_bytes(liquid(&net, "bob").unwrap().try_into().unwrap());
        assert_eq!(after, before + 2);
    }

    /// A balance that reaches zero loses its key: the account is new again and the
    /// minimum applies to it again.
    #[test]
    fn an_emptied_balance_has_no_key_and_is_new_again() {
        let mut net = net(Some(1000));
        assert!(liquid(&net, "judy").is_some());
        assert_applied(
            &one(&mut net, "judy", "send", r#"{"to":"ivan","amount":50000}"#),
            "all of it",
        );
        assert_eq!(liquid(&net, "judy"), None, "a zero balance is no key");
        refused(&mut net, "ivan", "send", r#"{"to":"judy","amount":1}"#);
        assert_applied(
            &one(&mut net, "ivan", "send", r#"{"to":"judy","amount":1000}"#),
            "the minimum",
        );
    }

    /// A new grant below the minimum is refused; an existing one can be lowered below it
    /// and revoked (which deletes its keys).
    #[test]
    fn a_minimum_refuses_a_dust_grant_to_a_new_name() {
        let mut net = net(Some(1000));
        refused(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":1}"#);
        assert_applied(
            &one(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":1000}"#),
            "a grant of the minimum",
        );
        assert_applied(
            &one(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":1}"#),
            "lowered below it",
        );
        assert_applied(
            &one(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":0}"#),
            "revoked",
        );
        let state = net.state("token");
        assert_eq!(state.get(&keys::grant("alice", "never-seen")), None);
        assert_eq!(state.get(&keys::granted("never-seen")), None);
        refused(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":1}"#);
    }

    /// No minimum (the shipped chain files, the reference): one unit to a never-seen name
    /// opens it, as before.
    #[test]
    fn without_a_minimum_dust_opens_an_account() {
        for min in [None, Some(0)] {
            let mut net = net(min);
            assert_applied(
                &one(&mut net, "alice", "send", r#"{"to":"never-seen","amount":1}"#),
                "dust",
            );
            assert_eq!(liquid(&net, "never-seen"), Some(1u64.to_be_bytes().to_vec()));
            assert_applied(
                &one(&mut net, "alice", "power_grant", r#"{"to":"never-seen","amount":1}"#),
                "a dust grant",
            );
        }
    }
}
