//! vcfq answers variant-level questions (a position, a window of up to 100 kb, a list
//! of rsIDs) from one sample's local bgzipped, tabix-indexed GRCh38 VCF, with exactly
//! the JSON bytes the hosted variant-level API returns for the same question.
//!
//! ```no_run
//! use vcfq::{Request, ResponseOptions, Sample, SampleOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sample = Sample::open("testdata/apoe.vcf.gz", &SampleOptions::default())?;
//! let request = Request::parse("chromosome=chr19&position=44908684")?;
//! let body = sample.respond(&request, &ResponseOptions::default())?;
//! println!("{}", String::from_utf8(body)?);
//! # Ok(())
//! # }
//! ```
//!
//! With a dbSNP map (built once by `vcfq dbsnp build`), rsID queries and the `rsid`
//! field work too: set `ResponseOptions::dbsnp` to an opened [`RsidMap`].
//!
//! Modules, one concern each: [`request`] and [`querystring`] (parsing and validation),
//! `tabix` (the only code that touches htslib), `blocks` (the position index and vcfq's
//! own block reader), `vcf` (sample requirements and header),
//! `record` and `json` (record -> bytes), [`response`] (envelope and paging links),
//! [`engine`] (the query engine tying them together), [`dbsnp`] (the rsID map: build,
//! open, look up), [`store`] (samples by UUID), [`server`] (`vcfq serve`), [`parity`]
//! (`vcfq parity`), [`index`] (writing bgzipped, indexed VCFs).

mod blocks;
pub mod contig;
pub mod dbsnp;
pub mod engine;
pub mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
mod json;
pub mod parity;
pub mod pretty;
pub mod querystring;
mod record;
pub mod request;
pub mod response;
pub mod server;
pub mod store;
mod tabix;
mod vcf;

pub use blocks::IndexSummary;
pub use contig::Contig;
pub use dbsnp::RsidMap;
pub use engine::{Sample, SampleOptions};
pub use error::{Error, ErrorClass, ErrorKind};
pub use request::{Paging, Position, Query, Request, RequestError, Rsid};
pub use response::{ResponseOptions, Schema};
