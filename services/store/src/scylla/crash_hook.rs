//! The crash-test hook: stop a commit after a chosen number of writes, leaving what it
//! wrote, as a process killed in the middle of a commit would. Only a build with the
//! `crash-hook` feature (the store's own tests) has it; otherwise every type here is empty
//! and [`Writes::tick`] compiles to nothing.

#[cfg(feature = "crash-hook")]
pub(super) use armed::{CrashHook, Writes};
#[cfg(not(feature = "crash-hook"))]
pub(super) use off::{CrashHook, Writes};

#[cfg(feature = "crash-hook")]
mod armed {
    use crate::{StoreError, SIMULATED_CRASH};
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    /// Writes left before the next commit stops (-1: off).
    pub(crate) struct CrashHook {
        armed: AtomicI64,
    }

    impl CrashHook {
        pub(crate) fn off() -> Self {
            Self {
                armed: AtomicI64::new(-1),
            }
        }

        pub(crate) fn arm(&self, writes: usize) {
            self.armed
                .store(i64::try_from(writes).unwrap_or(i64::MAX), Ordering::SeqCst);
        }

        /// The write counter of one commit, shared by its retries.
        pub(crate) fn begin(&self) -> Writes {
            Writes {
                left: Arc::new(AtomicI64::new(self.armed.load(Ordering::SeqCst))),
            }
        }

        /// A hook fires once: disarmed when the commit's counter fired.
        pub(crate) fn end(&self, writes: &Writes) {
            if writes.left.load(Ordering::SeqCst) < 0 {
                self.armed.store(-1, Ordering::SeqCst);
            }
        }
    }

    /// Counts a commit's writes and stops at the crash point.
    #[derive(Clone)]
    pub(crate) struct Writes {
        left: Arc<AtomicI64>,
    }

    impl Writes {
        pub(crate) fn tick(&self) -> Result<(), StoreError> {
            let left = self.left.load(Ordering::SeqCst);
            if left == 0 {
                self.left.store(-1, Ordering::SeqCst);
                return Err(StoreError::backend(
                    SIMULATED_CRASH,
                    "the test hook stopped the commit here",
                ));
            }
            if left > 0 {
                self.left.store(left - 1, Ordering::SeqCst);
            }
            Ok(())
        }
    }
}

#[cfg(not(feature = "crash-hook"))]
mod off {
    use crate::StoreError;

    pub(crate) struct CrashHook;

    impl CrashHook {
        pub(crate) fn off() -> Self {
            Self
        }

        pub(crate) fn begin(&self) -> Writes {
            Writes
        }

        pub(crate) fn end(&self, _writes: &Writes) {}
    }

    #[derive(Clone)]
    pub(crate) struct Writes;

    impl Writes {
        #[inline]
        pub(crate) fn tick(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }
}
