//! The `vcfq` command line: its arguments (clap) and one module per command group. Only
//! the binary uses this; the library knows nothing of it.

mod args;
mod cohort;
mod dbsnp;
mod index;
mod parity;
mod pretty;
mod query;
mod sample;
mod serve;

use std::io::{self, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use vcfq::Error;

#[derive(Parser)]
#[command(
    name = "vcfq",
    version,
    about = "Variant-level queries on a local bgzipped, indexed GRCh38 VCF, answered in the hosted API's exact JSON"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Answer one request (flags, a region such as chr19:44908684, or a query string) and
    /// print the response body.
    Query(query::QueryArgs),
    /// Answer one request (a query string or a region) per input line, one compact
    /// response body per output line.
    Batch(query::BatchArgs),
    /// Answer one request for many samples (a store's, or a manifest's VCFs) as one
    /// result: ndjson, an Arrow IPC stream or Parquet.
    Cohort(cohort::CohortArgs),
    /// Build, check or describe a dbSNP map (rsID <-> locus).
    #[command(subcommand)]
    Dbsnp(dbsnp::DbsnpCommand),
    /// Register samples by UUID in a local store, as the hosted API addresses them.
    #[command(subcommand)]
    Sample(sample::SampleCommand),
    /// Serve the store as a local mirror of the hosted endpoint.
    Serve(serve::ServeArgs),
    /// Check saved hosted-API responses against vcfq's answers to the same requests.
    Parity(parity::ParityArgs),
    /// Write each VCF's position index (VCF.vcfqidx), so that one-query processes skip
    /// loading the tabix index; `sample add` writes it too.
    Index {
        /// Bgzipped, tabix-indexed VCFs.
        #[arg(required = true)]
        vcf: Vec<PathBuf>,
        /// VCFs indexed at once (default: one per core).
        #[arg(short, long, value_name = "N")]
        threads: Option<usize>,
    },
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell); e.g.
    /// `vcfq completions bash > ~/.local/share/bash-completion/completions/vcfq`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff); e.g. `vcfq man > ~/.local/share/man/man1/vcfq.1`.
    Man,
}

impl Command {
    /// Runs the command.
    pub(crate) fn run(self) -> Result<(), Failure> {
        match self {
            Command::Query(args) => query::run_query(args),
            Command::Batch(args) => query::run_batch(args),
            Command::Cohort(args) => cohort::run(args),
            Command::Dbsnp(command) => dbsnp::run(command),
            Command::Sample(command) => sample::run(command),
            Command::Serve(args) => serve::run(args),
            Command::Parity(args) => parity::run(args),
            Command::Index { vcf, threads } => index::run(&vcf, threads.unwrap_or(0)),
            Command::Completions { shell } => {
                let mut script = Vec::new();
                clap_complete::generate(shell, &mut Cli::command(), "vcfq", &mut script);
                print_stdout(&String::from_utf8_lossy(&script))
            }
            Command::Man => {
                let mut page = Vec::new();
                clap_mangen::Man::new(Cli::command())
                    .render(&mut page)
                    .map_err(|error| Failure::Io("writing the man page".to_string(), error))?;
                print_stdout(&String::from_utf8_lossy(&page))
            }
        }
    }
}

/// Why a command failed; `main` turns it into a message and an exit code.
pub(crate) enum Failure {
    /// The command's arguments do not work together (exit 2, as clap's usage errors).
    Usage(String),
    /// The command's work is done and printed; it exits with this code
    /// (`vcfq batch --fail-on-error`).
    Exit(u8),
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

pub(crate) fn output_error(error: io::Error) -> Failure {
    if error.kind() == io::ErrorKind::BrokenPipe {
        Failure::BrokenPipe
    } else {
        Failure::Io("writing to standard output".to_string(), error)
    }
}

pub(crate) fn print_stdout(text: &str) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut stdout = stdout.lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(output_error)
}
