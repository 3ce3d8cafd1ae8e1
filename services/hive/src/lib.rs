//! opentoken hive.
