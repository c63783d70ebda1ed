//! `vcfq cohort`: one request over many samples, as ndjson, an Arrow IPC stream or
//! Parquet.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use vcfq::cohort::table::{BatchBuilder, TableWriter};
use vcfq::cohort::{
    ndjson_line, read_manifest, run_cohort, CohortMember, CohortOptions, MemberSource, Want,
};
use vcfq::response::{API_PATH, DEFAULT_BASE_URL};
use vcfq::store::{SampleId, Store};
use vcfq::{Error, Request};

use super::args::{OutputArgs, RequestArgs, StoreArgs};
use super::{output_error, Failure};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// One line per sample: {"sample_id":...,"response":BODY} or its error.
    Ndjson,
    /// The long table as an Arrow IPC stream.
    Arrow,
    /// The long table as Parquet (zstd).
    Parquet,
}

#[derive(Args)]
#[group(required = true, multiple = false, id = "members")]
pub(crate) struct Members {
    /// Store sample ids (UUIDs), one a line (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    samples: Option<PathBuf>,
    /// Every sample in the store.
    #[arg(long)]
    all: bool,
    /// A manifest: `sample_id<TAB>vcf_path` a line (paths relative to the manifest).
    #[arg(short, long, value_name = "FILE")]
    manifest: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct CohortArgs {
    #[command(flatten)]
    members: Members,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "ndjson")]
    format: Format,
    /// Output file (written to a temporary file, renamed into place when complete);
    /// ndjson goes to standard output without one.
    #[arg(short, long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Stop at the first failing sample (exit with its error) instead of reporting it
    /// and going on.
    #[arg(long)]
    fail_fast: bool,
    /// Samples answered at once (default: one per core).
    #[arg(short, long, value_name = "N")]
    threads: Option<usize>,
}

/// The cohort's members, as asked.
fn members(args: &CohortArgs) -> Result<Vec<CohortMember>, Failure> {
    if let Some(manifest) = &args.members.manifest {
        return Ok(read_manifest(manifest)?);
    }
    let store = Store::new(&args.store.store);
    let listed = store.list()?;
    if args.members.all {
        return Ok(listed.into_iter().map(CohortMember::from_stored).collect());
    }
    let path = args.members.samples.as_deref().unwrap_or(Path::new("-"));
    let text = if path.as_os_str() == "-" {
        io::read_to_string(io::stdin())
            .map_err(|error| Failure::Io("reading sample ids".to_string(), error))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|error| Failure::Io(format!("reading {}", path.display()), error))?
    };
    let by_id: std::collections::HashMap<String, _> = listed
        .into_iter()
        .map(|stored| (stored.id.clone(), stored))
        .collect();
    let mut members = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = SampleId::parse(line).map_err(|error| {
            Failure::Usage(format!("{} line {}: {error}", path.display(), number + 1))
        })?;
        match by_id.get(id.as_str()) {
            Some(stored) => members.push(CohortMember::from_stored(stored.clone())),
            // Not in the store: that sample's answer is the not-found error.
            None => members.push(CohortMember {
                id: id.as_str().to_string(),
                source: MemberSource::NotInStore,
            }),
        }
    }
    Ok(members)
}

