//! Requests: one sample question in exactly one query mode (point, range or rsID list),
//! plus paging. Parsed from query-string pairs and validated as `docs/parity.md` ("Requests") says.

use crate::querystring::{parse_pairs, python_int};
use crate::types::{parse_digits, Contig, Position, Rsid};

/// The widest range a request may span (`end_position - start_position`).
pub const MAX_RANGE_SPAN: u64 = 100_000;
/// The most rsIDs one request may name.
pub const MAX_RSIDS: usize = 50;

/// The question asked, in one of the three modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Records whose POS is `position`.
    Point {
        /// The contig.
        chromosome: &'static Contig,
        /// The POS wanted.
        position: Position,
    },
    /// Records with `start_position <= POS <= end_position`.
    Range {
        /// The contig.
        chromosome: &'static Contig,
        /// The first POS wanted.
        start_position: Position,
        /// The last POS wanted (at most `MAX_RANGE_SPAN` past the first).
        end_position: Position,
    },
    /// Records for these rsIDs, in this order (duplicates removed).
    Rsid {
        /// The rsIDs, 1 to `MAX_RSIDS` of them.
        rsids: Vec<Rsid>,
    },
}

/// Which page of the matching records to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Paging {
    /// At most this many records; `None` for all of them.
    pub limit: Option<u64>,
    /// Skip this many records first.
    pub offset: u64,
}

/// A validated request: the query, the paging, and the query parameters as given
/// (the `openapi` profile builds its `next`/`previous` links from them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// What is asked.
    pub query: Query,
    /// Which page of the answer.
    pub paging: Paging,
    parameters: Vec<(String, String)>,
}

const MODES_ALLOWED: &str = "give exactly one query mode: chromosome + position (point), \
     chromosome + start_position + end_position (range), or rsid (comma-separated rsIDs)";

/// Why a request is invalid (a "400"). The message names what was given and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("no query given: {MODES_ALLOWED}")]
    /// No query parameters at all.
    NoQuery,
    #[error("parameters of more than one query mode given ({}): {MODES_ALLOWED}", .given.join(", "))]
    /// Parameters of two modes.
    MixedModes {
        /// The mode parameters given.
        given: Vec<&'static str>,
    },
    #[error("incomplete {mode} query: got {}, missing {}; {MODES_ALLOWED}", .given.join(", "), .missing.join(" and "))]
    /// A mode's parameters in part.
    IncompleteMode {
        /// The mode the parameters given belong to.
        mode: &'static str,
        /// The mode parameters given.
        given: Vec<&'static str>,
        /// The ones the mode still needs.
        missing: Vec<&'static str>,
    },
    #[error(
        "invalid chromosome {given:?}: {}chromosome must be one of chr1..chr22, chrX, chrY, chrM (GRCh38 names with the chr prefix, case-sensitive)",
        .suggestion.map(|name| format!("did you mean {name:?}? ")).unwrap_or_default()
    )]
    /// Not one of the 25 canonical contig names.
    Chromosome {
        /// The name given.
        given: String,
        /// The canonical name the user probably meant.
        suggestion: Option<&'static str>,
    },
    #[error("invalid {parameter} {given:?}: must be a base-10 integer >= 1 (digits only: no sign, decimal point or separators)")]
    /// A position that is not a base-10 integer >= 1.
    NotAPosition {
        /// `position`, `start_position` or `end_position`.
        parameter: &'static str,
        /// The value given.
        given: String,
    },
    #[error(
        "invalid {parameter} {given}: beyond the end of {chromosome} (GRCh38 length {length})"
    )]
    /// A position past the contig's GRCh38 end.
    BeyondContig {
        /// `position`, `start_position` or `end_position`.
        parameter: &'static str,
        /// The value given.
        given: String,
        /// The contig's canonical name.
        chromosome: &'static str,
        /// Its GRCh38 length.
        length: u64,
    },
    #[error("invalid range: start_position {start_position} is greater than end_position {end_position}")]
    /// `start_position` after `end_position`.
    RangeReversed {
        /// The start given.
        start_position: u64,
        /// The end given.
        end_position: u64,
    },
    #[error("invalid range: end_position - start_position is {span} bp; the maximum is {MAX_RANGE_SPAN} bp")]
    /// A range wider than `MAX_RANGE_SPAN`.
    RangeTooWide {
        /// `end_position - start_position`.
        span: u64,
    },
    #[error("invalid rsid: {count} rsIDs given; the maximum is {MAX_RSIDS}")]
    /// More than `MAX_RSIDS` rsIDs.
    TooManyRsids {
        /// How many were given.
        count: usize,
    },
    #[error("invalid rsid: empty entry at position {index} of the comma-separated list")]
    /// An empty entry in the rsID list.
    EmptyRsid {
        /// Its 1-based place in the list.
        index: usize,
    },
    #[error("invalid rsid {given:?}: must be rs followed by 1 to 18 digits without leading zeros (e.g. rs429358)")]
    /// An entry that is not an rsID.
    InvalidRsid {
        /// The entry given.
        given: String,
    },
}

