//! Which module owns an operation. The ingester routes with it once; processors never
//! see another module's ops.

use crate::hive::HiveOp;
use crate::module::Route;
use crate::spec::ChainSpec;

/// The routing facts of one module, as the ingester needs them.
pub trait RouteTable: Send + Sync {
    fn module_name(&self) -> &'static str;
    fn route_list(&self) -> &[Route];
    fn wants_hive_op(&self, op: &HiveOp, spec: &ChainSpec) -> bool;
}

/// Routes operations to module names. A custom_json with the community prefix whose name no
/// module owns goes to the first (core) module, which records it as an unknown operation.
pub struct Router<'a> {
    spec: &'a ChainSpec,
    tables: Vec<&'a dyn RouteTable>,
}

/// The modules it routes to, by name.
impl std::fmt::Debug for Router<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("prefix", &self.spec.prefix)
            .field("modules", &self.module_names())
            .finish_non_exhaustive()
    }
}

impl<'a> Router<'a> {
    pub fn new(spec: &'a ChainSpec, tables: Vec<&'a dyn RouteTable>) -> Self {
        Self { spec, tables }
    }

    pub fn module_names(&self) -> Vec<&'static str> {
        self.tables.iter().map(|t| t.module_name()).collect()
    }

    /// The owning module, or `None` when the op is not the community's.
    pub fn route(&self, op: &HiveOp) -> Option<&'static str> {
        match op {
            HiveOp::CustomJson(cj) => {
                let name = cj.id.strip_prefix(self.spec.prefix.as_str())?;
                self.tables
                    .iter()
                    .find(|t| t.route_list().iter().any(|r| r.name == name))
                    .or_else(|| self.tables.first())
                    .map(|t| t.module_name())
            }
            other => self
                .tables
                .iter()
                .find(|t| t.wants_hive_op(other, self.spec))
                .map(|t| t.module_name()),
        }
    }
}
