//! The request rate limit (`--rate-limit N`): DRF's `SimpleRateThrottle` with the rate
//! `N/s`, per API key (or per client address without keys). Each key keeps the times of
//! its requests in the last second (a sliding window, not a fixed one: no 2N requests
//! across a second's boundary); a request that finds N there gets 429, is not counted,
//! and is told to wait as DRF computes it: the time until the oldest request leaves the
//! window, shared among the requests then available, rounded up
//! (`Expected available in 1 second.`, `Retry-After: 1`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::handler::detail;

/// The window: DRF's duration for a rate in requests per second.
const WINDOW: Duration = Duration::from_secs(1);

/// Keys tracked at most; past it, keys with no request in the window are forgotten.
const MAX_KEYS: usize = 100_000;

/// Request histories per key, newest first (as DRF keeps them).
pub(super) struct Throttle {
    rate_limit: Option<u32>,
    histories: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    pub(super) fn new(rate_limit: Option<u32>) -> Throttle {
        Throttle {
            rate_limit,
            histories: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `who` now: `Err` is the 429 to send instead.
    pub(super) fn check(&self, who: String) -> Result<(), Box<Response>> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        match self.allow(who, Instant::now(), limit) {
            Ok(()) => Ok(()),
            Err(wait) => Err(Box::new(throttled(wait))),
        }
    }

    /// DRF's `allow_request` and `wait`: `Err` carries the seconds to wait.
    fn allow(&self, who: String, now: Instant, limit: u32) -> Result<(), f64> {
        let mut histories = self
            .histories
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if histories.len() >= MAX_KEYS {
            histories.retain(|_, history| {
                history
                    .front()
                    .is_some_and(|&newest| now.duration_since(newest) < WINDOW)
            });
        }
        let history = histories.entry(who).or_default();
        // Drop the requests that left the window (DRF: `history[-1] <= now - duration`).
        while history
            .back()
            .is_some_and(|&oldest| now.duration_since(oldest) >= WINDOW)
        {
            history.pop_back();
        }
        let limit = limit as usize;
        if history.len() >= limit {
            let remaining = match history.back() {
                Some(&oldest) => WINDOW.as_secs_f64() - now.duration_since(oldest).as_secs_f64(),
                None => WINDOW.as_secs_f64(),
            };
            let available = (limit + 1).saturating_sub(history.len()).max(1);
            return Err(remaining / available as f64);
        }
        history.push_front(now);
        Ok(())
    }
}

/// DRF's `Throttled(wait)` as its exception handler renders it.
fn throttled(wait: f64) -> Response {
    let seconds = wait.ceil().max(0.0) as u64;
    let unit = if seconds == 1 { "second" } else { "seconds" };
    let mut response = detail(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Request was throttled. Expected available in {seconds} {unit}."),
    );
    // DRF sets Retry-After only for a wait that is not zero.
    if seconds > 0 {
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sliding_window_lets_n_requests_through_in_any_second() {
        let throttle = Throttle::new(Some(3));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        // Three late in one second...
        for ms in [900, 950, 990] {
            assert_eq!(throttle.allow("k".into(), at(ms), 3), Ok(()));
        }
        // ...so none early in the next (a fixed window would let three more through).
        let wait = throttle.allow("k".into(), at(1010), 3).unwrap_err();
        // The oldest (900) leaves the window at 1900: 0.89 s, shared by one request.
        assert!((wait - 0.89).abs() < 1e-9, "{wait}");
        // Refused requests are not counted; one leaves at 1900, one more gets in.
        assert!(throttle.allow("k".into(), at(1899), 3).is_err());
        assert_eq!(throttle.allow("k".into(), at(1900), 3), Ok(()));
        assert!(throttle.allow("k".into(), at(1901), 3).is_err());
        // Other keys have their own windows.
        assert_eq!(throttle.allow("other".into(), at(1901), 3), Ok(()));
    }

    #[test]
    fn the_429_is_drfs() {
        let response = throttled(0.42);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let response = throttled(1.5);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
