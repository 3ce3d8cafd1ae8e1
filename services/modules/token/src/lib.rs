//! The token ledger module.
