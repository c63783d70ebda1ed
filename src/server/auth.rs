//! Authentication as the hosted service's `Api-Key` scheme does it: `Authorization:
//! Api-Key KEY` with one of the configured keys, else 401 with `WWW-Authenticate: Api-Key`.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::handler::detail;

/// The configured keys; none configured serves without authentication.
pub(super) struct ApiKeys(Option<Vec<Vec<u8>>>);

impl ApiKeys {
    pub(super) fn new(keys: Option<Vec<String>>) -> ApiKeys {
        ApiKeys(keys.map(|keys| keys.into_iter().map(String::into_bytes).collect()))
    }

    /// The key the request authenticated with (`None` without keys configured); `Err` is
    /// the response to send instead: 401 without a valid key.
    pub(super) fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<String>, Box<Response>> {
        let Some(keys) = &self.0 else {
            return Ok(None);
        };
        let unauthorized = |message: &str| {
            let mut response = detail(StatusCode::UNAUTHORIZED, message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Api-Key"),
            );
            Box::new(response)
        };
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "Authentication credentials were not provided.",
            ));
        };
        let given = value
            .as_bytes()
            .strip_prefix(b"Api-Key ")
            .unwrap_or_default();
        // Check every key, so that the time taken does not say which one came close.
        let matched = keys.iter().fold(None, |found, key| {
            if constant_time_eq(key, given) {
                Some(key)
            } else {
                found
            }
        });
        match matched {
            Some(key) => Ok(Some(String::from_utf8_lossy(key).into_owned())),
            None => Err(unauthorized("Incorrect authentication credentials.")),
        }
    }
}

/// Compares without stopping at the first differing byte, so timing does not leak how
/// much of a key was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
