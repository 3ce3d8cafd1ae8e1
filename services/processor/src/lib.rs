//! opentoken processor.
