//! The `vcfq` command: a thin shell over the library. It prints one response body per
//! request, errors on stderr with the contract's exit codes, and ends quietly on a
//! closed pipe.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vcfq::querystring::parse_pairs;
use vcfq::response::{error_body, DEFAULT_BASE_URL};
use vcfq::{Error, Request, ResponseOptions, Sample, SampleOptions, Schema};

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
}

#[derive(Args)]
struct SampleArgs {
    /// The sample's bgzipped VCF (with FILE.tbi or FILE.csi beside it).
    #[arg(long, value_name = "FILE")]
    vcf: PathBuf,
    /// The sample column that fills `genotype` (default: the first).
    #[arg(long, value_name = "NAME")]
    vcf_sample: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaArg {
    Docs,
    Openapi,
}

#[derive(Args)]
struct OutputArgs {
    /// Response shape: the documentation page's (docs) or the published schema's (openapi).
    #[arg(long, value_enum, default_value = "docs")]
    schema: SchemaArg,
    /// Base of the `openapi` profile's next/previous links.
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    base_url: String,
}

impl OutputArgs {
    fn options(&self) -> ResponseOptions {
        let schema = match self.schema {
            SchemaArg::Docs => Schema::Docs,
            SchemaArg::Openapi => Schema::Openapi,
        };
        ResponseOptions {
            schema,
            base_url: self.base_url.clone(),
        }
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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
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
    let sample = Sample::open(
        &args.sample.vcf,
        &SampleOptions {
            vcf_sample: args.sample.vcf_sample,
        },
    )?;
    let request = Request::from_parameters(parameters).map_err(Error::from)?;
    let mut body = sample.respond(&request, &args.output.options())?;
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
    let sample = Sample::open(
        &args.sample.vcf,
        &SampleOptions {
            vcf_sample: args.sample.vcf_sample,
        },
    )?;
    let options = args.output.options();
    let defaults = args.paging.parameters();
    let mut input: Box<dyn BufRead> = match &args.requests {
        Some(path) => {
            Box::new(BufReader::new(File::open(path).map_err(|error| {
                Failure::Io(format!("opening {}", path.display()), error)
            })?))
        }
        None => Box::new(BufReader::new(io::stdin())),
    };
    let stdout = io::stdout();
    let mut output = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::new();
    let mut body = Vec::with_capacity(1 << 16);
    loop {
        // Flush before waiting for more input, so an interactive caller sees each answer.
        if input
            .fill_buf()
            .map(|buffer| buffer.is_empty())
            .unwrap_or(true)
        {
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
