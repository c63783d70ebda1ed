//! The `vcfq` command: parse the arguments, run the command, print errors on stderr and
//! exit with the contract's codes. A closed pipe on stdout ends quietly, as ripgrep's does.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Failure};

fn main() -> ExitCode {
    // A write past the file-size limit then fails with EFBIG, which vcfq reports and
    // cleans up after, instead of the signal killing it mid-write.
    // SAFETY: setting a signal to SIG_IGN before any thread starts; no handler runs.
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
    match cli.command.run() {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Differences) => ExitCode::from(1),
        Err(Failure::Exit(code)) => ExitCode::from(code),
        Err(Failure::Usage(message)) => {
            eprintln!("vcfq: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Vcfq(error)) => {
            eprintln!("vcfq: {error:#}");
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
        Err(Failure::Io(context, error)) => {
            eprintln!("vcfq: {context}: {error}");
            ExitCode::from(1)
        }
    }
}
