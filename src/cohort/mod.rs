//! Cohorts: one request over many samples (`docs/parity.md`, "Cohorts"). Samples are
//! answered in parallel (rayon) a window at a time and handed on in the order given, so
//! memory and open files stay bounded whatever the number of samples: at most one
//! window of answers is held, and each sample's files are open only while it is being
//! answered. A sample that fails (missing file, stale or foreign index, corrupt block,
//! not GRCh38) is reported as that sample's answer and never stops the others.

#[cfg(feature = "table")]
pub mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::engine::{Sample, SampleOptions};
use crate::error::{Error, ErrorClass, ErrorKind};
use crate::record::{split_record, Record};
use crate::request::Request;
use crate::response::ResponseOptions;
use crate::store::{open_stored, StoredSample};
use crate::types::{Contig, Rsid};

/// One sample of a cohort: its id (a store UUID, or a manifest's `sample_id`) and where
/// its VCF is.
#[derive(Debug, Clone)]
pub struct CohortMember {
    /// The id written with its answer.
    pub id: String,
    /// Where the sample is.
    pub source: MemberSource,
}

/// Where a cohort member's VCF is.
#[derive(Debug, Clone)]
pub enum MemberSource {
    /// A VCF by path (a manifest's line).
    Vcf {
        /// The VCF.
        path: PathBuf,
        /// The sample column that fills `genotype` (the first when `None`).
        vcf_sample: Option<String>,
    },
    /// A store's record: opened as `--sample` opens it (checked against what was
    /// registered).
    Stored(StoredSample),
    /// An id the store does not hold: its answer is the not-found error.
    NotInStore,
}

impl CohortMember {
    /// A member from a store's record.
    pub fn from_stored(stored: StoredSample) -> CohortMember {
        CohortMember {
            id: stored.id.clone(),
            source: MemberSource::Stored(stored),
        }
    }

    /// A member by VCF path.
    pub fn from_vcf(id: impl Into<String>, path: impl Into<PathBuf>) -> CohortMember {
        CohortMember {
            id: id.into(),
            source: MemberSource::Vcf {
                path: path.into(),
                vcf_sample: None,
            },
        }
    }

    fn open(&self) -> Result<Sample, Error> {
        match &self.source {
            MemberSource::Stored(stored) => open_stored(stored),
            MemberSource::Vcf { path, vcf_sample } => Sample::open(
                path,
                &SampleOptions {
                    vcf_sample: vcf_sample.clone(),
                },
            ),
            MemberSource::NotInStore => Err(ErrorKind::SampleNotFound {
                id: self.id.clone(),
            }
            .into()),
        }
    }
}

/// Reads a manifest: `sample_id<TAB>vcf_path` a line (a header line
/// `sample_id<TAB>vcf_path` and `#` comments allowed; relative paths are relative to
/// the manifest's folder). Ids must be unique and non-empty.
pub fn read_manifest(path: &Path) -> Result<Vec<CohortMember>, Error> {
    let bad = |message: String| -> Error {
        ErrorKind::Cohort {
            message: format!("manifest {}: {message}", path.display()),
            class: ErrorClass::BadRequest,
        }
        .into()
    };
    let file = crate::files::open_regular(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => bad("does not exist".to_string()),
        _ => Error::io(format!("opening {}", path.display()), error),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut members = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut line = Vec::new();
    let mut input = std::io::BufReader::new(file);
    for number in 1u64.. {
        match crate::lines::read_line_limited(&mut input, &mut line, 1 << 16)
            .map_err(|error| Error::io(format!("reading {}", path.display()), error))?
        {
            crate::lines::LineRead::End => break,
            crate::lines::LineRead::TooLong => {
                return Err(bad(format!("line {number} is longer than 64 KiB")))
            }
            crate::lines::LineRead::Line => {}
        }
        let text = std::str::from_utf8(&line)
            .map_err(|_| bad(format!("line {number} is not UTF-8")))?
            .trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let Some((id, vcf)) = text.split_once('\t') else {
            return Err(bad(format!(
                "line {number}: expected `sample_id<TAB>vcf_path`, got {text:?}"
            )));
        };
        if number == 1 && id == "sample_id" {
            continue;
        }
        let (id, vcf) = (id.trim(), vcf.trim());
        if id.is_empty() || vcf.is_empty() {
            return Err(bad(format!("line {number}: an empty sample id or path")));
        }
        if !seen.insert(id.to_string()) {
            return Err(bad(format!(
                "line {number}: sample id {id:?} is given twice"
            )));
        }
        members.push(CohortMember::from_vcf(id, base.join(vcf)));
    }
    Ok(members)
}

/// A sample's own request URL for `openapi` links, from its id.
pub type BaseUrlForId = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// How to run a cohort.
#[derive(Clone, Default)]
pub struct CohortOptions {
    /// How to answer (schema, base URL, dbSNP map).
    pub response: ResponseOptions,
    /// When set, each sample's `openapi` links start from this URL instead of
    /// `response.base_url` (stored samples have their own, as `vcfq query --sample`
    /// gives them).
    pub base_url_for_id: Option<BaseUrlForId>,
    /// Samples answered at once (rayon threads); 0 for one per core.
    pub threads: usize,
    /// Stop at the first failing sample (its error is the run's).
    pub fail_fast: bool,
    /// Set to stop between windows of samples.
    pub interrupted: Option<Arc<AtomicBool>>,
}

/// What each sample's answer carries: the JSON body (ndjson), the rows (the tables), or
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// The exact response body.
    pub body: bool,
    /// The records, one [`CohortRow`] per (requested rsID, record) or per record.
    pub rows: bool,
}

