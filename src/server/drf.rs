//! What a stock Django REST framework view does around the answer
//! (`docs/parity.md`, "vcfq serve"): Django's `<uuid:sample_id>` route, DRF's content
//! negotiation (`Accept`, `format`, `indent`), its rendering of indented JSON, and the
//! `OPTIONS` metadata of its `SimpleMetadata`.

use crate::querystring::parse_pairs;
use crate::response::API_PATH;

/// Django's production 404 page (`DEBUG = False`, no `404.html` template).
pub(super) const NOT_FOUND_PAGE: &str = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n";

/// Every response of the view says the methods it has (DRF's `Allow` header).
pub(super) const ALLOW: &str = "GET, HEAD, OPTIONS";

/// The view's `OPTIONS` answer (`SimpleMetadata`): its name and description, the one
/// renderer and DRF's default parsers.
pub(super) const METADATA: &str = concat!(
    r#"{"name":"Sample Genomic Variants","#,
    r#""description":"Variant-level records of one sample's genome: a position, a window of up to 100 kb, or a list of rsIDs.","#,
    r#""renders":["application/json"],"#,
    r#""parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}"#
);

/// The sample id of a path the route `api/v2/sample-genomic-variants/<uuid:sample_id>`
/// matches, as Django matches it: on the percent-decoded path, a lower-case UUID and
/// nothing after it. `None`: Django's 404 page.
pub(super) fn route(path: &str) -> Option<String> {
    let decoded = percent_decode(path)?;
    let id = decoded.strip_prefix(API_PATH)?;
    is_django_uuid(id).then(|| id.to_string())
}

/// Django's `uuid` path converter: `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`.
fn is_django_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, &byte)| match at {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte),
        })
}

/// The path as the WSGI server hands it to Django: percent-decoded (`None` when the
/// bytes are not UTF-8, which no route matches).
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |byte: u8| (byte as char).to_digit(16);
        match (bytes[at], bytes.get(at + 1), bytes.get(at + 2)) {
            (b'%', Some(&high), Some(&low)) if hex(high).is_some() && hex(low).is_some() => {
                out.push((hex(high)? * 16 + hex(low)?) as u8);
                at += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Why content negotiation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// `format=` names no renderer: DRF raises `Http404` (`{"detail":"Not found."}`).
    Format,
    /// No `Accept` entry matches `application/json`: 406.
    NotAcceptable,
}

/// DRF's `DefaultContentNegotiation` for a view whose only renderer is `JSONRenderer`:
/// the indent to render with (`None`: compact), or why the request is refused.
pub(super) fn negotiate(query: &str, accept: Option<&[u8]>) -> Result<Option<usize>, Refused> {
    // `request.query_params.get('format')`: the last value; an empty one is no format.
    let format = parse_pairs(query)
        .into_iter()
        .rev()
        .find(|(name, _)| name == "format")
        .map(|(_, value)| value);
    if format
        .as_deref()
        .is_some_and(|format| !format.is_empty() && format != "json")
    {
        return Err(Refused::Format);
    }
    // The header as Django's META holds it (latin-1), `*/*` when absent.
    let header: String = match accept {
        Some(bytes) => bytes.iter().map(|&byte| byte as char).collect(),
        None => "*/*".to_string(),
    };
    let tokens: Vec<MediaType> = header
        .split(',')
        .map(|token| MediaType::parse(token.trim()))
        .collect();
    // Most specific first (DRF's `order_by_precedence`; `q` is not used to order).
    for precedence in (0..=3).rev() {
        for token in tokens
            .iter()
            .filter(|token| token.precedence() == precedence)
        {
            if token.matches_json() {
                // Accepted: `application/json` with the token's parameters.
                return Ok(token.indent());
            }
        }
    }
    Err(Refused::NotAcceptable)
}

/// A media type as DRF's `_MediaType` reads it.
struct MediaType {
    main_type: String,
    sub_type: String,
    params: Vec<(String, String)>,
}

impl MediaType {
    /// Django's `parse_header_parameters`: the type, then `;`-separated `key=value`
    /// parameters (keys lower-cased, values unquoted).
    fn parse(text: &str) -> MediaType {
        let mut parts = text.split(';');
        let full_type = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|part| {
                let (key, value) = part.split_once('=')?;
                let key = key.trim().to_ascii_lowercase();
                let mut value = value.trim();
                if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
                    value = &value[1..value.len() - 1];
                }
                Some((key, value.to_string()))
            })
            .collect();
        let (main_type, sub_type) = match full_type.split_once('/') {
            Some((main, sub)) => (main.to_string(), sub.to_string()),
            None => (full_type, String::new()),
        };
        MediaType {
            main_type,
            sub_type,
            params,
        }
    }

    fn precedence(&self) -> u8 {
        if self.main_type == "*" {
            0
        } else if self.sub_type == "*" {
            1
        } else if self.params.is_empty() || self.params.iter().all(|(key, _)| key == "q") {
            2
        } else {
            3
        }
    }

    /// Whether `application/json` satisfies it (`_MediaType.match` with the renderer's
    /// type, which has no parameters, on the left).
    fn matches_json(&self) -> bool {
        (self.sub_type == "*" || self.sub_type == "json")
            && (self.main_type == "*" || self.main_type == "application")
    }

    /// `JSONRenderer.get_indent`: `int(indent)` clamped to 0..=8, 0 meaning none.
    fn indent(&self) -> Option<usize> {
        let (_, value) = self.params.iter().rev().find(|(key, _)| key == "indent")?;
        let number = python_int(value)?;
        let clamped = number.clamp(0, 8) as usize;
        (clamped > 0).then_some(clamped)
    }
}