const MODE_PARAMETERS: [&str; 5] = [
    "chromosome",
    "position",
    "start_position",
    "end_position",
    "rsid",
];

impl Request {
    /// Parses a query string such as `chromosome=chr19&position=44908684` (a leading `?`
    /// is allowed), decoded as the hosted service decodes it.
    pub fn parse(query_string: &str) -> Result<Request, RequestError> {
        Request::from_parameters(parse_pairs(
            query_string.strip_prefix('?').unwrap_or(query_string),
        ))
    }

    /// Parses a request given in tabix's region syntax or as a query string:
    /// `chr19:44908684` is a point query, `chr19:44905000-44910000` a range query
    /// (validated by the same rules, with the same messages, as the parameters they
    /// stand for); anything else is read as a query string ([`Request::parse`]).
    pub fn parse_region_or_query(text: &str) -> Result<Request, RequestError> {
        Request::from_parameters(region_or_query_parameters(text))
    }

    /// Validates decoded query parameters. When a name is repeated its last value counts,
    /// as in Django's `QueryDict`; names vcfq does not know are ignored.
    pub fn from_parameters(parameters: Vec<(String, String)>) -> Result<Request, RequestError> {
        let value = |name: &str| {
            parameters
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let given: Vec<&'static str> = MODE_PARAMETERS
            .into_iter()
            .filter(|name| value(name).is_some())
            .collect();
        let has = |name: &str| given.contains(&name);

        let point = has("position");
        let range = has("start_position") || has("end_position");
        let rsid = has("rsid");
        if (rsid && given.len() > 1) || (point && range) {
            return Err(RequestError::MixedModes { given });
        }
        let query = if rsid {
            Query::Rsid {
                rsids: parse_rsids(value("rsid").unwrap_or_default())?,
            }
        } else if point {
            if !has("chromosome") {
                return Err(RequestError::IncompleteMode {
                    mode: "point",
                    given,
                    missing: vec!["chromosome"],
                });
            }
            let chromosome = parse_chromosome(value("chromosome").unwrap_or_default())?;
            let position = parse_position(
                "position",
                value("position").unwrap_or_default(),
                chromosome,
            )?;
            Query::Point {
                chromosome,
                position,
            }
        } else if range {
            let missing: Vec<&'static str> = ["chromosome", "start_position", "end_position"]
                .into_iter()
                .filter(|name| !has(name))
                .collect();
            if !missing.is_empty() {
                return Err(RequestError::IncompleteMode {
                    mode: "range",
                    given,
                    missing,
                });
            }
            let chromosome = parse_chromosome(value("chromosome").unwrap_or_default())?;
            let start_position = parse_position(
                "start_position",
                value("start_position").unwrap_or_default(),
                chromosome,
            )?;
            let end_position = parse_position(
                "end_position",
                value("end_position").unwrap_or_default(),
                chromosome,
            )?;
            if start_position > end_position {
                return Err(RequestError::RangeReversed {
                    start_position: start_position.get(),
                    end_position: end_position.get(),
                });
            }
            let span = end_position.get() - start_position.get();
            if span > MAX_RANGE_SPAN {
                return Err(RequestError::RangeTooWide { span });
            }
            Query::Range {
                chromosome,
                start_position,
                end_position,
            }
        } else if has("chromosome") {
            return Err(RequestError::IncompleteMode {
                mode: "point or range",
                given,
                missing: vec!["position (point)", "start_position + end_position (range)"],
            });
        } else {
            return Err(RequestError::NoQuery);
        };
        let paging = Paging {
            limit: value("limit").and_then(parse_limit),
            offset: value("offset").map_or(0, parse_offset),
        };
        Ok(Request {
            query,
            paging,
            parameters,
        })
    }

    /// A point query: the records at `position` on `chromosome` (`chr19`), validated as
    /// the query string `chromosome=…&position=…` is, with the same errors.
    pub fn point(chromosome: &str, position: u64) -> Result<Request, RequestError> {
        Request::from_parameters(vec![
            ("chromosome".to_string(), chromosome.to_string()),
            ("position".to_string(), position.to_string()),
        ])
    }

    /// A range query: the records with `start_position <= POS <= end_position`.
    pub fn range(
        chromosome: &str,
        start_position: u64,
        end_position: u64,
    ) -> Result<Request, RequestError> {
        Request::from_parameters(vec![
            ("chromosome".to_string(), chromosome.to_string()),
            ("start_position".to_string(), start_position.to_string()),
            ("end_position".to_string(), end_position.to_string()),
        ])
    }

    /// An rsID query for 1 to 50 rsIDs (`rs429358`), in this order.
    pub fn rsids<S: AsRef<str>>(
        rsids: impl IntoIterator<Item = S>,
    ) -> Result<Request, RequestError> {
        let list: Vec<String> = rsids
            .into_iter()
            .map(|rsid| rsid.as_ref().to_string())
            .collect();
        Request::from_parameters(vec![("rsid".to_string(), list.join(","))])
    }

    /// This request's page of at most `limit` records (0 means no limit, as the hosted
    /// API's paginator reads it).
    pub fn with_limit(self, limit: u64) -> Request {
        self.with_paging_parameter("limit", limit)
    }

    /// This request's page starting after the first `offset` records.
    pub fn with_offset(self, offset: u64) -> Request {
        self.with_paging_parameter("offset", offset)
    }

    /// This request as a service with DRF's `PAGE_SIZE = page_size` reads it: without a
    /// usable `limit` of its own, a page holds `page_size` records (and the paging links
    /// say `limit=<page_size>`); `None` (vcfq's default) leaves it unlimited.
    pub fn with_page_size(mut self, page_size: Option<u64>) -> Request {
        if self.paging.limit.is_none() {
            self.paging.limit = page_size.filter(|&size| size > 0);
        }
        self
    }

    fn with_paging_parameter(mut self, name: &str, value: u64) -> Request {
        self.parameters.retain(|(given, _)| given != name);
        self.parameters.push((name.to_string(), value.to_string()));
        if name == "limit" {
            self.paging.limit = (value > 0).then_some(value);
        } else {
            self.paging.offset = value;
        }
        self
    }

    /// The request's query parameters as given, in order.
    pub fn parameters(&self) -> &[(String, String)] {
        &self.parameters
    }
}

/// The parameters a request in region syntax (`chr19:44908684`,
/// `chr19:44905000-44910000`) stands for; `None` when `text` is not one (a query string
/// has `=`, a region has `:`).
pub fn region_parameters(text: &str) -> Option<Vec<(String, String)>> {
    if text.contains('=') {
        return None;
    }
    let (chromosome, positions) = text.trim().rsplit_once(':')?;
    let pair = |name: &str, value: &str| (name.to_string(), value.to_string());
    Some(match positions.split_once('-') {
        None => vec![pair("chromosome", chromosome), pair("position", positions)],
        Some((start, end)) => vec![
            pair("chromosome", chromosome),
            pair("start_position", start),
            pair("end_position", end),
        ],
    })
}

/// `text` as query parameters: a region's, or a query string's (a leading `?` allowed).
pub fn region_or_query_parameters(text: &str) -> Vec<(String, String)> {
    region_parameters(text).unwrap_or_else(|| parse_pairs(text.strip_prefix('?').unwrap_or(text)))
}

/// `limit` as Django REST framework's limit/offset paginator reads it: a positive integer,
/// otherwise ignored (no limit). Values past `u64::MAX` are taken as `u64::MAX`.
fn parse_limit(text: &str) -> Option<u64> {
    python_int(text)
        .filter(|&value| value > 0)
        .map(|value| u64::try_from(value).unwrap_or(u64::MAX))
}

/// `offset` likewise: a non-negative integer, otherwise 0.
fn parse_offset(text: &str) -> u64 {
    python_int(text)
        .filter(|&value| value >= 0)
        .map_or(0, |value| u64::try_from(value).unwrap_or(u64::MAX))
}

fn parse_chromosome(given: &str) -> Result<&'static Contig, RequestError> {
    Contig::from_canonical_name(given).ok_or_else(|| RequestError::Chromosome {
        given: given.to_string(),
        suggestion: Contig::suggestion_for(given).map(|contig| contig.name),
    })
}

