//! Hive account-name rules, so that no arbitrary string becomes a ledger key.

/// Hive's `is_valid_account_name`: 3..=16 chars, dot-separated labels, each label starts
/// with a letter, ends with a letter or digit, and holds only `a-z0-9-` with at least 3
/// chars per label.
pub fn is_valid_account_name(name: &str) -> bool {
    let len = name.len();
    if !(3..=16).contains(&len) {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        b.len() >= 3
            && b[0].is_ascii_lowercase()
            && b[b.len() - 1].is_ascii_lowercase() | b[b.len() - 1].is_ascii_digit()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["dlux-io", "abc", "alice.bob", "a12", "robotolux", "spk-cc"] {
            assert!(is_valid_account_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "Alice",
            "1abc",
            "abc-",
            "a.bc",
            "this-name-is-too-long",
            "",
            "ab..c",
            "null ",
            "a_b",
        ] {
            assert!(!is_valid_account_name(bad), "{bad}");
        }
    }
}
