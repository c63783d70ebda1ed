//! The `vcfq` command: a thin shell over the library. It prints one response body per
//! request, errors on stderr with the contract's exit codes, and ends quietly on a
//! closed pipe.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use vcfq::dbsnp::{build_map, BuildOptions, BuildPhase, BuildProgress};
use vcfq::querystring::parse_pairs;
use vcfq::response::{error_body, API_PATH, DEFAULT_BASE_URL};
use vcfq::store::{SampleId, Store, DEFAULT_STORE_DIR};
use vcfq::{Error, ErrorKind, Request, ResponseOptions, RsidMap, Sample, SampleOptions, Schema};

#[derive(Parser)]
#[command(
    name = "vcfq",
    version,
    about = "Variant-level queries on a local bgzipped, indexed GRCh38 VCF, answered in the hosted API's exact JSON"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Answer one request (flags or a query string) and print the response body.
    Query(QueryArgs),
    /// Answer one query string per input line, one compact response body per output line.
    Batch(BatchArgs),
    /// Build, check or describe a dbSNP map (rsID <-> locus).
    #[command(subcommand)]
    Dbsnp(DbsnpCommand),
    /// Register samples by UUID in a local store, as the hosted API addresses them.
    #[command(subcommand)]
    Sample(SampleCommand),
    /// Serve the store as a local mirror of the hosted endpoint.
    Serve(ServeArgs),
    /// Check saved hosted-API responses against vcfq's answers to the same requests.
    Parity(ParityArgs),
    /// Write each VCF's position index (VCF.vcfqidx), so that one-query processes skip
    /// loading the tabix index; `sample add` writes it too.
    Index {
        /// Bgzipped, tabix-indexed VCFs.
        #[arg(required = true)]
        vcf: Vec<PathBuf>,
    },
}

#[derive(Args)]
struct ParityArgs {
    #[command(flatten)]
    sample: SampleArgs,
    /// A dbSNP map (needed for rsID requests).
    #[arg(long, value_name = "DIR", env = "VCFQ_DBSNP")]
    dbsnp: Option<PathBuf>,
    /// Force a schema profile (default: openapi when the saved response has `next`).
    #[arg(long, value_enum)]
    schema: Option<SchemaArg>,
    /// The request URL for `openapi` links when the saved request is only a query string.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// One request: a query string, or the full URL it was sent to.
    #[arg(long, value_name = "QUERY", requires = "response", conflicts_with_all = ["pairs", "dir"])]
    request: Option<String>,
    /// The saved body of the hosted API's response to --request.
    #[arg(long, value_name = "FILE", requires = "request")]
    response: Option<PathBuf>,
    /// JSON lines `{"request": "...", "response": BODY}` (BODY as JSON, or as a string).
    #[arg(long, value_name = "FILE", conflicts_with = "dir")]
    pairs: Option<PathBuf>,
    /// A directory of `*.json` files, each one such pair.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct SavedPair {
    request: String,
    response: Box<serde_json::value::RawValue>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on (loopback by default).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    /// A dbSNP map for rsID queries and the `rsid` field.
    #[arg(long, value_name = "DIR", env = "VCFQ_DBSNP")]
    dbsnp: Option<PathBuf>,
    /// Require `Authorization: Api-Key KEY` with one of these keys (one per line).
    #[arg(long, value_name = "FILE")]
    api_keys: Option<PathBuf>,
    /// At most N requests per second per key (or per client without keys); more get 429.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// Response shape.
    #[arg(long, value_enum, default_value = "docs")]
    schema: SchemaArg,
    /// Seconds a client has to send a request's headers (and to stay idle between requests).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a query may take before the client gets 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// Open connections served at once; more wait in the listen queue.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
}

