//! Shutdown, retry and transience as types.
//!
//! - **Stopping** is a [`CancellationToken`]: the binary cancels it on SIGTERM/Ctrl-C (or
//!   when a role fails), async tasks `select!` on [`CancellationToken::cancelled`], and the
//!   synchronous roles (processor, checkpointer, which run on blocking threads) check
//!   [`CancellationToken::is_cancelled`] between steps and sleep with [`sleep_unless`].
//! - **Retrying** is a [`Backoff`]: one type with a start, a cap and an optional number of
//!   attempts, used by every loop that waits for a broker, an API node or a database.
//! - **Whether to retry** is asked of the error ([`Transient::is_transient`]), so a retry
//!   loop never pattern-matches another crate's error variants.

use std::time::{Duration, Instant};
pub use tokio_util::sync::CancellationToken;

/// An error that knows whether the same call can succeed later (a broker or API node that
/// is away, a timeout) or never will (bad data, a conflict, a bug).
pub trait Transient {
    /// `true` when retrying the failed call, unchanged, may succeed.
    fn is_transient(&self) -> bool;
}

/// Exponential backoff: `start`, doubling up to `max`, for at most `attempts` tries
/// (`None`: until stopped).
#[derive(Debug, Clone)]
pub struct Backoff {
    start: Duration,
    max: Duration,
    attempts: Option<u32>,
    next: Duration,
    tried: u32,
}

impl Backoff {
    pub fn new(start: Duration, max: Duration) -> Self {
        Self {
            start,
            max: max.max(start),
            attempts: None,
            next: start,
            tried: 0,
        }
    }

    /// What a role waiting for its broker or database uses: 200 ms doubling to 10 s.
    pub fn for_service() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }

    /// Gives up after `attempts` failures ([`Backoff::next_delay`] returns `None`).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = Some(attempts);
        self
    }

    /// The wait before the next try, or `None` when the attempts are used up. Each call
    /// counts one failure.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.tried = self.tried.saturating_add(1);
        if self.attempts.is_some_and(|a| self.tried >= a) {
            return None;
        }
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        Some(d)
    }

    /// After a success: the next failure waits `start` again.
    pub fn reset(&mut self) {
        self.next = self.start;
        self.tried = 0;
    }

    /// How many failures were counted since the last reset.
    pub fn failures(&self) -> u32 {
        self.tried
    }
}

/// Sleeps `d` on this (blocking) thread unless `stop` is cancelled first; `false` when it
/// was. Wakes every 50 ms at most to look, so a stop is seen promptly.
pub fn sleep_unless(stop: &CancellationToken, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(50)));
    }
}

/// Sleeps `d` unless `stop` is cancelled first; `false` when it was.
pub async fn sleep_or_cancelled(stop: &CancellationToken, d: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// What a retried call ended with.
#[derive(Debug)]
pub enum Retried<T, E> {
    Done(T),
    /// A permanent error, or the attempts ran out (the last error).
    Failed(E),
    /// Stopped while waiting to retry.
    Stopped,
}

/// Calls `f` on this blocking thread until it succeeds, fails permanently, the backoff's
/// attempts run out, or `stop` is cancelled. `on_retry` sees each transient error and the
/// wait before the next try (to log it and to report not-ready).
pub fn retry_blocking<T, E: Transient>(
    stop: &CancellationToken,
    mut backoff: Backoff,
    mut on_retry: impl FnMut(&E, Duration),
    mut f: impl FnMut() -> Result<T, E>,
) -> Retried<T, E> {
    loop {
        match f() {
            Ok(v) => return Retried::Done(v),
            Err(e) if e.is_transient() => match backoff.next_delay() {
                Some(d) => {
                    on_retry(&e, d);
                    if !sleep_unless(stop, d) {
                        return Retried::Stopped;
                    }
                }
                None => return Retried::Failed(e),
            },
            Err(e) => return Retried::Failed(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(bool);
    impl Transient for E {
        fn is_transient(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let got: Vec<_> = (0..4).map(|_| b.next_delay().unwrap().as_millis()).collect();
        assert_eq!(got, [100, 200, 350, 350]);
        b.reset();
        assert_eq!(b.next_delay(), Some(Duration::from_millis(100)));
    }

    #[test]
    fn backoff_gives_up_after_its_attempts() {
        let mut b = Backoff::new(Duration::from_millis(1), Duration::from_millis(1)).attempts(3);
        assert!(b.next_delay().is_some());
        assert!(b.next_delay().is_some());
        assert_eq!(b.next_delay(), None, "the third failure is the last attempt");
    }

    #[test]
    fn retry_retries_transient_errors_only() {
        let stop = CancellationToken::new();
        let mut calls = 0;
        let r = retry_blocking(
            &stop,
            Backoff::new(Duration::ZERO, Duration::ZERO),
            |_, _| {},
            || {
                calls += 1;
                if calls < 3 {
                    Err(E(true))
                } else {
                    Ok(calls)
                }
            },
        );
        assert!(matches!(r, Retried::Done(3)));
        let r: Retried<(), E> = retry_blocking(&stop, Backoff::for_service(), |_, _| {}, || Err(E(false)));
        assert!(
            matches!(r, Retried::Failed(E(false))),
            "a permanent error is not retried"
        );
    }

    #[test]
    fn retry_stops_when_cancelled() {
        let stop = CancellationToken::new();
        stop.cancel();
        let r: Retried<(), E> = retry_blocking(&stop, Backoff::for_service(), |_, _| {}, || Err(E(true)));
        assert!(matches!(r, Retried::Stopped));
        assert!(!sleep_unless(&stop, Duration::from_secs(5)));
    }

    #[test]
    fn retry_gives_the_last_error_when_attempts_run_out() {
        let stop = CancellationToken::new();
        let b = Backoff::new(Duration::ZERO, Duration::ZERO).attempts(2);
        let mut seen = 0;
        let r: Retried<(), E> = retry_blocking(&stop, b, |_, _| seen += 1, || Err(E(true)));
        assert!(matches!(r, Retried::Failed(E(true))));
        assert_eq!(seen, 1);
    }
}
