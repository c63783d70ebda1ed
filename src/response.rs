//! The response envelope: `{"meta":{...},"results":[...]}` in the two schema profiles,
//! and the `next`/`previous` links built as Django REST framework's limit/offset
//! paginator builds them.

use std::sync::Arc;

use crate::dbsnp::RsidMap;
pub use crate::json::Schema;
use crate::querystring::{encode_sorted, parse_pairs};
use crate::request::Paging;

/// The default base URL of `openapi` links when there is no request URL (the CLI).
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080";
/// The hosted endpoint's path; a sample's URL is this plus its UUID.
pub const API_PATH: &str = "/api/v2/sample-genomic-variants/";

/// How to answer requests.
#[derive(Debug, Clone)]
pub struct ResponseOptions {
    /// The record shape and envelope.
    pub schema: Schema,
    /// The request URL without its query (`http://host/api/v2/sample-genomic-variants/ID`);
    /// `openapi` links are this URL with the request's query parameters, re-encoded.
    pub base_url: String,
    /// The dbSNP map that resolves rsID queries and fills `rsid` for records whose ID
    /// column has none. Without one, rsID queries are a bad request.
    pub dbsnp: Option<Arc<RsidMap>>,
}

impl Default for ResponseOptions {
    fn default() -> ResponseOptions {
        ResponseOptions {
            schema: Schema::Docs,
            base_url: DEFAULT_BASE_URL.to_string(),
            dbsnp: None,
        }
    }
}

/// Appends `{"meta":{...},"results":[`; the caller appends the records and `]}`.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    count: u64,
    options: &ResponseOptions,
    parameters: &[(String, String)],
    paging: Paging,
) {
    out.extend_from_slice(b"{\"meta\":{\"count\":");
    out.extend_from_slice(count.to_string().as_bytes());
    if options.schema == Schema::Openapi {
        let (next, previous) = page_links(&options.base_url, parameters, paging, count);
        for (name, link) in [("next", next), ("previous", previous)] {
            out.extend_from_slice(format!(",\"{name}\":").as_bytes());
            match link {
                Some(url) => crate::json::write_string(out, &url),
                None => out.extend_from_slice(b"null"),
            }
        }
    }
    out.extend_from_slice(b"},\"results\":[");
}

pub(crate) fn write_tail(out: &mut Vec<u8>) {
    out.extend_from_slice(b"]}");
}

/// `(next, previous)` as DRF's `LimitOffsetPagination` computes them. With no limit
/// (DRF would not paginate at all) there is no `next`, and `previous` asks for the
/// records before `offset`: `limit=<offset>` without `offset`.
pub(crate) fn page_links(
    base_url: &str,
    parameters: &[(String, String)],
    paging: Paging,
    count: u64,
) -> (Option<String>, Option<String>) {
    let link = |limit: u128, offset: Option<u128>| {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let (url, fragment) = base_url
            .split_once('#')
            .map_or((base_url, None), |(url, fragment)| (url, Some(fragment)));
        let (path, base_query) = url
            .split_once('?')
            .map_or((url, None), |(path, query)| (path, Some(query)));
        if let Some(query) = base_query {
            pairs.extend(parse_pairs(query));
        }
        pairs.extend(parameters.iter().cloned());
        pairs.retain(|(name, _)| name != "limit" && name != "offset");
        pairs.push(("limit".to_string(), limit.to_string()));
        if let Some(offset) = offset {
            pairs.push(("offset".to_string(), offset.to_string()));
        }
        let mut url = format!("{path}?{}", encode_sorted(&pairs));
        if let Some(fragment) = fragment {
            url.push('#');
            url.push_str(fragment);
        }
        url
    };
    // Python's integers are unbounded: a limit or offset past u64 (which selects nothing
    // here) is written in the links as given, from its text.
    let exact = |name: &str, value: u64| -> u128 {
        if value < u64::MAX {
            return u128::from(value);
        }
        parameters
            .iter()
            .rev()
            .find(|(given, _)| given == name)
            .and_then(|(_, text)| crate::querystring::python_int(text))
            .and_then(|value| u128::try_from(value).ok())
            .filter(|&exact| exact >= u128::from(u64::MAX))
            .unwrap_or(u128::from(value))
    };
    let offset = exact("offset", paging.offset);
    let Some(limit) = paging.limit.map(|limit| exact("limit", limit)) else {
        return (None, (offset > 0).then(|| link(offset, None)));
    };
    let count = u128::from(count);
    let next = (offset.saturating_add(limit) < count).then(|| link(limit, Some(offset + limit)));
    let previous = (offset > 0).then(|| {
        if offset <= limit {
            link(limit, None)
        } else {
            link(limit, Some(offset - limit))
        }
    });
    (next, previous)
}

