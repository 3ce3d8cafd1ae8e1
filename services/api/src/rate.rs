//! A token bucket per client address for the whole-state routes: a client may burst, then
//! gets a steady rate; beyond it, 429 with the time until its next token.
//!
//! IPv6 clients are counted per /64 (one subscriber's prefix: an attacker has billions of
//! addresses in it), and the table of clients is bounded: when full, idle clients (whose
//! bucket has refilled) go first, then the least recently seen.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Clients tracked at once.
const MAX_CLIENTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    max_clients: usize,
    buckets: Mutex<HashMap<Option<IpAddr>, Bucket>>,
}

impl RateLimiter {
    /// `per_minute` requests per minute after a burst of `burst`; `None` (no limit) when
    /// `per_minute` is 0.
    pub(crate) fn new(per_minute: u32, burst: u32) -> Option<Self> {
        (per_minute > 0).then(|| Self {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from(burst.max(1)),
            max_clients: MAX_CLIENTS,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a token for `client`, or says how long until it has one.
    pub(crate) fn take(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        self.take_at(client.map(client_key), Instant::now())
    }

    fn take_at(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if !buckets.contains_key(&client) && buckets.len() >= self.max_clients {
            self.evict(&mut buckets, now);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Makes room in a full table: idle clients go first; if that frees too little, the
    /// least recently seen tenth goes too. Each call is O(table), but it leaves a tenth of
    /// the table free, so a crowd of new addresses costs O(1) per request on average
    /// instead of a scan each.
    fn evict(&self, buckets: &mut HashMap<Option<IpAddr>, Bucket>, now: Instant) {
        buckets.retain(|_, b| self.refilled(b, now) < self.burst);
        let keep = self.max_clients - self.max_clients.div_ceil(10);
        if buckets.len() > keep {
            let mut by_age: Vec<(Instant, Option<IpAddr>)> = buckets.iter().map(|(k, b)| (b.at, *k)).collect();
            let drop = by_age.len() - keep;
            by_age.select_nth_unstable_by_key(drop - 1, |(at, _)| *at);
            for (_, k) in &by_age[..drop] {
                buckets.remove(k);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by
/// its /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn a_client_bursts_then_waits_while_others_are_unaffected() {
        let limiter = RateLimiter::new(60, 2).expect("limited");
        let t0 = Instant::now();
        assert!(limiter.take_at(ip("10.0.0.1"), t0).is_ok());
        assert!(limiter.take_at(ip("10.0.0.1"), t0).is_ok());
        let wait = limiter.take_at(ip("10.0.0.1"), t0).expect_err("burst spent");
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(
            limiter.take_at(ip("10.0.0.2"), t0).is_ok(),
            "another client has its own bucket"
        );
        assert!(
            limiter.take_at(ip("10.0.0.1"), t0 + Duration::from_secs(1)).is_ok(),
            "refilled"
        );
    }

    #[test]
    fn zero_means_no_limit() {
        assert!(RateLimiter::new(0, 10).is_none());
    }

    #[test]
    fn ipv6_clients_share_their_64_prefix() {
        assert_eq!(
            client_key("2001:db8:1:2:aaaa::1".parse().expect("v6")),
            client_key("2001:db8:1:2:bbbb::2".parse().expect("v6"))
        );
        assert_ne!(
            client_key("2001:db8:1:2::1".parse().expect("v6")),
            client_key("2001:db8:1:3::1".parse().expect("v6"))
        );
        assert_eq!(
            client_key("::ffff:10.0.0.1".parse().expect("mapped")),
            client_key("10.0.0.1".parse().expect("v4"))
        );
    }

    #[test]
    fn the_table_of_clients_is_bounded() {
        let mut limiter = RateLimiter::new(60, 1).expect("limited");
        limiter.max_clients = 3;
        let t0 = Instant::now();
        for i in 0..10u8 {
            let _ = limiter.take_at(
                Some(IpAddr::from([10, 0, 0, i])),
                t0 + Duration::from_millis(u64::from(i)),
            );
        }
        assert!(limiter.buckets.lock().expect("lock").len() <= 3);
    }

    #[test]
    fn a_crowd_of_new_addresses_costs_no_scan_per_request() {
        // 200,000 busy clients (each spends its burst, so none is idle) through a table of
        // 10,000: a scan of the table per new client would be 2 billion bucket visits
        // (minutes); evicting a tenth at a time is a scan per thousand clients.
        let limiter = RateLimiter::new(60, 1).expect("limited");
        let t0 = Instant::now();
        let started = Instant::now();
        for i in 0..200_000u32 {
            let client = Some(IpAddr::from(i.to_be_bytes()));
            let now = t0 + Duration::from_micros(u64::from(i));
            assert!(limiter.take_at(client, now).is_ok(), "a new client has its burst");
        }
        let elapsed = started.elapsed();
        let table = limiter.buckets.lock().expect("lock");
        assert!(table.len() <= MAX_CLIENTS, "{} clients kept", table.len());
        assert!(
            table.contains_key(&Some(IpAddr::from(199_999u32.to_be_bytes()))),
            "the newest client is kept"
        );
        assert!(elapsed < Duration::from_secs(5), "200,000 new clients took {elapsed:?}");
    }
}
