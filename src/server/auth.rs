//! Authentication as the hosted service's `Api-Key` scheme does it, as a stock DRF
//! `TokenAuthentication` with the keyword `Api-Key` does: `Authorization: Api-Key KEY`
//! (the keyword in any case, any white space) with one of the configured keys, else 401
//! with `WWW-Authenticate: Api-Key` and DRF's message for what was wrong.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::handler::detail;

/// Reads an API-key file: one key a line; blank lines and `#` comments (whole lines, or
/// after a key and white space) are skipped, and so is a UTF-8 byte-order mark. A key
/// is printable ASCII without spaces (clients send it in `Authorization: Api-Key KEY`).
pub fn read_api_keys(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read(path).map_err(|error| format!("cannot read it: {error}"))?;
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
    let mut keys = Vec::new();
    for (number, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A comment starts a line or follows white space.
        let mut end = line.len();
        for (at, &byte) in line.iter().enumerate() {
            if byte == b'#' && (at == 0 || line[at - 1].is_ascii_whitespace()) {
                end = at;
                break;
            }
        }
        let key = line[..end].trim_ascii();
        if key.is_empty() {
            continue;
        }
        if !key.iter().all(|&b| b.is_ascii_graphic()) {
            return Err(format!(
                "line {}: an API key is printable ASCII without spaces (got {:?})",
                number + 1,
                String::from_utf8_lossy(key)
            ));
        }
        keys.push(String::from_utf8_lossy(key).into_owned());
    }
    if keys.is_empty() {
        return Err("the file holds no API keys (one per line)".to_string());
    }
    Ok(keys)
}

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
        // DRF's `TokenAuthentication` with the keyword `Api-Key`: the header's bytes split
        // on white space; another scheme (or none) is no credentials at all.
        let value = headers
            .get(header::AUTHORIZATION)
            .map_or(&b""[..], HeaderValue::as_bytes);
        let words: Vec<&[u8]> = value
            .split(|byte| b" \t\n\r\x0b\x0c".contains(byte))
            .filter(|word| !word.is_empty())
            .collect();
        if words
            .first()
            .is_none_or(|scheme| !scheme.eq_ignore_ascii_case(b"Api-Key"))
        {
            return Err(unauthorized(
                "Authentication credentials were not provided.",
            ));
        }
        let given = match words[..] {
            [_] => {
                return Err(unauthorized(
                    "Invalid token header. No credentials provided.",
                ))
            }
            [_, key] => key,
            _ => {
                return Err(unauthorized(
                    "Invalid token header. Token string should not contain spaces.",
                ))
            }
        };
        if std::str::from_utf8(given).is_err() {
            return Err(unauthorized(
                "Invalid token header. Token string should not contain invalid characters.",
            ));
        }
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
            None => Err(unauthorized("Invalid token.")),
        }
    }
}

/// Whether `given` is `key`, in time that depends only on `given`'s length (which the
/// client knows), never on how much of the key was right or how long the key is
/// (`subtle`'s constant-time comparisons).
fn constant_time_eq(key: &[u8], given: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    let mut equal = (key.len() as u64).ct_eq(&(given.len() as u64));
    for (at, byte) in given.iter().enumerate() {
        equal &= key.get(at).copied().unwrap_or(0).ct_eq(byte);
    }
    bool::from(equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        let read = |text: &[u8]| {
            std::fs::write(&path, text).unwrap();
            read_api_keys(&path)
        };
        assert_eq!(
            read(b"\xEF\xBB\xBFfirst\r\n# a comment\n\n  second # the lab's key\nthird#part\n")
                .unwrap(),
            ["first", "second", "third#part"]
        );
        assert!(read(b"# only comments\n\n")
            .unwrap_err()
            .contains("no API keys"));
        assert!(read(b"two words\n")
            .unwrap_err()
            .contains("line 1: an API key is printable ASCII"));
        assert!(read("cl\u{e9}\n".as_bytes())
            .unwrap_err()
            .contains("line 1"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secrets"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"x", b""));
        assert!(!constant_time_eq(b"secret", b"secret\0"));
        assert!(constant_time_eq(b"", b""));
    }
}