/// The compact JSON `body` as Python's `json.dumps(..., indent=width,
/// separators=(",", ": "))` writes it (DRF's `JSONRenderer` with an indent, and `vcfq
/// query --pretty`): the same tokens, every byte of them kept (numbers stay `1e-05`,
/// strings stay as escaped), each member and element on its own line, `{}` and `[]`
/// kept whole.
pub fn indent_json(body: &[u8], width: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() * 2);
    let mut level = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, level: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', level * width));
    };
    let mut at = 0;
    while at < body.len() {
        let byte = body[at];
        at += 1;
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                let close = if byte == b'{' { b'}' } else { b']' };
                out.push(byte);
                if body.get(at) == Some(&close) {
                    out.push(close);
                    at += 1;
                } else {
                    level += 1;
                    newline(&mut out, level);
                }
            }
            b'}' | b']' => {
                level = level.saturating_sub(1);
                newline(&mut out, level);
                out.push(byte);
            }
            b',' => {
                out.push(b',');
                newline(&mut out, level);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    out
}

/// The body of an error response, `{"detail":"<message>"}`, as the hosted API writes it.
pub fn error_body(message: &str) -> Vec<u8> {
    let mut body = b"{\"detail\":".to_vec();
    crate::json::write_string(&mut body, message);
    body.push(b'}');
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_as_python_json_dumps() {
        let compact =
            br#"{"meta":{"count":1},"results":[{"a":"x,y:{[","b":[],"c":{},"d":[1,2.5,null]}]}"#;
        let expected = "{\n  \"meta\": {\n    \"count\": 1\n  },\n  \"results\": [\n    {\n      \"a\": \"x,y:{[\",\n      \"b\": [],\n      \"c\": {},\n      \"d\": [\n        1,\n        2.5,\n        null\n      ]\n    }\n  ]\n}";
        assert_eq!(
            String::from_utf8(indent_json(compact, 2)).unwrap(),
            expected
        );
        let escaped = br#"{"detail":"a \"quoted\\\" {x}"}"#;
        assert_eq!(
            String::from_utf8(indent_json(escaped, 4)).unwrap(),
            "{\n    \"detail\": \"a \\\"quoted\\\\\\\" {x}\"\n}"
        );
    }

    fn pairs(query: &str) -> Vec<(String, String)> {
        parse_pairs(query)
    }

    #[test]
    fn links_like_drf() {
        let base =
            "http://testserver/api/v2/sample-genomic-variants/3fa85f64-5717-4562-b3fc-2c963f66afa6";
        let query = pairs("chromosome=chr19&start_position=1&end_position=100&limit=2&offset=2");
        let (next, previous) = page_links(
            base,
            &query,
            Paging {
                limit: Some(2),
                offset: 2,
            },
            10,
        );
        assert_eq!(
            next.unwrap(),
            format!("{base}?chromosome=chr19&end_position=100&limit=2&offset=4&start_position=1")
        );
        assert_eq!(
            previous.unwrap(),
            format!("{base}?chromosome=chr19&end_position=100&limit=2&start_position=1")
        );

        let (next, previous) = page_links(
            base,
            &query,
            Paging {
                limit: Some(2),
                offset: 8,
            },
            10,
        );
        assert_eq!(next, None);
        assert_eq!(
            previous.unwrap(),
            format!("{base}?chromosome=chr19&end_position=100&limit=2&offset=6&start_position=1")
        );

        let (next, previous) = page_links(
            base,
            &pairs("rsid=rs1,rs2&limit=1"),
            Paging {
                limit: Some(1),
                offset: 0,
            },
            2,
        );
        assert_eq!(
            next.unwrap(),
            format!("{base}?limit=1&offset=1&rsid=rs1%2Crs2")
        );
        assert_eq!(previous, None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            error_body("bad \"x\"\u{2028}"),
            br#"{"detail":"bad \"x\"\u2028"}"#.to_vec()
        );
    }

    #[test]
    fn links_without_limit() {
        let query = pairs("chromosome=chr1&position=5&offset=3");
        let (next, previous) = page_links(
            DEFAULT_BASE_URL,
            &query,
            Paging {
                limit: None,
                offset: 3,
            },
            10,
        );
        assert_eq!(next, None);
        assert_eq!(
            previous.unwrap(),
            "http://127.0.0.1:8080?chromosome=chr1&limit=3&position=5"
        );
        assert_eq!(
            page_links(DEFAULT_BASE_URL, &query, Paging::default(), 10),
            (None, None)
        );
    }

    #[test]
    fn invalid_paging_values_are_rewritten() {
        let query = pairs("chromosome=chr1&position=5&limit=abc&offset=-4&z=%C3%A9");
        let (next, _) = page_links(
            "http://h/p?a=1#frag",
            &query,
            Paging {
                limit: Some(1),
                offset: 0,
            },
            3,
        );
        assert_eq!(
            next.unwrap(),
            "http://h/p?a=1&chromosome=chr1&limit=1&offset=1&position=5&z=%C3%A9#frag"
        );
    }
}
