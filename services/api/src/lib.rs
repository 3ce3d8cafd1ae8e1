//! opentoken api.
