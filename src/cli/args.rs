//! Arguments shared by several commands: which sample, which store, the response's shape
//! and paging.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use vcfq::response::{API_PATH, DEFAULT_BASE_URL};
use vcfq::store::{SampleId, Store, DEFAULT_STORE_DIR};
use vcfq::{Error, ResponseOptions, RsidMap, Sample, SampleOptions, Schema};

#[derive(Args)]
#[group(required = true, multiple = false, id = "source")]
pub(crate) struct SampleSource {
    /// The sample's bgzipped VCF (with FILE.tbi or FILE.csi beside it).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) vcf: Option<PathBuf>,
    /// A sample registered in the store (`vcfq sample add`), by UUID.
    #[arg(short, long, value_name = "UUID")]
    pub(crate) sample: Option<String>,
}

#[derive(Args)]
pub(crate) struct SampleArgs {
    #[command(flatten)]
    pub(crate) source: SampleSource,
    /// The sample column that fills `genotype` (default: the first; with --vcf only).
    #[arg(long, value_name = "NAME", conflicts_with = "sample")]
    pub(crate) vcf_sample: Option<String>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Args)]
pub(crate) struct StoreArgs {
    /// The sample store directory.
    #[arg(long, value_name = "DIR", env = "VCFQ_STORE", default_value = DEFAULT_STORE_DIR)]
    pub(crate) store: PathBuf,
}

impl SampleArgs {
    /// Opens the sample, and says what request URL `openapi` links start from by default:
    /// the hosted endpoint's path for a stored sample, as `vcfq serve` would answer.
    pub(crate) fn open(&self) -> Result<(Sample, String), Error> {
        let opened = self.open_quietly()?;
        if let Some(note) = opened.0.position_index_note() {
            // A position index that is not used makes every process load the tabix
            // index (~25 ms genome-wide): say so, once, without failing the query.
            let _ = writeln!(io::stderr(), "vcfq: note: {note}");
        }
        Ok(opened)
    }

    fn open_quietly(&self) -> Result<(Sample, String), Error> {
        match (&self.source.vcf, &self.source.sample) {
            (Some(vcf), _) => Ok((
                Sample::open(
                    vcf,
                    &SampleOptions {
                        vcf_sample: self.vcf_sample.clone(),
                    },
                )?,
                DEFAULT_BASE_URL.to_string(),
            )),
            (None, Some(id)) => {
                let id = SampleId::parse(id)?;
                let (_, sample) = Store::new(&self.store.store).open_sample(&id)?;
                Ok((sample, format!("{DEFAULT_BASE_URL}{API_PATH}{id}")))
            }
            (None, None) => Err(vcfq::ErrorKind::Io {
                context: "choosing the sample".to_string(),
                source: io::Error::other("give --vcf FILE or --sample UUID"),
            }
            .into()),
        }
    }
}

/// A request as flags, a region or a query string (`vcfq query`, `vcfq cohort`).
#[derive(Args)]
pub(crate) struct RequestArgs {
    /// Contig, chr-prefixed: chr1..chr22, chrX, chrY, chrM.
    #[arg(short, long, allow_hyphen_values = true)]
    chromosome: Option<String>,
    /// 1-based position (point query).
    #[arg(short, long, allow_hyphen_values = true)]
    position: Option<String>,
    /// 1-based start of the range, inclusive.
    #[arg(long, allow_hyphen_values = true)]
    start_position: Option<String>,
    /// 1-based end of the range, inclusive (at most 100000 past the start).
    #[arg(long, allow_hyphen_values = true)]
    end_position: Option<String>,
    /// Comma-separated rsIDs (1 to 50).
    #[arg(short, long, allow_hyphen_values = true)]
    rsid: Option<String>,
    #[command(flatten)]
    paging: PagingArgs,
    /// The request as a region (chr19:44908684, chr19:44905000-44910000) or a query
    /// string ('chromosome=chr19&position=44908684').
    #[arg(value_name = "REGION_OR_QUERY")]
    query_string: Option<String>,
}

impl RequestArgs {
    /// The request's parameters: the region or query string's, then the flags' (a flag
    /// given again overrides, as a repeated query parameter does).
    pub(crate) fn parameters(&self) -> Vec<(String, String)> {
        let mut parameters = self
            .query_string
            .as_deref()
            .map(vcfq::request::region_or_query_parameters)
            .unwrap_or_default();
        let flags = [
            ("chromosome", &self.chromosome),
            ("position", &self.position),
            ("start_position", &self.start_position),
            ("end_position", &self.end_position),
            ("rsid", &self.rsid),
        ];
        for (name, value) in flags {
            if let Some(value) = value {
                parameters.push((name.to_string(), value.clone()));
            }
        }
        parameters.extend(self.paging.parameters());
        parameters
    }

    /// `--page-size`.
    pub(crate) fn page_size(&self) -> Option<u64> {
        self.paging.page_size
    }
}

#[derive(Args)]
pub(crate) struct OutputArgs {
    /// Response shape: the documentation page's (docs) or the published schema's (openapi).
    #[arg(long, value_enum, default_value = "docs")]
    pub(crate) schema: Schema,
    /// The request URL that `openapi` next/previous links are built on (default
    /// http://127.0.0.1:8080, plus the endpoint's path with --sample).
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// A dbSNP map (from `vcfq dbsnp build`): answers rsid queries and fills `rsid`.
    #[arg(short, long, value_name = "DIR", env = "VCFQ_DBSNP")]
    pub(crate) dbsnp: Option<PathBuf>,
}

impl OutputArgs {
    pub(crate) fn options(&self, default_base_url: String) -> Result<ResponseOptions, Error> {
        let dbsnp = RsidMap::open_if_given(self.dbsnp.as_deref())?;
        Ok(ResponseOptions {
            schema: self.schema,
            base_url: self.base_url.clone().unwrap_or(default_base_url),
            dbsnp,
        })
    }
}

#[derive(Args)]
pub(crate) struct PagingArgs {
    /// Return at most N records (a positive integer).
    #[arg(short, long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) limit: Option<u64>,
    /// Skip the first N matching records.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub(crate) offset: Option<u64>,
    /// A page size as Django REST framework's PAGE_SIZE: a request without a usable
    /// limit of its own gets at most N records, and paging links (default: no limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) page_size: Option<u64>,
}

impl PagingArgs {
    pub(crate) fn parameters(&self) -> Vec<(String, String)> {
        let mut parameters = Vec::new();
        if let Some(limit) = self.limit {
            parameters.push(("limit".to_string(), limit.to_string()));
        }
        if let Some(offset) = self.offset {
            parameters.push(("offset".to_string(), offset.to_string()));
        }
        parameters
    }
}

/// A size in bytes as people write it: `4G`, `512M`, `64KiB`, `1000000`.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 4G, 512M or 1000000"))?;
    let multiplier: u64 = match unit
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use K, M, G or T)"
            ))
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}
