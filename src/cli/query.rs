//! `vcfq query` (one request) and `vcfq batch` (one request per input line).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::Args;
use vcfq::lines::{read_line_limited, skip_line, LineRead};
use vcfq::request::region_or_query_parameters;
use vcfq::response::error_body;
use vcfq::{Error, Request};

use super::args::{OutputArgs, PagingArgs, RequestArgs, SampleArgs};
use super::{output_error, Failure};

#[derive(Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    sample: SampleArgs,
    #[command(flatten)]
    request: RequestArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Indent the JSON for people (parity checks use the compact default).
    #[arg(long)]
    pretty: bool,
}

#[derive(Args)]
pub(crate) struct BatchArgs {
    #[command(flatten)]
    sample: SampleArgs,
    /// File with one request per line, a query string or a region (default, or `-`:
    /// standard input).
    #[arg(short = 'i', long, value_name = "FILE")]
    requests: Option<PathBuf>,
    /// Exit 2 if any line was a bad request, 1 if any failed otherwise.
    #[arg(long)]
    fail_on_error: bool,
    /// Defaults for lines that give no limit/offset of their own.
    #[command(flatten)]
    paging: PagingArgs,
    #[command(flatten)]
    output: OutputArgs,
}

pub(crate) fn run_query(args: QueryArgs) -> Result<(), Failure> {
    let parameters = args.request.parameters();
    // The sample first, then the request, as the hosted API looks a sample up before it
    // reads the query parameters.
    let (sample, base_url) = args.sample.open()?;
    let request = Request::from_parameters(parameters)
        .map_err(Error::from)?
        .with_page_size(args.request.page_size());
    let options = args.output.options(base_url)?;
    let mut body = sample.respond(&request, &options)?;
    for note in sample.notes(&request, &options)? {
        eprintln!("vcfq: note: {note}");
    }
    if args.pretty {
        body = super::pretty::indent(&body);
    }
    body.push(b'\n');
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    stdout
        .write_all(&body)
        .and_then(|()| stdout.flush())
        .map_err(output_error)
}

/// The longest request line `vcfq batch` reads, as `vcfq serve` takes at most 64 KiB of
/// request line and headers.
const MAX_REQUEST_LINE: usize = 64 << 10;

pub(crate) fn run_batch(args: BatchArgs) -> Result<(), Failure> {
    let (sample, base_url) = args.sample.open()?;
    // A long batch reads rsID loci in parallel: one reader per core, opened once.
    sample.open_readers(std::thread::available_parallelism().map_or(1, |n| n.get()))?;
    let options = args.output.options(base_url)?;
    let defaults = args.paging.parameters();
    let source: Box<dyn io::Read> = match &args.requests {
        Some(path) if path.as_os_str() != "-" => Box::new(
            File::open(path)
                .map_err(|error| Failure::Io(format!("opening {}", path.display()), error))?,
        ),
        _ => Box::new(io::stdin()),
    };
    let mut input = BufReader::with_capacity(1 << 16, source);
    let stdout = io::stdout();
    let mut output = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::new();
    let mut body = Vec::with_capacity(1 << 16);
    let mut summary = BatchSummary::default();
    loop {
        // Flush before reading when no more input is buffered (the read may then wait),
        // so that an interactive caller sees each answer before sending the next request.
        if input.buffer().is_empty() {
            output.flush().map_err(output_error)?;
        }
        let read = read_line_limited(&mut input, &mut line, MAX_REQUEST_LINE)
            .map_err(|error| Failure::Io("reading requests".to_string(), error))?;
        match read {
            LineRead::End => break,
            LineRead::Line => {}
            LineRead::TooLong => {
                // One answer line per request line, as for any failed request; the rest of
                // the line is read past, not kept.
                skip_line(&mut input)
                    .map_err(|error| Failure::Io("reading requests".to_string(), error))?;
                summary.bad_requests += 1;
                let mut body = error_body(&format!(
                    "the request line is longer than {MAX_REQUEST_LINE} bytes: a line holds one query string"
                ));
                body.push(b'\n');
                output.write_all(&body).map_err(output_error)?;
                continue;
            }
        }
        let text = String::from_utf8_lossy(&line);
        let query = text.trim_end_matches(['\n', '\r']);
        let mut parameters = defaults.clone();
        parameters.extend(region_or_query_parameters(query));
        body.clear();
        let answered = Request::from_parameters(parameters)
            .map_err(Error::from)
            .map(|request| request.with_page_size(args.paging.page_size))
            .and_then(|request| sample.respond_into(&request, &options, &mut body));
        summary.count(answered.as_ref().err());
        if let Err(error) = answered {
            body = error_body(&error.to_string());
        }
        body.push(b'\n');
        output.write_all(&body).map_err(output_error)?;
    }
    output.flush().map_err(output_error)?;
    eprintln!("vcfq batch: {summary}");
    match summary.exit_code() {
        Some(code) if args.fail_on_error => Err(Failure::Exit(code)),
        _ => Ok(()),
    }
}

/// What a batch answered, for its summary and `--fail-on-error`.
#[derive(Debug, Default)]
struct BatchSummary {
    answered: u64,
    bad_requests: u64,
    failed: u64,
}

impl BatchSummary {
    fn count(&mut self, error: Option<&Error>) {
        match error.map(Error::class) {
            None => self.answered += 1,
            Some(vcfq::ErrorClass::BadRequest) => self.bad_requests += 1,
            Some(_) => self.failed += 1,
        }
    }

    /// 2 when a line was a bad request, else 1 when one failed otherwise.
    fn exit_code(&self) -> Option<u8> {
        if self.bad_requests > 0 {
            Some(2)
        } else if self.failed > 0 {
            Some(1)
        } else {
            None
        }
    }
}

impl std::fmt::Display for BatchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests: {} answered, {} bad requests, {} failed",
            self.answered + self.bad_requests + self.failed,
            self.answered,
            self.bad_requests,
            self.failed
        )
    }
}