#[derive(Subcommand)]
enum SampleCommand {
    /// Check a VCF and register it under a UUID.
    Add {
        /// The sample id (a UUID).
        id: String,
        /// The sample's bgzipped, indexed GRCh38 VCF.
        vcf: PathBuf,
        /// The sample column that fills `genotype` (default: the first).
        #[arg(long, value_name = "NAME")]
        vcf_sample: Option<String>,
        /// Do not write the position index (VCF.vcfqidx) beside the VCF.
        #[arg(long)]
        no_position_index: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the registered samples.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Forget a sample (its files are not touched).
    Remove {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-run the requirements for one sample (or all) and say what changed.
    Check {
        id: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum DbsnpCommand {
    /// Build a map from a dbSNP VCF (bgzipped or plain) into DIR.
    Build(BuildArgs),
    /// Verify every file of a map fully (sizes, checksums, structure).
    Check {
        /// The map directory.
        dir: PathBuf,
    },
    /// Print a map's metadata (source, dbSNP build, counts, files) as JSON.
    Info {
        /// The map directory.
        dir: PathBuf,
    },
}

#[derive(Args)]
struct BuildArgs {
    /// The dbSNP VCF: contigs named NC_000019.10, 19 or chr19; bgzipped, gzipped or plain.
    source: PathBuf,
    /// The map directory to write (replaced if it already holds a vcfq map).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Merge history: TSV `old_rs<TAB>current_rs`; retired rsIDs then resolve to current ones.
    #[arg(long, value_name = "FILE")]
    merged: Option<PathBuf>,
    /// Memory for sorting, e.g. 4G, 512M or a number of bytes (default 3G: the whole build then stays under 4 GiB).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    memory: Option<u64>,
    /// Parser threads (default: all cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: Option<u64>,
}

fn parse_bytes(text: &str) -> Result<u64, String> {
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
    let bytes = number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if bytes < 16 << 20 {
        return Err(format!(
            "{text:?} is too little memory to sort in; give at least 16M"
        ));
    }
    Ok(bytes)
}

#[derive(Args)]
#[group(required = true, multiple = false, id = "source")]
struct SampleSource {
    /// The sample's bgzipped VCF (with FILE.tbi or FILE.csi beside it).
    #[arg(long, value_name = "FILE")]
    vcf: Option<PathBuf>,
    /// A sample registered in the store (`vcfq sample add`), by UUID.
    #[arg(long, value_name = "UUID")]
    sample: Option<String>,
}

#[derive(Args)]
struct SampleArgs {
    #[command(flatten)]
    source: SampleSource,
    /// The sample column that fills `genotype` (default: the first; with --vcf only).
    #[arg(long, value_name = "NAME", conflicts_with = "sample")]
    vcf_sample: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args)]
struct StoreArgs {
    /// The sample store directory.
    #[arg(long, value_name = "DIR", env = "VCFQ_STORE", default_value = DEFAULT_STORE_DIR)]
    store: PathBuf,
}

impl SampleArgs {
    /// Opens the sample, and says what request URL `openapi` links start from by default:
    /// the hosted endpoint's path for a stored sample, as `vcfq serve` would answer.
    fn open(&self) -> Result<(Sample, String), Error> {
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
            (None, None) => unreachable!("clap requires --vcf or --sample"),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaArg {
    Docs,
    Openapi,
}

impl From<SchemaArg> for Schema {
    fn from(schema: SchemaArg) -> Schema {
        match schema {
            SchemaArg::Docs => Schema::Docs,
            SchemaArg::Openapi => Schema::Openapi,
        }
    }
}

#[derive(Args)]
struct OutputArgs {
    /// Response shape: the documentation page's (docs) or the published schema's (openapi).
    #[arg(long, value_enum, default_value = "docs")]
    schema: SchemaArg,
    /// The request URL that `openapi` next/previous links are built on (default
    /// http://127.0.0.1:8080, plus the endpoint's path with --sample).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// A dbSNP map (from `vcfq dbsnp build`): answers rsid queries and fills `rsid`.
    #[arg(long, value_name = "DIR", env = "VCFQ_DBSNP")]
    dbsnp: Option<PathBuf>,
}

impl OutputArgs {
    fn options(&self, default_base_url: String) -> Result<ResponseOptions, Error> {
        let dbsnp = RsidMap::open_if_given(self.dbsnp.as_deref())?;
        Ok(ResponseOptions {
            schema: self.schema.into(),
            base_url: self.base_url.clone().unwrap_or(default_base_url),
            dbsnp,
        })
    }
}

#[derive(Args)]
struct PagingArgs {
    /// Return at most N records (a positive integer).
    #[arg(long, value_name = "N", allow_hyphen_values = true, value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// Skip the first N matching records.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    offset: Option<u64>,
}

impl PagingArgs {
    fn parameters(&self) -> Vec<(String, String)> {
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

#[derive(Args)]
struct QueryArgs {
    #[command(flatten)]
    sample: SampleArgs,
    /// Contig, chr-prefixed: chr1..chr22, chrX, chrY, chrM.
    #[arg(long, allow_hyphen_values = true)]
    chromosome: Option<String>,
    /// 1-based position (point query).
    #[arg(long, allow_hyphen_values = true)]
    position: Option<String>,
    /// 1-based start of the range, inclusive.
    #[arg(long, allow_hyphen_values = true)]
    start_position: Option<String>,
    /// 1-based end of the range, inclusive (at most 100000 past the start).
    #[arg(long, allow_hyphen_values = true)]
    end_position: Option<String>,
    /// Comma-separated rsIDs (1 to 50).
    #[arg(long, allow_hyphen_values = true)]
    rsid: Option<String>,
    #[command(flatten)]
    paging: PagingArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Indent the JSON for people (parity checks use the compact default).
    #[arg(long)]
    pretty: bool,
    /// The request as a query string, e.g. 'chromosome=chr19&position=44908684'.
    #[arg(value_name = "QUERY_STRING")]
    query_string: Option<String>,
}

#[derive(Args)]
struct BatchArgs {
    #[command(flatten)]
    sample: SampleArgs,
    /// File with one query string per line (default: standard input).
    #[arg(long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Defaults for lines that give no limit/offset of their own.
    #[command(flatten)]
    paging: PagingArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    // A write past the file-size limit then fails with EFBIG, which vcfq reports and
    // cleans up after, instead of the signal killing it mid-write.
    // SAFETY: setting a signal to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Query(args) => run_query(args),
        Command::Batch(args) => run_batch(args),
        Command::Dbsnp(DbsnpCommand::Build(args)) => run_build(args),
        Command::Dbsnp(DbsnpCommand::Check { dir }) => run_check(&dir),
        Command::Dbsnp(DbsnpCommand::Info { dir }) => run_info(&dir),
        Command::Sample(command) => run_sample(command),
        Command::Serve(args) => run_serve(args),
        Command::Parity(args) => run_parity(args),
        Command::Index { vcf } => run_index(&vcf),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Differences) => ExitCode::from(1),
        Err(Failure::Vcfq(error)) if matches!(error.kind(), ErrorKind::Interrupted) => {
            eprintln!("vcfq: {error:#}");
            ExitCode::from(130)
        }
        Err(Failure::Vcfq(error)) => {
            eprintln!("vcfq: {error:#}");
            ExitCode::from(error.class().exit_code() as u8)
        }
        Err(Failure::Io(context, error)) => {
            eprintln!("vcfq: {context}: {error}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Vcfq(Error),
    Io(String, io::Error),
    BrokenPipe,
    /// `vcfq parity` found differences (already printed).
    Differences,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Vcfq(error)
    }
}

fn output_error(error: io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Io("writing to standard output".to_string(), error)
    }
}

fn run_query(args: QueryArgs) -> Result<(), Failure> {
    let mut parameters = args
        .query_string
        .as_deref()
        .map(|query| parse_pairs(query.strip_prefix('?').unwrap_or(query)))
        .unwrap_or_default();
    let flags = [
        ("chromosome", &args.chromosome),
        ("position", &args.position),
        ("start_position", &args.start_position),
        ("end_position", &args.end_position),
        ("rsid", &args.rsid),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            parameters.push((name.to_string(), value.clone()));
        }
    }
    parameters.extend(args.paging.parameters());
    // The sample first, then the request, as the hosted API looks a sample up before it
    // reads the query parameters.
    let (sample, base_url) = args.sample.open()?;
    let request = Request::from_parameters(parameters).map_err(Error::from)?;
    let mut body = sample.respond(&request, &args.output.options(base_url)?)?;
    if args.pretty {
        body = vcfq::pretty::indent(&body);
    }
    body.push(b'\n');
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    stdout
        .write_all(&body)
        .and_then(|()| stdout.flush())
        .map_err(output_error)
}

fn run_batch(args: BatchArgs) -> Result<(), Failure> {
    let (sample, base_url) = args.sample.open()?;
    // A long batch reads rsID loci in parallel: one reader per core, opened once.
    sample.open_readers(std::thread::available_parallelism().map_or(1, |n| n.get()))?;
    let options = args.output.options(base_url)?;
    let defaults = args.paging.parameters();
    let source: Box<dyn io::Read> = match &args.requests {
        Some(path) => Box::new(
            File::open(path)
                .map_err(|error| Failure::Io(format!("opening {}", path.display()), error))?,
        ),
        None => Box::new(io::stdin()),
    };
    let mut input = BufReader::with_capacity(1 << 16, source);
    let stdout = io::stdout();
    let mut output = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::new();
    let mut body = Vec::with_capacity(1 << 16);
    loop {
        // Flush before reading when no more input is buffered (the read may then wait),
        // so that an interactive caller sees each answer before sending the next request.
        if input.buffer().is_empty() {
            output.flush().map_err(output_error)?;
        }
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|error| Failure::Io("reading requests".to_string(), error))?;
        if read == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let query = text.trim_end_matches(['\n', '\r']);
        let mut parameters = defaults.clone();
        parameters.extend(parse_pairs(query.strip_prefix('?').unwrap_or(query)));
        body.clear();
        let answered = Request::from_parameters(parameters)
            .map_err(Error::from)
            .and_then(|request| sample.respond_into(&request, &options, &mut body));
        if let Err(error) = answered {
            body = error_body(&error.to_string());
        }
        body.push(b'\n');
        output.write_all(&body).map_err(output_error)?;
    }
    output.flush().map_err(output_error)
}

fn print_stdout(text: &str) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(output_error)
}

/// Shows build progress: a bar on a terminal, a plain line every 10 seconds otherwise.
struct BuildDisplay {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    phase: Option<BuildPhase>,
}

impl BuildDisplay {
    fn new() -> BuildDisplay {
        use std::io::IsTerminal;
        let bar = io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {percent}% eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        BuildDisplay {
            bar,
            started: Instant::now(),
            last_line: Instant::now(),
            phase: None,
        }
    }

    fn update(&mut self, progress: &BuildProgress) {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let phase_changed = self.phase != Some(progress.phase);
        self.phase = Some(progress.phase);
        let message = match progress.phase {
            BuildPhase::Reading => format!(
                "reading: {} rows ({:.0}/s)",
                progress.rows_read,
                progress.rows_read as f64 / seconds
            ),
            BuildPhase::WritingRsids => {
                format!("writing rsids.fst: {} rsIDs", progress.keys_written)
            }
            BuildPhase::WritingAlleles => {
                format!("writing alleles.fst: {} allele keys", progress.keys_written)
            }
            BuildPhase::WritingMerged => "writing merged.fst".to_string(),
        };
        match &self.bar {
            Some(bar) => {
                bar.set_length(progress.source_bytes_total.max(1));
                bar.set_position(progress.source_bytes_read);
                bar.set_message(message);
            }
            None => {
                if phase_changed || self.last_line.elapsed() >= Duration::from_secs(10) {
                    let percent = 100.0 * progress.source_bytes_read as f64
                        / progress.source_bytes_total.max(1) as f64;
                    eprintln!("vcfq dbsnp build: {message}; {percent:.1}% of the source read; {seconds:.0} s");
                    self.last_line = Instant::now();
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn run_build(args: BuildArgs) -> Result<(), Failure> {
    let mut options = BuildOptions::new(&args.source, &args.out);
    options.merged = args.merged;
    if let Some(memory) = args.memory {
        options.memory_bytes = memory;
    }
    if let Some(threads) = args.threads {
        options.threads = threads as usize;
    }
    let interrupted = Arc::clone(&options.interrupted);
    // Ctrl-C stops the build, which then removes its temporary files.
    let _ = ctrlc::set_handler(move || interrupted.store(true, Ordering::Relaxed));
    let mut display = BuildDisplay::new();
    let result = build_map(&options, &mut |progress| display.update(progress));
    display.finish();
    let summary = result?;
    let meta = &summary.metadata;
    let counts = &meta.counts;
    let mut skipped: Vec<(&String, &u64)> = counts.skipped_contigs.iter().collect();
    skipped.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let skipped_total: u64 = skipped.iter().map(|(_, n)| **n).sum();
    let skipped_list: Vec<String> = skipped
        .iter()
        .take(10)
        .map(|(name, n)| format!("{name}: {n}"))
        .collect();
    let more = if skipped.len() > 10 {
        format!(", and {} more contigs", skipped.len() - 10)
    } else {
        String::new()
    };
    let text = format!(
        "dbSNP map written to {out} in {seconds:.1} s\n\
         source: {source} (dbSNP build {build}, reference {reference})\n\
         rows read: {rows}; used: {used}; without an rs number: {no_rs}\n\
         rsIDs: {rsids} ({multi} at several loci); rsID loci: {loci}; allele keys: {keys}; merged rsIDs: {merged}\n\
         rows skipped on other contigs: {skipped_total}{skipped_detail}\n\
         map size: {size} bytes ({per:.1} bytes per rsID); temporary sort data: {spilled} bytes\n",
        out = args.out.display(),
        seconds = summary.seconds,
        source = meta.source.path,
        build = meta.dbsnp_build.as_deref().unwrap_or("unknown"),
        reference = meta.reference.as_deref().unwrap_or("unknown"),
        rows = counts.rows_read,
        used = counts.rows_used,
        no_rs = counts.rows_without_rsid,
        rsids = counts.rsids,
        multi = counts.multi_locus_rsids,
        loci = counts.loci,
        keys = counts.allele_keys,
        merged = counts.merged,
        skipped_detail = if skipped_list.is_empty() { String::new() } else { format!(" ({}{more})", skipped_list.join(", ")) },
        size = summary.map_bytes,
        per = summary.map_bytes as f64 / counts.rsids.max(1) as f64,
        spilled = summary.spilled_bytes,
    );
    print_stdout(&text)
}

fn run_check(dir: &std::path::Path) -> Result<(), Failure> {
    let map = RsidMap::open(dir)?;
    let report = map.check()?;
    print_stdout(&format!(
        "ok: {} files, {} bytes, {} rsIDs and {} allele keys verified\n",
        report.files_checked, report.bytes_checked, report.rsids, report.allele_keys
    ))
}

fn run_info(dir: &std::path::Path) -> Result<(), Failure> {
    let map = RsidMap::open(dir)?;
    let mut text = serde_json::to_string_pretty(map.metadata())
        .map_err(|error| Failure::Io("writing the metadata".into(), io::Error::other(error)))?;
    text.push('\n');
    print_stdout(&text)
}

fn run_sample(command: SampleCommand) -> Result<(), Failure> {
    match command {
        SampleCommand::Add {
            id,
            vcf,
            vcf_sample,
            no_position_index,
            store,
        } => {
            let id = SampleId::parse(&id)?;
            let stored = Store::new(&store.store).add(&id, &vcf, vcf_sample)?;
            print_stdout(&format!(
                "added {} -> {} (index {}, contigs named {})\n",
                stored.id,
                stored.vcf.display(),
                stored.index.display(),
                stored.contig_naming
            ))?;
            // The position index speeds up one-query processes; without it (say, the
            // VCF's directory is read-only) queries use the tabix index.
            if !no_position_index {
                match vcfq::index::write_position_index(&stored.vcf) {
                    Ok(summary) => print_stdout(&format!(
                        "wrote the position index {}\n",
                        summary.path.display()
                    ))?,
                    Err(error) => eprintln!(
                        "vcfq: note: no position index written ({error}); queries use the tabix index"
                    ),
                }
            }
            Ok(())
        }
        SampleCommand::List { store } => {
            let mut text = String::new();
            for stored in Store::new(&store.store).list()? {
                text.push_str(&format!(
                    "{}\t{}\t{} bytes\t{}\n",
                    stored.id,
                    stored.vcf.display(),
                    stored.size,
                    stored.contig_naming
                ));
            }
            print_stdout(&text)
        }
        SampleCommand::Remove { id, store } => {
            let id = SampleId::parse(&id)?;
            let removed = Store::new(&store.store).remove(&id)?;
            print_stdout(&format!(
                "removed {} ({})\n",
                removed.id,
                removed.vcf.display()
            ))
        }
        SampleCommand::Check { id, store } => {
            let id = id.as_deref().map(SampleId::parse).transpose()?;
            let results = Store::new(&store.store).check(id.as_ref())?;
            let mut text = String::new();
            let mut failed = 0;
            for result in &results {
                match &result.problem {
                    None if result.changes.is_empty() => {
                        text.push_str(&format!("{}: ok\n", result.id))
                    }
                    None => text.push_str(&format!(
                        "{}: ok, but {}\n",
                        result.id,
                        result.changes.join("; ")
                    )),
                    Some(problem) => {
                        failed += 1;
                        text.push_str(&format!("{}: FAILS: {problem}\n", result.id));
                    }
                }
            }
            print_stdout(&text)?;
            if failed > 0 {
                return Err(Failure::Vcfq(
                    ErrorKind::Store {
                        path: store.store.clone(),
                        message: format!(
                            "{failed} of {} samples fail their requirements",
                            results.len()
                        ),
                    }
                    .into(),
                ));
            }
            Ok(())
        }
    }
}

fn run_index(vcfs: &[PathBuf]) -> Result<(), Failure> {
    for vcf in vcfs {
        let started = std::time::Instant::now();
        let summary = vcfq::index::write_position_index(vcf)?;
        print_stdout(&format!(
            "wrote {} ({} records, {} blocks, {} bytes) in {:.2} s\n",
            summary.path.display(),
            summary.records,
            summary.blocks,
            summary.bytes,
            started.elapsed().as_secs_f64()
        ))?;
    }
    Ok(())
}

fn run_serve(args: ServeArgs) -> Result<(), Failure> {
    let api_keys = match &args.api_keys {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|error| Failure::Io(format!("reading {}", path.display()), error))?;
            let keys: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(String::from)
                .collect();
            if keys.is_empty() {
                return Err(Failure::Io(
                    format!("reading {}", path.display()),
                    io::Error::other("the file holds no API keys (one per line)"),
                ));
            }
            Some(keys)
        }
        None => None,
    };
    let schema = args.schema.into();
    vcfq::server::serve(vcfq::server::ServeOptions {
        store: args.store.store,
        bind: args.bind,
        dbsnp: args.dbsnp,
        api_keys,
        rate_limit: args.rate_limit,
        schema,
        limits: vcfq::server::Limits {
            header_timeout: std::time::Duration::from_secs(args.header_timeout),
            request_timeout: std::time::Duration::from_secs(args.request_timeout),
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            ..vcfq::server::Limits::default()
        },
    })?;
    Ok(())
}

fn run_parity(args: ParityArgs) -> Result<(), Failure> {
    let read = |path: &std::path::Path| {
        std::fs::read(path)
            .map_err(|error| Failure::Io(format!("reading {}", path.display()), error))
    };
    // (name, request, hosted body)
    let mut pairs: Vec<(String, String, Vec<u8>)> = Vec::new();
    let parse_pair = |name: String, text: &[u8]| -> Result<(String, String, Vec<u8>), Failure> {
        let pair: SavedPair = serde_json::from_slice(text).map_err(|error| {
            Failure::Io(
                format!("reading pair {name}"),
                io::Error::other(format!(
                    "expected {{\"request\": ..., \"response\": ...}}: {error}"
                )),
            )
        })?;
        let raw = pair.response.get();
        // A response saved as a JSON string is the body's text; otherwise it is the body.
        let body = match serde_json::from_str::<String>(raw) {
            Ok(text) => text.into_bytes(),
            Err(_) => raw.as_bytes().to_vec(),
        };
        Ok((name, pair.request, body))
    };
    if let (Some(request), Some(response)) = (&args.request, &args.response) {
        pairs.push(("1".to_string(), request.clone(), read(response)?));
    } else if let Some(path) = &args.pairs {
        let text = read(path)?;
        for (number, line) in text.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            pairs.push(parse_pair(
                format!("{}:{}", path.display(), number + 1),
                line,
            )?);
        }
    } else if let Some(dir) = &args.dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|error| Failure::Io(format!("reading {}", dir.display()), error))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = read(&file)?;
            pairs.push(parse_pair(file.display().to_string(), &text)?);
        }
    } else {
        return Err(Failure::Io(
            "vcfq parity".to_string(),
            io::Error::other("give --request and --response, --pairs FILE or --dir DIR"),
        ));
    }
    if pairs.is_empty() {
        return Err(Failure::Io(
            "vcfq parity".to_string(),
            io::Error::other("no request/response pairs found"),
        ));
    }
    let (sample, default_base_url) = args.sample.open()?;
    let dbsnp = RsidMap::open_if_given(args.dbsnp.as_deref())?;
    let mut report = String::new();
    let mut differing = 0;
    for (name, request_text, hosted) in &pairs {
        let (url, query) = match request_text.split_once('?') {
            Some((url, query)) => (Some(url), query),
            None if request_text.contains('=') || request_text.is_empty() => {
                (None, request_text.as_str())
            }
            None => (Some(request_text.as_str()), ""),
        };
        let base_url = args
            .base_url
            .clone()
            .or_else(|| url.filter(|url| url.contains("://")).map(String::from))
            .unwrap_or_else(|| default_base_url.clone());
        let schema = match args.schema {
            Some(schema) => schema.into(),
            None => match vcfq::parity::parse_json(hosted) {
                Ok(vcfq::parity::Json::Object(top)) => {
                    let has_next = top.iter().any(|(key, value)| key == "meta" && matches!(value, vcfq::parity::Json::Object(meta) if meta.iter().any(|(k, _)| k == "next")));
                    if has_next {
                        Schema::Openapi
                    } else {
                        Schema::Docs
                    }
                }
                _ => Schema::Docs,
            },
        };
        let options = ResponseOptions {
            schema,
            base_url,
            dbsnp: dbsnp.clone(),
        };
        let local = match Request::parse(query)
            .map_err(Error::from)
            .and_then(|request| sample.respond(&request, &options))
        {
            Ok(body) => body,
            Err(error) => error_body(&error.to_string()),
        };
        let differences = vcfq::parity::compare(&local, hosted);
        if differences.is_empty() {
            report.push_str(&format!("{name}: identical ({query})\n"));
        } else {
            differing += 1;
            report.push_str(&format!(
                "{name}: {} difference(s) ({query})\n",
                differences.len()
            ));
            for difference in differences.iter().take(50) {
                report.push_str(&format!(
                    "  {}: local {} | hosted {}\n",
                    difference.path, difference.local, difference.hosted
                ));
            }
        }
    }
    report.push_str(&format!(
        "{} identical, {differing} differ\n",
        pairs.len() - differing
    ));
    print_stdout(&report)?;
    if differing > 0 {
        return Err(Failure::Differences);
    }
    Ok(())
}