/// The output file being written: removed unless completed.
struct Pending {
    temporary: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Pending {
    fn create(target: &Path) -> Result<(Pending, File), Failure> {
        let name = target.file_name().ok_or_else(|| {
            Failure::Usage(format!("--out {}: not a file name", target.display()))
        })?;
        let mut temporary_name = std::ffi::OsString::from(".");
        temporary_name.push(name);
        temporary_name.push(format!(".vcfq-tmp.{}", std::process::id()));
        let temporary = target.with_file_name(temporary_name);
        let file = File::create(&temporary)
            .map_err(|error| Failure::Io(format!("creating {}", temporary.display()), error))?;
        Ok((
            Pending {
                temporary,
                target: target.to_path_buf(),
                done: false,
            },
            file,
        ))
    }

    /// Renames the complete file into place (`file`: the table's handle, to sync; an
    /// ndjson file was flushed and closed already).
    fn commit(mut self, file: Option<File>) -> Result<(), Failure> {
        let file = match file {
            Some(file) => file,
            None => File::open(&self.temporary).map_err(|error| {
                Failure::Io(format!("reading {}", self.temporary.display()), error)
            })?,
        };
        file.sync_all()
            .map_err(|error| Failure::Io(format!("writing {}", self.temporary.display()), error))?;
        std::fs::rename(&self.temporary, &self.target).map_err(|error| {
            Failure::Io(format!("renaming into {}", self.target.display()), error)
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Progress on a terminal: samples done, rate, ETA.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "vcfq cohort: {pos}/{len} samples {bar:30} {per_sec} ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

pub(crate) fn run(args: CohortArgs) -> Result<(), Failure> {
    if args.format != Format::Ndjson && args.out.is_none() {
        return Err(Failure::Usage(
            "--format arrow and parquet need --out FILE (they are not written to a terminal)"
                .to_string(),
        ));
    }
    let request = Request::from_parameters(args.request.parameters())
        .map_err(Error::from)?
        .with_page_size(args.request.page_size());
    let members = members(&args)?;
    let store_members = args.members.manifest.is_none();
    let response = args.output.options(DEFAULT_BASE_URL.to_string())?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            eprintln!("vcfq: interrupted again; stopping now");
            std::process::exit(130);
        }
    });
    let options = CohortOptions {
        response,
        threads: args.threads.unwrap_or(0),
        fail_fast: args.fail_fast,
        interrupted: Some(Arc::clone(&interrupted)),
        // Stored samples' `openapi` links start from their own URL, as `vcfq query
        // --sample` and `vcfq serve` give them.
        base_url_for_id: (store_members && args.output.base_url.is_none())
            .then(|| Arc::new(|id: &str| format!("{DEFAULT_BASE_URL}{API_PATH}{id}")) as _),
    };
    let (pending, file) = match &args.out {
        Some(path) => {
            let (pending, file) = Pending::create(path)?;
            (Some(pending), Some(file))
        }
        None => (None, None),
    };
    let started = Instant::now();
    let bar = progress_bar(members.len());
    let want = Want {
        body: args.format == Format::Ndjson,
        rows: args.format != Format::Ndjson,
    };
    // ndjson to the file or standard output; the tables to the file.
    let mut ndjson: Option<BufWriter<Box<dyn Write + Send>>> = None;
    let mut table = None;
    match (args.format, file) {
        (Format::Ndjson, Some(file)) => {
            ndjson = Some(BufWriter::with_capacity(1 << 20, Box::new(file)));
        }
        (Format::Ndjson, None) => {
            ndjson = Some(BufWriter::with_capacity(1 << 20, Box::new(io::stdout())));
        }
        (Format::Arrow, Some(file)) => {
            table = Some(TableWriter::arrow(BufWriter::with_capacity(1 << 20, file))?);
        }
        (Format::Parquet, Some(file)) => {
            table = Some(TableWriter::parquet(BufWriter::with_capacity(
                1 << 20,
                file,
            ))?);
        }
        (_, None) => unreachable!("checked above: the tables need --out"),
    }
    let mut batches = BatchBuilder::default();
    let mut line = Vec::with_capacity(1 << 16);
    let result = run_cohort(&members, &request, &options, want, |answer| {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
        if let Some(output) = &mut ndjson {
            line.clear();
            ndjson_line(&answer, &mut line);
            line.push(b'\n');
            output.write_all(&line).map_err(|error| {
                Error::from(vcfq::ErrorKind::Io {
                    context: "writing the cohort".to_string(),
                    source: error,
                })
            })?;
        }
        if let Some(table) = &mut table {
            if let Some(batch) = batches.push(&answer)? {
                table.write(&batch)?;
            }
        }
        Ok(())
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    if interrupted.load(Ordering::Relaxed) {
        drop(pending);
        eprintln!("vcfq: interrupted; no output was written");
        return Err(Failure::Exit(130));
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(error) => {
            drop(pending);
            return Err(match error.kind() {
                vcfq::ErrorKind::Io { source, .. }
                    if source.kind() == io::ErrorKind::BrokenPipe =>
                {
                    Failure::BrokenPipe
                }
                _ => Failure::Vcfq(error),
            });
        }
    };
    let file = match (ndjson, table) {
        (Some(output), _) => {
            let mut output = output
                .into_inner()
                .map_err(|error| output_error(error.into_error()))?;
            output.flush().map_err(output_error)?;
            None
        }
        (None, Some(mut table)) => {
            if let Some(batch) = batches.finish()? {
                table.write(&batch)?;
            }
            let output = table.finish()?;
            Some(
                output
                    .into_inner()
                    .map_err(|error| output_error(error.into_error()))?,
            )
        }
        (None, None) => None,
    };
    if let Some(pending) = pending {
        pending.commit(file)?;
    }
    eprintln!(
        "vcfq cohort: {} samples: {} answered, {} failed; {} records; {:.1} s",
        members.len(),
        summary.answered,
        summary.failed,
        summary.records,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
