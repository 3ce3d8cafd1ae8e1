//! [`CounterModule`]: the smallest module, for tests of what runs modules (engine,
//! processor, store) rather than of a module.

use crate::hive::Auth;
use crate::module::{BlockContext, GenesisError, Input, InvariantError, Module, ModuleEvent, OpContext, Reject, Route};
use crate::spec::ChainSpec;
use crate::state::{StateRead, StateWrite};

/// Module `counter`: every `count` custom_json (posting authority) counts one for its
/// signer; genesis counts one for `genesis`. Signer `s`'s count is the length of the value
/// at `n/<s>`. No chron work, no messages.
#[derive(Debug, Clone, Copy, Default)]
pub struct CounterModule;

/// Who counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted(pub String);

impl ModuleEvent for Counted {
    type CodecError = std::string::FromUtf8Error;
    fn kind(&self) -> &'static str {
        "Counted"
    }
    /// The account name's bytes (a test module needs no schema).
    fn encode(&self) -> Result<Vec<u8>, Self::CodecError> {
        Ok(self.0.as_bytes().to_vec())
    }
    fn decode(bytes: &[u8]) -> Result<Self, Self::CodecError> {
        String::from_utf8(bytes.to_vec()).map(Counted)
    }
}

const ROUTES: &[Route] = &[Route {
    name: "count",
    auth: Auth::Posting,
}];

impl CounterModule {
    /// The state key of `account`'s count.
    pub fn key(account: &str) -> Vec<u8> {
        format!("n/{account}").into_bytes()
    }

    /// `account`'s count in `state`.
    pub fn count(state: &dyn StateRead, account: &str) -> usize {
        state.get(&Self::key(account)).map(|v| v.len()).unwrap_or(0)
    }
}

impl Module for CounterModule {
    type Event = Counted;
    fn name(&self) -> &'static str {
        "counter"
    }
    fn routes(&self) -> &[Route] {
        ROUTES
    }
    fn genesis(&self, _: &ChainSpec) -> Result<Vec<Counted>, GenesisError> {
        Ok(vec![Counted("genesis".into())])
    }
    fn handle(&self, _: &OpContext<'_>, input: Input<'_>, _: &dyn StateRead) -> Result<Vec<Counted>, Reject> {
        match input {
            Input::CustomJson { from, .. } => Ok(vec![Counted(from.to_string())]),
            _ => Err(Reject::field("unexpected")),
        }
    }
    fn on_block(&self, _: &BlockContext<'_>, _: &dyn StateRead) -> Result<Vec<Counted>, InvariantError> {
        Ok(vec![])
    }
    fn next_due_block(&self, _: &dyn StateRead, _: u64) -> Option<u64> {
        None
    }
    fn apply(&self, who: &Counted, state: &mut dyn StateWrite) -> Result<(), InvariantError> {
        let key = Self::key(&who.0);
        let n = state.get(&key).map(|v| v.len()).unwrap_or(0);
        state.put(key, vec![0; n + 1]);
        Ok(())
    }
    fn describe(&self, e: &Counted) -> String {
        format!("counted {}", e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{assert_applied, assert_rejected, custom_json, test_spec, TestNet};
    use crate::{HiveOp, RejectCode};
    use std::sync::Arc;

    fn count(id: &str, signer: &str) -> HiveOp {
        custom_json(id, &[], &[signer], "{}")
    }

    #[test]
    fn counts_per_signer_through_the_engine() {
        let mut net = TestNet::new(test_spec(), vec![Arc::new(CounterModule)]);
        assert_eq!(CounterModule::count(net.state("counter"), "genesis"), 1);
        let b = net.run(
            "counter",
            vec![count("dlux_count", "alice"), count("dlux_count", "alice")],
        );
        assert_applied(&b.status(0).outcome, "first");
        assert_applied(&b.status(1).outcome, "second");
        assert_eq!(b.kinds(), vec!["Counted", "Counted"]);
        assert_eq!(CounterModule::count(net.state("counter"), "alice"), 2);

        // A message from a module elsewhere is delivered at the start of the next block.
        net.deliver("other", "counter", "hello", "{}");
        assert_eq!(net.pending_messages().len(), 1);
        let b = net.run("counter", vec![]);
        assert_eq!(b.statuses()[0].txid, "msg:other:1:0:0:0");
        assert_rejected(&b.statuses()[0].outcome, RejectCode::InvalidField, "message");
        assert!(net.pending_messages().is_empty());
    }
}
