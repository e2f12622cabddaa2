//! Per-device quotas, checked after authentication and before the body is read:
//!
//! - **requests per minute** per device token: a token bucket holding
//!   `max_requests_per_minute` requests, refilled at that rate; an empty bucket
//!   answers 429 `rate_limited` with `Retry-After` (seconds until one request is
//!   available again);
//! - **new households per day** per device token (day = WIB calendar day): the
//!   storage refuses, in the push's own transaction, a push that would create more
//!   documents than are left; 429 `new_docs_quota` with `Retry-After` until WIB
//!   midnight. Nothing of a refused push is stored; the phone keeps it in its outbox.
//!
//! Counters live in this relay process: with several relays behind one address the
//! effective limits are up to that many times higher (documented in
//! `docs/relay-operations.md`). Memory: one small entry per device token that made a
//! request (tokens are authenticated first, so only registered devices get one).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;
use crate::storage::{Limits, NewDocQuota};

/// Seconds WIB (UTC+7) is ahead of UTC.
const WIB_OFFSET_SECS: i64 = 7 * 3600;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The quota state of one relay process.
#[derive(Debug, Default)]
pub struct Quotas {
    buckets: Mutex<HashMap<i64, Bucket>>,
    /// token → (WIB day number, documents created that day).
    new_docs: Mutex<HashMap<i64, (i64, u64)>>,
}

impl Quotas {
    /// Takes one request from the token's bucket, or says how long to wait.
    pub fn check_request(&self, limits: &Limits, token_id: i64, now: Instant) -> Result<(), ApiError> {
        let per_min = f64::from(limits.max_requests_per_minute.max(1));
        let rate = per_min / 60.0;
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = map.entry(token_id).or_insert(Bucket { tokens: per_min, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(per_min);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / rate).ceil().max(1.0) as u64;
            Err(ApiError::RateLimited { retry_after_secs: wait })
        }
    }

    /// What a push of this token may still create today (`now_unix`: Unix seconds).
    pub fn new_doc_quota(&self, limits: &Limits, token_id: i64, now_unix: i64) -> NewDocQuota {
        let (day, secs_left) = wib_day(now_unix);
        let used = match self.new_docs.lock().unwrap_or_else(|p| p.into_inner()).get(&token_id) {
            Some((d, n)) if *d == day => *n,
            _ => 0,
        };
        NewDocQuota {
            allowed: u64::from(limits.max_new_docs_per_day).saturating_sub(used),
            limit: limits.max_new_docs_per_day,
            retry_after_secs: secs_left,
        }
    }

    /// Counts documents a push created.
    pub fn record_new_docs(&self, token_id: i64, now_unix: i64, n: u64) {
        if n == 0 {
            return;
        }
        let (day, _) = wib_day(now_unix);
        let mut map = self.new_docs.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(token_id).or_insert((day, 0));
        if e.0 != day {
            *e = (day, 0);
        }
        e.1 += n;
    }
}

/// The WIB day number of `unix` and the seconds until the next WIB midnight.
fn wib_day(unix: i64) -> (i64, u64) {
    let local = unix + WIB_OFFSET_SECS;
    (local.div_euclid(86_400), (86_400 - local.rem_euclid(86_400)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_then_one_per_interval() {
        let q = Quotas::default();
        let limits = Limits { max_requests_per_minute: 60, ..Limits::default() };
        let t0 = Instant::now();
        for _ in 0..60 {
            q.check_request(&limits, 7, t0).unwrap();
        }
        match q.check_request(&limits, 7, t0) {
            Err(ApiError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("{other:?}"),
        }
        // Another token has its own bucket.
        q.check_request(&limits, 8, t0).unwrap();
        // One second refills one request (60 per minute).
        q.check_request(&limits, 7, t0 + Duration::from_secs(1)).unwrap();
        assert!(q.check_request(&limits, 7, t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn new_docs_count_per_wib_day() {
        let q = Quotas::default();
        let limits = Limits { max_new_docs_per_day: 10, ..Limits::default() };
        // 2026-12-01 16:59:59 UTC = 23:59:59 WIB.
        let before_midnight = 1_796_144_399;
        assert_eq!(wib_day(before_midnight).1, 1);
        q.record_new_docs(1, before_midnight, 7);
        let left = q.new_doc_quota(&limits, 1, before_midnight);
        assert_eq!((left.allowed, left.limit, left.retry_after_secs), (3, 10, 1));
        // WIB midnight: a new day.
        assert_eq!(q.new_doc_quota(&limits, 1, before_midnight + 1).allowed, 10);
        q.record_new_docs(1, before_midnight + 1, 10);
        assert_eq!(q.new_doc_quota(&limits, 1, before_midnight + 2).allowed, 0);
        assert_eq!(q.new_doc_quota(&limits, 2, before_midnight + 2).allowed, 10);
    }
}
