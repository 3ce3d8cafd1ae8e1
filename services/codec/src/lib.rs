//! opentoken codec.
