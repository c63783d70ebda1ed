//! `vcfq dbsnp build|check|info`: the dbSNP map, with a progress display and the build's
//! summary.

use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use vcfq::dbsnp::{
    build_map, minimum_memory_bytes, BuildOptions, BuildPhase, BuildProgress, MIN_MEMORY_BYTES,
};
use vcfq::RsidMap;

use super::{print_stdout, Failure};

#[derive(Subcommand)]
pub(crate) enum DbsnpCommand {
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
pub(crate) struct BuildArgs {
    /// The dbSNP VCF (`-`: standard input): contigs named NC_000019.10, 19 or chr19;
    /// bgzipped (inflated on --threads threads), gzipped or plain. Several files (one per
    /// chromosome, say) are read one after the other as one source.
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<PathBuf>,
    /// The map directory to write (replaced if it already holds a vcfq map).
    #[arg(short, long, value_name = "DIR")]
    out: PathBuf,
    /// Merge history: NCBI's refsnp-merged.json (or .json.bz2), or a TSV
    /// `old_rs<TAB>current_rs`; retired rsIDs then resolve to current ones.
    #[arg(long, value_name = "FILE")]
    merged: Option<PathBuf>,
    /// Memory for the whole build, e.g. 4G or 512M (default 3G; at least 64M).
    #[arg(short, long, value_name = "BYTES", value_parser = parse_bytes)]
    memory: Option<u64>,
    /// Parser threads (default: all cores).
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: Option<u64>,
}

/// `--memory`: a size of at least the smallest budget a build accepts.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let bytes = super::args::parse_size(text)?;
    if bytes < MIN_MEMORY_BYTES {
        return Err(format!(
            "{:?} is too little memory for a build; give at least {}M",
            text.trim(),
            MIN_MEMORY_BYTES >> 20
        ));
    }
    Ok(bytes)
}

/// Runs one `vcfq dbsnp` command.
pub(crate) fn run(command: DbsnpCommand) -> Result<(), Failure> {
    match command {
        DbsnpCommand::Build(args) => run_build(args),
        DbsnpCommand::Check { dir } => run_check(&dir),
        DbsnpCommand::Info { dir } => run_info(&dir),
    }
}

/// Shows build progress: a bar on a terminal, a plain line every 10 seconds otherwise
/// (and the last line of each phase as it ends, so the reading phase's last line says
/// the summary's rows).
struct BuildDisplay {
    terminal: bool,
    /// Made at the first report, once the source's size is known (a bar with no length
    /// would show 100%).
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: Instant,
    phase: Option<BuildPhase>,
    /// The last plain line of the current phase, printed when the phase ends.
    pending: Option<String>,
}

impl BuildDisplay {
    fn new() -> BuildDisplay {
        BuildDisplay {
            terminal: io::stderr().is_terminal(),
            bar: None,
            started: Instant::now(),
            last_line: Instant::now(),
            phase: None,
            pending: None,
        }
    }

