//! vcfq answers variant-level questions (a position, a window of up to 100 kb, a list
//! of rsIDs) from one sample's local bgzipped, tabix-indexed GRCh38 VCF, with exactly
//! the JSON bytes the hosted variant-level API returns for the same question.
//!
//! ```
//! use vcfq::{Request, ResponseOptions, Sample, SampleOptions, Schema};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Open and check a sample once; query it as often as needed, from any thread.
//! let sample = Sample::open("testdata/apoe.vcf.gz", &SampleOptions::default())?;
//!
//! // A request built in code, or parsed from the hosted API's query string: the same.
//! let request = Request::point("chr19", 44_908_684)?;
//! assert_eq!(request, Request::parse("chromosome=chr19&position=44908684")?);
//! let body = sample.respond(&request, &ResponseOptions::default())?;
//! assert!(body.starts_with(br#"{"meta":{"count":1},"results":[{"chromosome":"chr19","position":44908684,"rsid":"rs429358""#));
//!
//! // The published schema's shape, one page at a time, with its paging links.
//! let window = Request::range("chr19", 44_905_000, 44_910_000)?.with_limit(2);
//! let options = ResponseOptions { schema: Schema::Openapi, ..ResponseOptions::default() };
//! let page = String::from_utf8(sample.respond(&window, &options)?)?;
//! assert!(page.starts_with(r#"{"meta":{"count":5,"next":"http://127.0.0.1:8080?chromosome=chr19&end_position=44910000&limit=2&offset=2&start_position=44905000""#));
//!
//! // Or typed records, borrowed from the VCF's lines: the same records the JSON shows.
//! let records = sample.records(&Request::parse_region_or_query("chr19:44905000-44910000")?, None)?;
//! assert_eq!(records.count(), 5);
//! for record in &records {
//!     let record = record?;
//!     let alternates: Vec<&str> = record.alternates().collect();
//!     println!("{}:{} {}>{} GT={:?} DS={:?}", record.chromosome(), record.position(),
//!         record.reference(), alternates.join(","),
//!         record.genotype_field("GT"), record.genotype_field("DS"));
//! }
//!
//! // Bad requests are errors that say what was wrong.
//! let error = Request::point("19", 44_908_684).unwrap_err();
//! assert!(error.to_string().contains("did you mean \"chr19\""));
//! # Ok(())
//! # }
//! ```
//!
//! With a dbSNP map (built once by `vcfq dbsnp build`, or [`dbsnp::build_map`]), rsID
//! queries and the `rsid` field work too: set `ResponseOptions::dbsnp` to an opened
//! [`RsidMap`], or pass it to [`Sample::records`]. `examples/` has a point lookup and a
//! 50-rsID panel written as CSV (`cargo run --example panel_csv`).
//!
//! The path of one request: [`request`] (with [`querystring`]) parses and validates it;
//! [`engine`] finds the records, through `position_index` (vcfq's own memory-mapped index
//! and block reader, over `bgzf`) or `tabix` (the only code that touches htslib), with
//! the sample requirements checked by `vcf` when the sample opens; `record` splits each
//! line, `json` writes it, and [`response`] wraps the page in its envelope. [`types`]
//! holds the shared domain types, [`dbsnp`] the rsID map, [`store`] the samples by UUID,
//! [`index`] the writers of indexed VCFs, [`error`] every failure and its class, and
//! `server` (feature `server`) the HTTP mirror. `docs/architecture.md` draws the same
//! map.
//!
//! Cargo features: `server` (`vcfq serve`'s HTTP layer: tokio, axum, hyper), `cli` (the
//! `vcfq` binary: clap, indicatif, and `server`), `synth` (the `vcfq-synth` data
//! generator), `fuzzing` (the fuzz entry points). With `default-features = false` the
//! library is the query engine alone.

#![warn(missing_docs)]

mod bgzf;
pub mod cohort;
pub mod dbsnp;
pub mod engine;
pub mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
mod json;
pub mod lines;
mod position_index;
pub mod querystring;
mod record;
pub mod request;
pub mod response;
#[cfg(feature = "server")]
pub mod server;
pub mod store;
mod tabix;
pub mod types;
mod vcf;

pub use dbsnp::RsidMap;
pub use engine::{RecordIter, Records, Sample, SampleOptions};
pub use error::{Error, ErrorClass, ErrorKind};
pub use position_index::IndexSummary;
pub use record::Record;
pub use request::{Paging, Query, Request, RequestError};
pub use response::{ResponseOptions, Schema};
pub use types::{Contig, Position, Rsid};