/// One record of a sample's answer, owned: its line, which the table splits again.
#[derive(Debug, Clone)]
pub struct OwnedRecord {
    contig: &'static Contig,
    line: Vec<u8>,
    rsid: Option<Rsid>,
    sample_column: Option<usize>,
}

impl OwnedRecord {
    /// The typed record (it was checked when the sample was answered).
    pub fn record(&self) -> Result<Record<'_>, String> {
        let columns = split_record(&self.line, self.sample_column)?;
        Record::new(self.contig, &columns, self.rsid)
    }
}

/// One row of the long table: in rsID mode, a requested rsID and a record it matches
/// (`record` is that record's place in the answer), or a resolved rsID the sample does
/// not carry (`record` is `None`); otherwise one row per record.
#[derive(Debug, Clone)]
pub struct CohortRow {
    /// rsID mode: the requested rsID.
    pub query_rsid: Option<Rsid>,
    /// The record's place in the sample's answer (0-based, on this page).
    pub record: Option<usize>,
}

/// A sample's answer.
#[derive(Debug, Clone)]
pub struct Answered {
    /// `meta.count`: every matching record before paging.
    pub count: u64,
    /// Records on the page answered.
    pub page_len: usize,
    /// The exact body `vcfq query` prints, when asked for.
    pub body: Option<Vec<u8>>,
    /// The page's records, in answer order (when rows were asked for).
    pub records: Vec<OwnedRecord>,
    /// The rows (when asked for).
    pub rows: Vec<CohortRow>,
}

/// Why a sample has no answer: the HTTP status the hosted API would give and the
/// message (`vcfq query`'s, without the `vcfq: ` prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// 400, 404 or 500.
    pub status: u16,
    /// What was wrong.
    pub detail: String,
}

