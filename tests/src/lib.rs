//! Cross-service tests live in tests/*.rs.
