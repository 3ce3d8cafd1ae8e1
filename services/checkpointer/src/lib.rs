//! opentoken checkpointer.