/// One sample's outcome, with its place in the cohort.
#[derive(Debug, Clone)]
pub struct SampleAnswer {
    /// Its index in the list given.
    pub index: usize,
    /// Its id.
    pub id: String,
    /// The answer or the failure.
    pub outcome: Result<Answered, Failed>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CohortSummary {
    /// Samples answered.
    pub answered: u64,
    /// Samples that failed.
    pub failed: u64,
    /// Records in all answers (on the requested pages).
    pub records: u64,
}

/// Samples answered per window: enough to keep every thread busy, few enough to bound
/// memory (a window's answers are held until they are handed on in order).
const SAMPLES_PER_THREAD_IN_A_WINDOW: usize = 4;

/// Answers `request` for every member, in parallel, and hands each answer to `sink` in
/// the members' order. `sink`'s error stops the run (and is returned); with
/// `fail_fast` the first failing sample does too.
pub fn run_cohort(
    members: &[CohortMember],
    request: &Request,
    options: &CohortOptions,
    want: Want,
    mut sink: impl FnMut(SampleAnswer) -> Result<(), Error>,
) -> Result<CohortSummary, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
        .map_err(|error| Error::io("starting the cohort threads", std::io::Error::other(error)))?;
    let window = pool.current_num_threads() * SAMPLES_PER_THREAD_IN_A_WINDOW;
    let mut summary = CohortSummary::default();
    for (start, chunk) in (0..).step_by(window).zip(members.chunks(window)) {
        if options
            .interrupted
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
        {
            return Err(ErrorKind::Cohort {
                message: "interrupted".to_string(),
                class: ErrorClass::Internal,
            }
            .into());
        }
        let answers: Vec<SampleAnswer> = pool.install(|| {
            chunk
                .par_iter()
                .enumerate()
                .map(|(offset, member)| SampleAnswer {
                    index: start + offset,
                    id: member.id.clone(),
                    outcome: match &options.base_url_for_id {
                        None => answer(member, request, &options.response, want),
                        Some(base_url) => answer(
                            member,
                            request,
                            &ResponseOptions {
                                base_url: base_url(&member.id),
                                ..options.response.clone()
                            },
                            want,
                        ),
                    },
                })
                .collect()
        });
        for answer in answers {
            match &answer.outcome {
                Ok(answered) => {
                    summary.answered += 1;
                    summary.records += answered.page_len as u64;
                }
                Err(failed) => {
                    summary.failed += 1;
                    if options.fail_fast {
                        return Err(ErrorKind::Cohort {
                            message: format!(
                                "sample {}: {} (stopped by --fail-fast)",
                                answer.id, failed.detail
                            ),
                            class: match failed.status {
                                400 => ErrorClass::BadRequest,
                                404 => ErrorClass::NotFound,
                                _ => ErrorClass::Internal,
                            },
                        }
                        .into());
                    }
                }
            }
            sink(answer)?;
        }
    }
    Ok(summary)
}

/// One sample's answer; its files are closed when it returns.
fn answer(
    member: &CohortMember,
    request: &Request,
    options: &ResponseOptions,
    want: Want,
) -> Result<Answered, Failed> {
    let failed = |error: Error| Failed {
        status: error.class().http_status(),
        detail: error.to_string(),
    };
    let sample = member.open().map_err(failed)?;
    let records = sample
        .records(request, options.dbsnp.as_deref())
        .map_err(failed)?;
    let body = if want.body {
        let mut body = Vec::with_capacity(1024);
        sample
            .write_records(&records, request, options, &mut body)
            .map_err(failed)?;
        Some(body)
    } else {
        // Rows check every record as they are made (below), as the body would.
        None
    };
    let (owned, rows) = if want.rows {
        let owned = (0..records.len())
            .map(|index| {
                let rsid = records.get(index).map_err(failed)?.rsid();
                let (contig, line) = records.line(index);
                Ok(OwnedRecord {
                    contig,
                    line: line.to_vec(),
                    rsid,
                    sample_column: sample.sample_column(),
                })
            })
            .collect::<Result<Vec<_>, Failed>>()?;
        let rows = match request.query {
            crate::request::Query::Rsid { .. } => records
                .rsid_matches()
                .iter()
                .map(|&(rsid, record)| CohortRow {
                    query_rsid: Some(rsid),
                    record,
                })
                .collect(),
            _ => (0..records.len())
                .map(|index| CohortRow {
                    query_rsid: None,
                    record: Some(index),
                })
                .collect(),
        };
        (owned, rows)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Answered {
        count: records.count(),
        page_len: records.len(),
        body,
        records: owned,
        rows,
    })
}

/// `{"sample_id":"ID","response":BODY}` or `{"sample_id":"ID","status":N,"detail":"..."}`:
/// one ndjson line (without its line end).
pub fn ndjson_line(answer: &SampleAnswer, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"sample_id\":");
    crate::json::write_string(out, &answer.id);
    match &answer.outcome {
        Ok(answered) => {
            out.extend_from_slice(b",\"response\":");
            out.extend_from_slice(answered.body.as_deref().unwrap_or(b"null"));
        }
        Err(failed) => {
            out.extend_from_slice(b",\"status\":");
            out.extend_from_slice(failed.status.to_string().as_bytes());
            out.extend_from_slice(b",\"detail\":");
            crate::json::write_string(out, &failed.detail);
        }
    }
    out.push(b'}');
}
