//! What a declared metric is: a name and help text fixed at compile time, typed as a
//! counter or a gauge (with or without one label) so that a call site can neither
//! misspell the name nor set a counter.
//!
//! The declarations themselves are in [`crate::metrics`]; this file is the mechanism.

use crate::{Kind, Telemetry};

/// A declared metric, whatever its type: what rendering and the naming checks need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// The name of the one label that tells the family's series apart (`module`), or
    /// `None` for a metric with a single series.
    pub label: Option<&'static str>,
}

impl Descriptor {
    const fn new(name: &'static str, help: &'static str, kind: Kind, label: Option<&'static str>) -> Self {
        Self {
            name,
            help,
            kind,
            label,
        }
    }
}

/// A value that only goes up (rendered as `# TYPE <name> counter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter(Descriptor);

impl Counter {
    pub const fn new(name: &'static str, help: &'static str) -> Self {
        Self(Descriptor::new(name, help, Kind::Counter, None))
    }

    pub fn add(&self, telemetry: &Telemetry, by: u64) {
        telemetry.counter_add(self.0.name, self.0.help, by);
    }

    /// The total so far; `None` until the first `add` (or [`Counter::init`]).
    pub fn get(&self, telemetry: &Telemetry) -> Option<f64> {
        telemetry.get(self.0.name)
    }

    /// Exposes the counter at 0 before anything happened: a series that first appears
    /// at 1 has no increase for `rate()` and `increase()`, so an alert on the first
    /// occurrence (one out-of-consensus) would never fire.
    pub fn init(&self, telemetry: &Telemetry) {
        self.add(telemetry, 0);
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
        Self(Descriptor::new(name, help, Kind::Gauge, None))
    }

    pub fn set(&self, telemetry: &Telemetry, value: f64) {
        telemetry.gauge_set(self.0.name, self.0.help, value);
    }

    /// The last value set in this process; `None` until the first `set`.
    pub fn get(&self, telemetry: &Telemetry) -> Option<f64> {
        telemetry.get(self.0.name)
    }

    /// Nothing: a gauge has no value before it is measured, and a made-up 0 (a Hive head
    /// at block 0) would mislead a dashboard more than a missing series.
    pub fn init(&self, _telemetry: &Telemetry) {}

    pub const fn descriptor(&self) -> Descriptor {
        self.0
    }
}

/// A counter with one series per value of its label (`name{module="token"}`): a family
/// whose sum is the total, so a dashboard can show it per module and summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelledCounter(Descriptor);

impl LabelledCounter {
    pub const fn new(name: &'static str, help: &'static str, label: &'static str) -> Self {
        Self(Descriptor::new(name, help, Kind::Counter, Some(label)))
    }

    /// Adds `by` to the series whose label is `value` (created at `by` if new; `by = 0`
    /// exposes a series before its first event, see [`Counter::init`]).
    pub fn add(&self, telemetry: &Telemetry, value: &str, by: u64) {
        telemetry.record(self.0, Some(value), |v| *v += by as f64);
    }

    /// The total of the series labelled `value`; `None` until it is first added to.
    pub fn get(&self, telemetry: &Telemetry, value: &str) -> Option<f64> {
        telemetry.get_labelled(self.0.name, value)
    }

    /// Nothing: the label values are only known where the series are counted (the
    /// modules a process runs), so the call site adds 0 to each it knows.
    pub fn init(&self, _telemetry: &Telemetry) {}

    pub const fn descriptor(&self) -> Descriptor {
        self.0
    }
}

/// A gauge with one series per value of its label (see [`LabelledCounter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelledGauge(Descriptor);

impl LabelledGauge {
    pub const fn new(name: &'static str, help: &'static str, label: &'static str) -> Self {
        Self(Descriptor::new(name, help, Kind::Gauge, Some(label)))
    }

    pub fn set(&self, telemetry: &Telemetry, value: &str, to: f64) {
        telemetry.record(self.0, Some(value), |v| *v = to);
    }

    /// The last value of the series labelled `value`; `None` until it is first set.
    pub fn get(&self, telemetry: &Telemetry, value: &str) -> Option<f64> {
        telemetry.get_labelled(self.0.name, value)
    }

    /// Nothing, as for [`Gauge::init`].
    pub fn init(&self, _telemetry: &Telemetry) {}

    pub const fn descriptor(&self) -> Descriptor {
        self.0
    }
}

/// Declares one role's metrics: a struct with one typed field per metric, whose rustdoc is
/// the metric's help text, and a constant holding it. A labelled metric names its label
/// after the help text.
///
/// ```text
/// metric_set! {
///     /// What the role is.
///     pub struct RoleMetrics = ROLE {
///         things_done: Counter("opentoken_things_done_total", "Things done"),
///         module_things: LabelledCounter("opentoken_module_things_total", "Things done by module", "module"),
///     }
/// }
/// ```
macro_rules! metric_set {
    (
        $(#[$meta:meta])*
        pub struct $set:ident = $constant:ident {
            $( $field:ident : $kind:ident ( $name:literal, $help:literal $(, $label:literal)? $(,)? ), )*
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

            /// Exposes this role's unlabelled counters at 0 (see `Counter::init`); call
            /// once where the role starts.
            pub fn init(&self, telemetry: &$crate::Telemetry) {
                $( self.$field.init(telemetry); )*
            }
        }

        $(#[$meta])*
        pub const $constant: $set = $set {
            $( $field: $crate::metric::$kind::new($name, $help $(, $label)?), )*
        };
    };
}
pub(crate) use metric_set;
