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
    let Paging { limit, offset } = paging;
    let link = |limit: u64, offset: Option<u64>| {
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
    let Some(limit) = limit else {
        return (None, (offset > 0).then(|| link(offset, None)));
    };
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