fn parse_position(
    parameter: &'static str,
    given: &str,
    chromosome: &'static Contig,
) -> Result<Position, RequestError> {
    if given.is_empty() || !given.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::NotAPosition {
            parameter,
            given: given.to_string(),
        });
    }
    let beyond = || RequestError::BeyondContig {
        parameter,
        given: given.to_string(),
        chromosome: chromosome.name,
        length: chromosome.length,
    };
    // Digits only, so the one parse failure left is overflow: far beyond any contig.
    let value = parse_digits(given.as_bytes()).ok_or_else(beyond)?;
    let position = Position::new(value).ok_or_else(|| RequestError::NotAPosition {
        parameter,
        given: given.to_string(),
    })?;
    if value > chromosome.length {
        return Err(beyond());
    }
    Ok(position)
}

fn parse_rsids(list: &str) -> Result<Vec<Rsid>, RequestError> {
    let tokens: Vec<&str> = list
        .split(',')
        .map(|token| token.trim_matches(|c: char| c.is_ascii_whitespace()))
        .collect();
    if tokens.len() > MAX_RSIDS {
        return Err(RequestError::TooManyRsids {
            count: tokens.len(),
        });
    }
    let mut rsids: Vec<Rsid> = Vec::with_capacity(tokens.len());
    for (index, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return Err(RequestError::EmptyRsid { index: index + 1 });
        }
        let rsid = Rsid::parse_request_token(token).ok_or_else(|| RequestError::InvalidRsid {
            given: token.to_string(),
        })?;
        if !rsids.contains(&rsid) {
            rsids.push(rsid);
        }
    }
    Ok(rsids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(query: &str) -> RequestError {
        Request::parse(query).expect_err(query)
    }

    #[test]
    fn point_and_range() {
        let request = Request::parse("chromosome=chr19&position=44908684").unwrap();
        let chr19 = Contig::from_canonical_name("chr19").unwrap();
        assert_eq!(
            request.query,
            Query::Point {
                chromosome: chr19,
                position: Position::new(44_908_684).unwrap()
            }
        );
        assert_eq!(request.paging, Paging::default());
        let request = Request::parse(
            "?chromosome=chr19&start_position=44905000&end_position=44910000&limit=2&offset=1",
        )
        .unwrap();
        assert_eq!(
            request.query,
            Query::Range {
                chromosome: chr19,
                start_position: Position::new(44_905_000).unwrap(),
                end_position: Position::new(44_910_000).unwrap()
            }
        );
        assert_eq!(
            request.paging,
            Paging {
                limit: Some(2),
                offset: 1
            }
        );
    }

    #[test]
    fn modes() {
        assert_eq!(err(""), RequestError::NoQuery);
        assert_eq!(err("limit=5"), RequestError::NoQuery);
        assert!(matches!(
            err("chromosome=chr1&position=5&start_position=1"),
            RequestError::MixedModes { .. }
        ));
        assert!(matches!(
            err("rsid=rs1&chromosome=chr1"),
            RequestError::MixedModes { .. }
        ));
        assert!(matches!(
            err("position=5"),
            RequestError::IncompleteMode { mode: "point", .. }
        ));
        assert!(matches!(
            err("chromosome=chr1"),
            RequestError::IncompleteMode { .. }
        ));
        let missing = err("chromosome=chr1&start_position=5");
        assert_eq!(
            missing,
            RequestError::IncompleteMode {
                mode: "range",
                given: vec!["chromosome", "start_position"],
                missing: vec!["end_position"]
            }
        );
        assert!(missing.to_string().contains("missing end_position"));
    }

    #[test]
    fn chromosomes() {
        assert_eq!(
            err("chromosome=19&position=1"),
            RequestError::Chromosome {
                given: "19".into(),
                suggestion: Some("chr19")
            }
        );
        assert!(err("chromosome=19&position=1")
            .to_string()
            .contains("did you mean \"chr19\""));
        assert_eq!(
            err("chromosome=chr23&position=1"),
            RequestError::Chromosome {
                given: "chr23".into(),
                suggestion: None
            }
        );
        assert_eq!(
            err("chromosome=chrMT&position=1"),
            RequestError::Chromosome {
                given: "chrMT".into(),
                suggestion: Some("chrM")
            }
        );
    }

    #[test]
    fn positions() {
        for bad in ["", "+5", "-5", "5.0", "1,000", "1_000", " 5", "0x10", "٥"] {
            let mut query = String::from("chromosome=chr19&position=");
            crate::querystring::quote_plus_into(&mut query, bad);
            assert!(
                matches!(
                    Request::parse(&query),
                    Err(RequestError::NotAPosition { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            err("chromosome=chr19&position=0"),
            RequestError::NotAPosition { .. }
        ));
        assert!(matches!(
            err("chromosome=chr19&position=58617617"),
            RequestError::BeyondContig { .. }
        ));
        assert!(matches!(
            err("chromosome=chr19&position=99999999999999999999999"),
            RequestError::BeyondContig { .. }
        ));
        assert!(Request::parse("chromosome=chr19&position=58617616").is_ok());
        assert!(Request::parse("chromosome=chrM&position=16569").is_ok());
        assert!(Request::parse("chromosome=chr19&position=007").is_ok());
    }

    #[test]
    fn ranges() {
        assert!(Request::parse("chromosome=chr1&start_position=1&end_position=100001").is_ok());
        assert_eq!(
            err("chromosome=chr1&start_position=1&end_position=100002"),
            RequestError::RangeTooWide { span: 100_001 }
        );
        assert_eq!(
            err("chromosome=chr1&start_position=10&end_position=9"),
            RequestError::RangeReversed {
                start_position: 10,
                end_position: 9
            }
        );
        assert!(Request::parse("chromosome=chr1&start_position=10&end_position=10").is_ok());
    }

    #[test]
    fn rsids() {
        let request = Request::parse("rsid=rs429358,%20RS7412%20,Rs1801133,rs429358").unwrap();
        let numbers: Vec<u64> = match request.query {
            Query::Rsid { rsids } => rsids.into_iter().map(Rsid::number).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(numbers, vec![429_358, 7412, 1_801_133]);
        assert_eq!(err("rsid=rs1,,rs2"), RequestError::EmptyRsid { index: 2 });
        assert_eq!(err("rsid="), RequestError::EmptyRsid { index: 1 });
        for bad in [
            "rs",
            "rs01",
            "rs0",
            "rs1234567890123456789",
            "r1",
            "1",
            "rs1a",
            "rs-1",
        ] {
            assert_eq!(
                err(&format!("rsid={bad}")),
                RequestError::InvalidRsid { given: bad.into() },
                "{bad}"
            );
        }
        assert!(Request::parse("rsid=rs123456789012345678").is_ok());
        let fifty: Vec<String> = (1..=50).map(|n| format!("rs{n}")).collect();
        assert!(Request::parse(&format!("rsid={}", fifty.join(","))).is_ok());
        let fifty_one: Vec<String> = (1..=51).map(|n| format!("rs{n}")).collect();
        assert_eq!(
            err(&format!("rsid={}", fifty_one.join(","))),
            RequestError::TooManyRsids { count: 51 }
        );
    }

    #[test]
    fn paging_like_drf() {
        let paging = |query: &str| {
            Request::parse(&format!("chromosome=chr1&position=1&{query}"))
                .unwrap()
                .paging
        };
        assert_eq!(
            paging("limit=0"),
            Paging {
                limit: None,
                offset: 0
            }
        );
        assert_eq!(
            paging("limit=-1&offset=-1"),
            Paging {
                limit: None,
                offset: 0
            }
        );
        assert_eq!(
            paging("limit=abc&offset=x"),
            Paging {
                limit: None,
                offset: 0
            }
        );
        assert_eq!(
            paging("limit=+5&offset=0"),
            Paging {
                limit: Some(5),
                offset: 0
            }
        );
        assert_eq!(
            paging("limit=1_0&offset=%203%20"),
            Paging {
                limit: Some(10),
                offset: 3
            }
        );
        assert_eq!(
            paging("limit=1&limit=2"),
            Paging {
                limit: Some(2),
                offset: 0
            }
        );
    }

    #[test]
    fn regions_as_tabix_writes_them() {
        assert_eq!(
            Request::parse_region_or_query("chr19:44908684").unwrap(),
            Request::parse("chromosome=chr19&position=44908684").unwrap()
        );
        let range = Request::parse_region_or_query("chr19:44905000-44910000").unwrap();
        assert_eq!(
            range.query,
            Request::parse("chromosome=chr19&start_position=44905000&end_position=44910000")
                .unwrap()
                .query
        );
        // The same rules and messages as the parameters.
        for (region, parameters) in [
            ("19:44908684", "chromosome=19&position=44908684"),
            ("chr19:0", "chromosome=chr19&position=0"),
            ("chr19:1,000", "chromosome=chr19&position=1,000"),
            ("chr19:", "chromosome=chr19&position="),
            (
                "chr19:100-",
                "chromosome=chr19&start_position=100&end_position=",
            ),
            (
                "chr19:200-100",
                "chromosome=chr19&start_position=200&end_position=100",
            ),
            (
                "chr1:1-100002",
                "chromosome=chr1&start_position=1&end_position=100002",
            ),
        ] {
            assert_eq!(
                Request::parse_region_or_query(region).unwrap_err(),
                Request::parse(parameters).unwrap_err(),
                "{region}"
            );
        }
        assert_eq!(region_parameters("chromosome=chr19&position=1"), None);
        assert_eq!(region_parameters("chr19"), None);
    }

    #[test]
    fn built_requests_equal_parsed_ones() {
        assert_eq!(
            Request::point("chr19", 44_908_684).unwrap(),
            Request::parse("chromosome=chr19&position=44908684").unwrap()
        );
        assert_eq!(
            Request::range("chr19", 44_905_000, 44_910_000)
                .unwrap()
                .with_limit(2)
                .with_offset(2),
            Request::parse(
                "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2&offset=2"
            )
            .unwrap()
        );
        assert_eq!(
            Request::rsids(["rs429358", "rs7412"]).unwrap(),
            Request::parse("rsid=rs429358%2Crs7412").unwrap()
        );
        assert_eq!(
            Request::point("19", 1).unwrap_err(),
            Request::parse("chromosome=19&position=1").unwrap_err()
        );
        assert_eq!(
            Request::point("chr19", 0).unwrap_err(),
            err("chromosome=chr19&position=0")
        );
        assert_eq!(
            Request::rsids(Vec::<&str>::new()).unwrap_err(),
            RequestError::EmptyRsid { index: 1 }
        );
        let unlimited = Request::point("chr1", 5)
            .unwrap()
            .with_limit(3)
            .with_limit(0);
        assert_eq!(unlimited.paging.limit, None);
        assert_eq!(
            unlimited.parameters().last().unwrap(),
            &("limit".to_string(), "0".to_string())
        );
    }

    #[test]
    fn last_value_wins() {
        let request = Request::parse("chromosome=chr2&position=1&chromosome=chr19").unwrap();
        assert!(
            matches!(request.query, Query::Point { chromosome, .. } if chromosome.name == "chr19")
        );
    }
}
