//! The request rate limit (`--rate-limit N`): per API key, or per client address without
//! keys; over it a request gets 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::handler::detail;

/// Request counts per key in fixed one-second windows.
pub(super) struct Throttle {
    rate_limit: Option<u32>,
    windows: Mutex<HashMap<String, (u64, u32)>>,
    started: Instant,
}

impl Throttle {
    pub(super) fn new(rate_limit: Option<u32>) -> Throttle {
        Throttle {
            rate_limit,
            windows: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }

    /// A fixed one-second window per key (or client address): `Err` is the 429.
    pub(super) fn check(&self, who: String) -> Result<(), Box<Response>> {
        let Some(limit) = self.rate_limit else {
            return Ok(());
        };
        let second = self.started.elapsed().as_secs();
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() > 100_000 {
            windows.retain(|_, (window, _)| *window == second);
        }
        let entry = windows.entry(who).or_insert((second, 0));
        if entry.0 != second {
            *entry = (second, 0);
        }
        entry.1 += 1;
        if entry.1 > limit {
            let mut response = detail(
                StatusCode::TOO_MANY_REQUESTS,
                "Request was throttled. Expected available in 1 second.",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return Err(Box::new(response));
        }
        Ok(())
    }
}