    fn bar(&mut self, total: u64) -> &indicatif::ProgressBar {
        self.bar.get_or_insert_with(|| {
            let (bar, template) = if total > 0 {
                (
                    indicatif::ProgressBar::new(total),
                    "{spinner} {msg} [{bar:30}] {percent}% eta {eta}",
                )
            } else {
                (indicatif::ProgressBar::new_spinner(), "{spinner} {msg}")
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        })
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
                format!(
                    "writing rsids.fst and alleles.fst: {} keys",
                    progress.keys_written
                )
            }
            BuildPhase::WritingAlleles => {
                format!("writing alleles.fst: {} allele keys", progress.keys_written)
            }
            BuildPhase::WritingMerged => "writing merged.fst".to_string(),
        };
        // A source that is not a regular file (a pipe, a device) has no known size: then
        // the bytes read are shown instead of a share.
        let total = progress.source_bytes_total;
        let read = if total > 0 {
            progress.source_bytes_read.min(total)
        } else {
            progress.source_bytes_read
        };
        let share = if total > 0 {
            format!(
                "{:.1}% of the source read",
                100.0 * read as f64 / total as f64
            )
        } else {
            format!("{} MiB of the source read", read >> 20)
        };
        if self.terminal {
            let bar = self.bar(total);
            if total > 0 {
                bar.set_position(read);
                bar.set_message(message);
            } else {
                bar.set_message(format!("{message}; {share}"));
            }
            return;
        }
        let line = format!("vcfq dbsnp build: {message}; {share}; {seconds:.0} s");
        if phase_changed {
            if let Some(last) = self.pending.take() {
                eprintln!("{last}");
            }
        }
        if phase_changed || self.last_line.elapsed() >= Duration::from_secs(10) {
            eprintln!("{line}");
            self.last_line = Instant::now();
            self.pending = None;
        } else {
            self.pending = Some(line);
        }
    }

    fn finish(&mut self) {
        if let Some(last) = self.pending.take() {
            eprintln!("{last}");
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn run_build(args: BuildArgs) -> Result<(), Failure> {
    // `-` is standard input, read through its path (each source is opened once).
    if args
        .sources
        .iter()
        .filter(|source| source.as_os_str() == "-")
        .count()
        > 1
    {
        return Err(Failure::Usage(
            "standard input (`-`) can be given only once".to_string(),
        ));
    }
    let sources: Vec<PathBuf> = args
        .sources
        .iter()
        .map(|source| {
            if source.as_os_str() == "-" {
                PathBuf::from("/dev/stdin")
            } else {
                source.clone()
            }
        })
        .collect();
    let mut options = BuildOptions::new(&sources[0], &args.out);
    options.sources = sources;
    options.merged = args.merged;
    if let Some(memory) = args.memory {
        options.memory_bytes = memory;
    }
    if let Some(threads) = args.threads {
        options.threads = threads as usize;
    }
    let minimum = minimum_memory_bytes(options.threads);
    if options.memory_bytes < minimum {
        return Err(Failure::Usage(format!(
            "--memory {} MiB is too little for {} parser threads: give at least {} MiB, or fewer --threads",
            options.memory_bytes >> 20,
            options.threads,
            minimum.div_ceil(1 << 20)
        )));
    }
    let interrupted = Arc::clone(&options.interrupted);
    // Ctrl-C stops the build, which then removes its temporary files.
    // A second Ctrl-C ends the process at once (a later build sweeps what it leaves).
    let _ = ctrlc::set_handler(move || {
        if interrupted.swap(true, Ordering::Relaxed) {
            eprintln!("vcfq: interrupted again; stopping now");
            std::process::exit(130);
        }
    });
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
         rows read: {rows} ({text_mb:.1} MB of text); used: {used}; without an rs number: {no_rs}\n\
         rsIDs: {rsids} ({multi} at several loci); rsID loci: {loci}; allele keys: {keys}; merged rsIDs: {merged}{merged_time}\n\
         rows skipped on other contigs: {skipped_total}{skipped_detail}\n\
         map size: {size} bytes ({per:.1} bytes per rsID); temporary sort data: {spilled} bytes\n",
        out = args.out.display(),
        seconds = summary.seconds,
        source = if meta.source.paths.len() > 1 {
            meta.source.paths.join(", ")
        } else {
            meta.source.path.clone()
        },
        text_mb = counts.text_bytes as f64 / 1e6,
        merged_time = if meta.source.merged_path.is_some() {
            format!(" (merge history read in {:.1} s)", meta.merged_seconds)
        } else {
            String::new()
        },
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

fn run_check(dir: &Path) -> Result<(), Failure> {
    let map = RsidMap::open(dir)?;
    let report = map.check()?;
    print_stdout(&format!(
        "ok: {} files, {} bytes, {} rsIDs and {} allele keys verified\n",
        report.files_checked, report.bytes_checked, report.rsids, report.allele_keys
    ))
}

fn run_info(dir: &Path) -> Result<(), Failure> {
    let map = RsidMap::open(dir)?;
    let mut text = serde_json::to_string_pretty(map.metadata())
        .map_err(|error| Failure::Io("writing the metadata".into(), io::Error::other(error)))?;
    text.push('\n');
    print_stdout(&text)
}
