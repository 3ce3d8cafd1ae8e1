//! Fault injection for the consensus tests (cargo feature `fault-injection`):
//! `OPENTOKEN_FAULT_MS_SIGN_WRONG_DIGEST` makes the multi-sig duty sign other bytes than
//! the module's transaction (`opentoken-consensus`), and
//! `OPENTOKEN_FAULT_CORRUPT_STATE_AT=<block>` writes one stray key into the token module's
//! state once the processor has passed that block (as a memory or software fault would),
//! once per process. A build without the feature refuses to start with the variable set,
//! so a release node can neither corrupt itself nor silently ignore a test's intent.

use anyhow::Result;
use opentoken_processor::Processor;

const VAR: &str = "OPENTOKEN_FAULT_CORRUPT_STATE_AT";

/// The pending fault of this process, if one was asked for.
pub(crate) struct FaultHook {
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    corrupt_at: Option<u64>,
}

impl FaultHook {
    /// Reads the fault asked for in the environment.
    pub(crate) fn from_env() -> Result<Self> {
        Self::from_setting(std::env::var_os(VAR).map(|v| v.to_string_lossy().into_owned()))
    }

    /// The fault `setting` (the variable's value) asks for.
    #[cfg(feature = "fault-injection")]
    fn from_setting(setting: Option<String>) -> Result<Self> {
        let corrupt_at = match setting {
            Some(text) => Some(
                text.parse()
                    .map_err(|e| anyhow::anyhow!("{VAR}={text:?} is not a block number: {e}"))?,
            ),
            None => None,
        };
        Ok(Self { corrupt_at })
    }

    /// Refuses any fault: this build has no fault injection.
    #[cfg(not(feature = "fault-injection"))]
    fn from_setting(setting: Option<String>) -> Result<Self> {
        let ms = opentoken_consensus::ms_duty::FAULT_SIGN_WRONG_DIGEST;
        if std::env::var_os(ms).is_some() {
            anyhow::bail!(
                "{ms} is set, but this binary was built without the `fault-injection` feature; \
                 unset it (it is a test hook), or build with `cargo build -p opentoken --features fault-injection`"
            );
        }
        if setting.is_some() {
            anyhow::bail!(
                "{VAR} is set, but this binary was built without the `fault-injection` feature; \
                 unset it (it is a test hook), or build with `cargo build -p opentoken --features fault-injection`"
            );
        }
        Ok(Self { corrupt_at: None })
    }

    /// Corrupts the token state if the processor has reached the fault's block (once).
    #[cfg(feature = "fault-injection")]
    pub(crate) fn after_step(&mut self, processor: &mut Processor) {
        let (Some(at), Some(done)) = (self.corrupt_at, processor.last_block()) else {
            return;
        };
        if done < at {
            return;
        }
        if let Some(slot) = processor.engine_mut().slot_mut("token") {
            opentoken_core::StateWrite::put(&mut slot.state, b"fault/injected".to_vec(), done.to_be_bytes().to_vec());
            tracing::warn!(
                block = done,
                "OPENTOKEN_FAULT_CORRUPT_STATE_AT: token state corrupted on purpose"
            );
        }
        self.corrupt_at = None;
    }

    /// Nothing to inject in this build.
    #[cfg(not(feature = "fault-injection"))]
    pub(crate) fn after_step(&mut self, _processor: &mut Processor) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_setting_no_fault() {
        assert_eq!(FaultHook::from_setting(None).expect("no fault").corrupt_at, None);
    }

    #[cfg(feature = "fault-injection")]
    #[test]
    fn the_setting_is_a_block_number() {
        let hook = FaultHook::from_setting(Some("90".into())).expect("a block");
        assert_eq!(hook.corrupt_at, Some(90));
        assert!(FaultHook::from_setting(Some("ninety".into())).is_err());
    }

    #[cfg(not(feature = "fault-injection"))]
    #[test]
    fn a_build_without_the_feature_refuses_to_start_with_the_setting() {
        let refused = FaultHook::from_setting(Some("90".into())).err().expect("refused");
        assert!(refused.to_string().contains("`fault-injection` feature"), "{refused}");
    }
}
