//! Building state dumps in the reference node's `/state` shapes (nested JSON objects, one
//! level per path segment), for the `import-state` tests.

use serde_json::{Map, Value};

/// Puts `v` at `path` in `tree`, creating the objects on the way. Panics when a segment on
/// the way already holds a non-object (a test building a malformed dump by mistake).
pub fn put_path(tree: &mut Map<String, Value>, path: &[&str], v: Value) {
    let Some((last, parents)) = path.split_last() else {
        panic!("an empty path");
    };
    let mut node = tree;
    for p in parents {
        node = node
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .unwrap_or_else(|| panic!("{p} in {path:?} is not an object"));
    }
    node.insert(last.to_string(), v);
}
