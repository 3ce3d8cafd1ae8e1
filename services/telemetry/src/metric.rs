//! What a declared metric is: a name and help text fixed at compile time, typed as a
//! counter or a gauge so that a call site can neither misspell the name nor set a counter.
//!
//! The declarations themselves are in [`crate::metrics`]; this file is the mechanism.

use crate::{Kind, Telemetry};

/// A declared metric, whatever its type: what rendering and the naming checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
}

/// A value that only goes up (rendered as `# TYPE <name> counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter(Descriptor);

impl Counter {
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        Self(Descriptor {
            name,
            help,
            kind: Kind::Counter,
        })
    }

    pub fn add(&self, telemetry: &Telemetry, by: u64) {
        telemetry.counter_add(self.0.name, self.0.help, by);
    }

    /// The total so far; `None` until the first `add`.
    pub fn get(&self, telemetry: &Telemetry) -> Option<f64> {
        telemetry.get(self.0.name)
    }

    pub const fn descriptor(&self) -> Descriptor {
        self.0
    }
}

/// A value that is set, not accumulated (rendered as `# TYPE <name> gauge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge(Descriptor);

impl Gauge {
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        Self(Descriptor {
            name,
            help,
            kind: Kind::Gauge,
        })
    }

    pub fn set(&self, telemetry: &Telemetry, value: f64) {
        telemetry.gauge_set(self.0.name, self.0.help, value);
    }

    /// The last value set in this process; `None` until the first `set`.
    pub fn get(&self, telemetry: &Telemetry) -> Option<f64> {
        telemetry.get(self.0.name)
    }

    pub const fn descriptor(&self) -> Descriptor {
        self.0
    }
}

/// Declares one role's metrics: a struct with one typed field per metric, whose rustdoc is
/// the metric's help text, and a constant holding it.
///
/// ```text
/// metric_set! {
///     /// What the role is.
///     pub struct RoleMetrics = ROLE {
///         things_done: Counter("opentoken_things_done_total", "Things done"),
///     }
/// }
/// ```
macro_rules! metric_set {
    (
        $(#[$meta:meta])*
        pub struct $set:ident = $constant:ident {
            $( $field:ident : $kind:ident ( $name:literal, $help:literal ), )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        pub struct $set {
            $( #[doc = $help] pub $field: $crate::metric::$kind, )*
        }

        impl $set {
            /// Every metric of this role, in declaration order.
            pub fn all(&self) -> Vec<$crate::metric::Descriptor> {
                vec![$( self.$field.descriptor() ),*]
            }
        }

        $(#[$meta])*
        pub const $constant: $set = $set {
            $( $field: $crate::metric::$kind::new($name, $help), )*
        };
    };
}
pub(crate) use metric_set;
