//! opentoken ingester.