/// Python's `int(text)` for the values an indent can take (`None` when it raises).
fn python_int(text: &str) -> Option<i64> {
    crate::querystring::python_int(text).map(|value| value.clamp(-1, 9) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    #[test]
    fn routes_as_django_matches_uuid_paths() {
        assert_eq!(route(&format!("{API_PATH}{ID}")).as_deref(), Some(ID));
        assert_eq!(
            route(&format!("{API_PATH}%33fa85f64-5717-4562-b3fc-2c963f66afa6")).as_deref(),
            Some(ID)
        );
        for path in [
            format!("{API_PATH}{ID}/"),
            format!("{API_PATH}{}", ID.to_uppercase()),
            format!("{API_PATH}not-a-uuid"),
            format!("{API_PATH}3fa85f6457174562b3fc2c963f66afa6"),
            format!("/api/v2/sample-genomic-variants{ID}"),
            "/".to_string(),
            format!("{API_PATH}%ff"),
        ] {
            assert_eq!(route(&path), None, "{path}");
        }
    }

    #[test]
    fn negotiates_as_drf() {
        assert_eq!(negotiate("", None), Ok(None));
        assert_eq!(negotiate("", Some(b"application/json")), Ok(None));
        assert_eq!(
            negotiate("", Some(b"application/json; indent=4")),
            Ok(Some(4))
        );
        assert_eq!(negotiate("", Some(b"*/*; indent=2")), Ok(Some(2)));
        assert_eq!(
            negotiate("", Some(b"application/json; indent=99")),
            Ok(Some(8))
        );
        assert_eq!(negotiate("", Some(b"application/json; indent=0")), Ok(None));
        assert_eq!(negotiate("", Some(b"application/json; indent=x")), Ok(None));
        assert_eq!(
            negotiate("", Some(b"text/html, application/json; indent=3")),
            Ok(Some(3))
        );
        assert_eq!(
            negotiate("", Some(b"text/html")),
            Err(Refused::NotAcceptable)
        );
        assert_eq!(
            negotiate("", Some(b"text/plain")),
            Err(Refused::NotAcceptable)
        );
        assert_eq!(negotiate("", Some(b"")), Err(Refused::NotAcceptable));
        assert_eq!(negotiate("", Some(b"application/*")), Ok(None));
        assert_eq!(
            negotiate("format=json", Some(b"text/html")),
            Err(Refused::NotAcceptable)
        );
        assert_eq!(negotiate("format=json", None), Ok(None));
        assert_eq!(negotiate("format=xml", None), Err(Refused::Format));
        assert_eq!(negotiate("format=xml&format=json", None), Ok(None));
        assert_eq!(negotiate("format=", None), Ok(None));
    }
}
