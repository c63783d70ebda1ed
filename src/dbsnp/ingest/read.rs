//! Reading the sources: one thread cuts their text into chunks of whole lines (a BGZF
//! source is inflated on several threads first, `inflate.rs`); parser threads turn each
//! row into (rsID, locus) and (allele, rsID) records for the external sorters, and count
//! what they read. Several sources are read one after the other, as one.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::inflate::ParallelBgzfReader;
use super::MemoryPlan;

use super::parse::{
    parse_dbsnp_line, read_header, row_rs_numbers, ContigCache, DbsnpLine, SourceHeader,
};
use super::write::allele_sort_key;
use super::{input_error, io_error, BuildOptions, BuildPhase, BuildProgress, MAX_LINE};
use crate::dbsnp::sort::{AlleleRecord, ExternalSorter, SortedRecords};
use crate::dbsnp::{Locus, MapCounts};
use crate::error::{Error, ErrorKind};

/// A source file, opened, its header read, positioned at its first data line.
pub(super) struct Source {
    pub(super) path: PathBuf,
    /// Its size in bytes; 0 when it is not a regular file (a pipe, a device), whose size
    /// is not known in advance.
    pub(super) size: u64,
    /// What its header says.
    pub(super) header: SourceHeader,
    input: Box<dyn BufRead + Send>,
    /// The first data line, already read with the header.
    first_data_line: Vec<u8>,
    /// Header lines read, and their bytes.
    header_lines: u64,
    header_bytes: u64,
    /// Bytes of the files read so far (compressed bytes for a compressed source), shared
    /// by every source of a build.
    bytes_read: Arc<AtomicU64>,
}

impl Source {
    /// Opens `path` (bgzipped, gzipped or plain) and reads its header; a BGZF source is
    /// inflated on `inflate_threads` threads. Bytes read are added to `bytes_read`.
    pub(super) fn open(
        path: &Path,
        inflate_threads: usize,
        bytes_read: &Arc<AtomicU64>,
    ) -> Result<Source, Error> {
        let file = File::open(path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => input_error(path, "does not exist"),
            _ => io_error("opening", path, error),
        })?;
        let metadata = file
            .metadata()
            .map_err(|error| io_error("reading", path, error))?;
        let size = if metadata.is_file() {
            metadata.len()
        } else {
            0
        };
        // One handle, sniffed without consuming: a pipe cannot be opened twice. A pipe's
        // first read may return less than a block header: read on until the header is
        // whole (or the stream ends) before deciding.
        let mut counted = BufReader::with_capacity(
            1 << 20,
            CountingReader {
                inner: file,
                count: Arc::clone(bytes_read),
            },
        );
        let start = sniff(&mut counted).map_err(|error| io_error("reading", path, error))?;
        let mut input: Box<dyn BufRead + Send> = if crate::bgzf::block_size(&start).is_some() {
            Box::new(ParallelBgzfReader::new(
                std::io::Cursor::new(start).chain(counted),
                inflate_threads,
            ))
        } else if crate::bgzf::is_gzip(&start) {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::bufread::MultiGzDecoder::new(std::io::Cursor::new(start).chain(counted)),
            ))
        } else {
            Box::new(BufReader::with_capacity(
                1 << 20,
                std::io::Cursor::new(start).chain(counted),
            ))
        };
        let (mut header_lines, mut header_bytes) = (0u64, 0u64);
        let (header, first_data_line) =
            read_header(path, &mut input, &mut header_lines, &mut header_bytes)?;
        Ok(Source {
            path: path.to_path_buf(),
            size,
            header,
            input,
            first_data_line,
            header_lines,
            header_bytes,
            bytes_read: Arc::clone(bytes_read),
        })
    }
}

/// The first bytes of a stream, enough to tell BGZF, gzip and plain text apart: a BGZF
/// block header, or fewer at the end of the stream.
fn sniff(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut start = vec![0; crate::bgzf::HEADER_SIZE];
    let filled = super::inflate::read_full(input, &mut start)?;
    start.truncate(filled);
    Ok(start)
}

/// Counts bytes read from the source file, for progress.
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[derive(Default)]
struct WorkerCounts {
    text_bytes: u64,
    rows_read: u64,
    rows_used: u64,
    rows_without_rsid: u64,
    skipped_contigs: HashMap<Vec<u8>, u64>,
}

/// A chunk of whole lines of one source and the line number of its first line.
struct Chunk {
    source: usize,
    first_line: u64,
    bytes: Vec<u8>,
}

/// What the reader and the parser threads share.
struct Pipeline<'a> {
    chunks: Mutex<Receiver<Chunk>>,
    loci: Mutex<ExternalSorter<u128>>,
    alleles: Mutex<ExternalSorter<AlleleRecord>>,
    rows_read: AtomicU64,
    /// Bytes of the sources' first headers (later ones are parsed with the rows).
    header_bytes: AtomicU64,
    /// Set by a parser that failed: the reader stops at its next chunk, and the parsers
    /// take the chunks already sent without parsing them, so nobody waits for anybody.
    failed: std::sync::atomic::AtomicBool,
    options: &'a BuildOptions,
    plan: MemoryPlan,
}

impl Pipeline<'_> {
    fn stopping(&self) -> bool {
        self.failed.load(Ordering::Relaxed) || self.options.interrupted.load(Ordering::Relaxed)
    }
}

/// A parser thread: takes chunks until the reader is done, parses each, and hands its
/// records to the sorters in batches. After an error (its own or another parser's) or an
/// interrupt it keeps taking chunks without parsing them, so the reader never blocks.
fn parse_chunks(sources: &[PathBuf], pipeline: &Pipeline) -> Result<WorkerCounts, Error> {
    let mut parser = Parser {
        counts: WorkerCounts::default(),
        loci: Vec::with_capacity(pipeline.plan.batch_records),
        alleles: Vec::with_capacity(pipeline.plan.batch_records),
        key: Vec::new(),
        contigs: ContigCache::default(),
    };
    let mut result = Ok(());
    loop {
        let received = pipeline
            .chunks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        let Ok(chunk) = received else {
            break;
        };
        if result.is_err() || pipeline.stopping() {
            continue;
        }
        let before = parser.counts.rows_read;
        result = parser.chunk(&sources[chunk.source], &chunk, pipeline);
        pipeline
            .rows_read
            .fetch_add(parser.counts.rows_read - before, Ordering::Relaxed);
        if result.is_err() {
            pipeline.failed.store(true, Ordering::Relaxed);
        }
    }
    result?;
    parser.flush(pipeline, 1)?;
    Ok(parser.counts)
}

/// One parser thread's state.
struct Parser {
    counts: WorkerCounts,
    loci: Vec<u128>,
    alleles: Vec<AlleleRecord>,
    key: Vec<u8>,
    contigs: ContigCache,
}

impl Parser {
    fn chunk(&mut self, source: &Path, chunk: &Chunk, pipeline: &Pipeline) -> Result<(), Error> {
        self.counts.text_bytes += chunk.bytes.len() as u64;
        let lines = (chunk.first_line..).zip(chunk.bytes.split(|&b| b == b'\n'));
        for (line_number, line) in lines {
            if line.len() > MAX_LINE {
                return Err(input_error(
                    source,
                    format!(
                        "line {line_number} is longer than {} MiB: it is not a dbSNP VCF (or the file is damaged)",
                        MAX_LINE >> 20
                    ),
                ));
            }
            if line.first() == Some(&b'#') {
                // A later file's header (`cat a.vcf.gz b.vcf.gz`), checked as the first.
                super::parse::check_header_line(source, line)?;
            } else if !(line.is_empty() || line == b"\r") {
                self.counts.rows_read += 1;
                self.line(line).map_err(|message| {
                    input_error(source, format!("line {line_number}: {message}"))
                })?;
            }
        }
        self.flush(pipeline, pipeline.plan.batch_records)
    }

    fn line(&mut self, line: &[u8]) -> Result<(), String> {
        match parse_dbsnp_line(line, &mut self.contigs)? {
            DbsnpLine::OtherContig(name) => {
                *self
                    .counts
                    .skipped_contigs
                    .entry(name.to_vec())
                    .or_default() += 1
            }
            DbsnpLine::Row {
                contig,
                position,
                id,
                info,
                reference,
                alternates,
            } => {
                let locus = Locus::pack(contig.ordinal(), position);
                let mut any = false;
                for rs in row_rs_numbers(id, info) {
                    any = true;
                    self.loci.push((u128::from(rs) << 64) | u128::from(locus));
                    for alternate in alternates
                        .split(|&b| b == b',')
                        .filter(|alt| !alt.is_empty() && *alt != b".")
                    {
                        allele_sort_key(
                            &mut self.key,
                            contig.ordinal(),
                            position,
                            reference,
                            alternate,
                        );
                        self.alleles.push(AlleleRecord::new(&self.key, rs));
                    }
                }
                if any {
                    self.counts.rows_used += 1;
                } else {
                    self.counts.rows_without_rsid += 1;
                }
            }
        }
        Ok(())
    }

    /// Hands the batches of at least `at_least` records to the sorters.
    fn flush(&mut self, pipeline: &Pipeline, at_least: usize) -> Result<(), Error> {
        let sort_error = |error: io::Error| Error::io("writing a temporary sort run", error);
        if self.loci.len() >= at_least {
            pipeline
                .loci
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_batch(&mut self.loci)
                .map_err(sort_error)?;
        }
        if self.alleles.len() >= at_least {
            pipeline
                .alleles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_batch(&mut self.alleles)
                .map_err(sort_error)?;
        }
        Ok(())
    }
}

/// How often progress is reported while the parsers finish what was queued.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The source's records, sorted, and what reading it counted.
pub(super) struct SortedPairs {
    /// (rsID << 64 | packed locus), by rsID then locus.
    pub(super) loci: SortedRecords<u128>,
    /// (allele key, rsID), by key then rsID.
    pub(super) alleles: SortedRecords<AlleleRecord>,
    /// Rows read, used, without an rsID, and skipped by contig.
    pub(super) counts: MapCounts,
    /// Bytes the sorters wrote to temporary runs.
    pub(super) spilled_bytes: u64,
}

/// Reads and parses the sources, one after the other, on `options.threads` parser
/// threads, sorting their records within the memory plan (runs spill into `runs_dir`).
/// `first` is `options.sources[0]`, already opened; the others are opened in turn.
pub(super) fn read_and_sort(
    first: Source,
    runs_dir: &Path,
    options: &BuildOptions,
    plan: MemoryPlan,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<SortedPairs, Error> {
    let threads = options.threads.max(1);
    let (sender, receiver) = sync_channel::<Chunk>(threads * 2);
    let pipeline = Pipeline {
        chunks: Mutex::new(receiver),
        loci: Mutex::new(ExternalSorter::new(
            runs_dir,
            "loci",
            plan.loci_bytes,
            plan.merge,
        )),
        alleles: Mutex::new(ExternalSorter::new(
            runs_dir,
            "alleles",
            plan.allele_bytes,
            plan.merge,
        )),
        rows_read: AtomicU64::new(0),
        header_bytes: AtomicU64::new(0),
        failed: std::sync::atomic::AtomicBool::new(false),
        options,
        plan,
    };
    let paths = &options.sources;
    let source_size = total_size(paths, first.size);
    let bytes_read = Arc::clone(&first.bytes_read);
    let worker_results: Vec<Result<WorkerCounts, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| parse_chunks(paths, &pipeline)))
            .collect();
        let mut read_result = send_chunks(0, first, source_size, &sender, &pipeline, progress);
        for (index, path) in paths.iter().enumerate().skip(1) {
            if read_result.is_err() || pipeline.stopping() {
                break;
            }
            read_result = Source::open(path, threads, &bytes_read).and_then(|source| {
                send_chunks(index, source, source_size, &sender, &pipeline, progress)
            });
        }
        drop(sender);
        // The parsers still work on what was queued: keep reporting until they are done,
        // then report the totals, so that the last frame of reading is the summary's.
        let report = |progress: &mut dyn FnMut(&BuildProgress)| {
            progress(&BuildProgress {
                phase: BuildPhase::Reading,
                rows_read: pipeline.rows_read.load(Ordering::Relaxed),
                source_bytes_read: bytes_read.load(Ordering::Relaxed),
                source_bytes_total: source_size,
                keys_written: 0,
            })
        };
        while !workers.iter().all(|worker| worker.is_finished()) {
            report(progress);
            std::thread::sleep(PROGRESS_EVERY);
        }
        if read_result.is_ok() {
            report(progress);
        }
        let mut results: Vec<Result<WorkerCounts, Error>> = workers
            .into_iter()
            .map(|worker| {
                worker.join().unwrap_or_else(|_| {
                    Err(Error::io(
                        "parsing",
                        io::Error::other("a parser thread panicked"),
                    ))
                })
            })
            .collect();
        if let Err(error) = read_result {
            results.insert(0, Err(error));
        }
        results
    });
    let mut counts = MapCounts {
        text_bytes: pipeline.header_bytes.load(Ordering::Relaxed),
        ..MapCounts::default()
    };
    for result in worker_results {
        let worker = result?;
        counts.rows_read += worker.rows_read;
        counts.text_bytes += worker.text_bytes;
        counts.rows_used += worker.rows_used;
        counts.rows_without_rsid += worker.rows_without_rsid;
        for (name, n) in worker.skipped_contigs {
            *counts
                .skipped_contigs
                .entry(String::from_utf8_lossy(&name).into_owned())
                .or_default() += n;
        }
    }
    let sort_error = |error: io::Error| Error::io("reading a temporary sort run", error);
    let (loci, loci_spilled) = pipeline
        .loci
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .finish()
        .map_err(sort_error)?;
    let (alleles, alleles_spilled) = pipeline
        .alleles
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .finish()
        .map_err(sort_error)?;
    Ok(SortedPairs {
        loci,
        alleles,
        counts,
        spilled_bytes: loci_spilled + alleles_spilled,
    })
}

/// The sources' total size, known only when every one is a regular file.
fn total_size(paths: &[PathBuf], first_size: u64) -> u64 {
    let mut total = first_size;
    for path in paths.iter().skip(1) {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_file() && total > 0 => total += metadata.len(),
            _ => return 0,
        }
    }
    total
}

/// Inflates the source and sends it to the parsers in chunks of whole lines, reporting
/// progress after each. Stops at once when a parser failed (its error is the build's) or
/// the build is interrupted; refuses a line longer than `MAX_LINE`, so that memory stays
/// bounded whatever the source holds.
fn send_chunks(
    index: usize,
    mut source: Source,
    total_bytes: u64,
    sender: &SyncSender<Chunk>,
    pipeline: &Pipeline,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<(), Error> {
    let chunk_bytes = pipeline.plan.chunk_bytes;
    pipeline
        .header_bytes
        .fetch_add(source.header_bytes, Ordering::Relaxed);
    let mut carry = std::mem::take(&mut source.first_data_line);
    let mut next_line = source.header_lines + 1;
    loop {
        if pipeline.options.interrupted.load(Ordering::Relaxed) {
            return Err(ErrorKind::Interrupted.into());
        }
        if pipeline.failed.load(Ordering::Relaxed) {
            // The parser's error is reported with the parsers' results.
            return Ok(());
        }
        let mut bytes = std::mem::take(&mut carry);
        bytes.reserve(chunk_bytes.saturating_sub(bytes.len()) + 1);
        let mut end_of_input = false;
        while bytes.len() < chunk_bytes {
            let buffer = source.input.fill_buf().map_err(|error| {
                input_error(
                    &source.path,
                    format!("cannot be decompressed or read ({error}): is the file complete?"),
                )
            })?;
            if buffer.is_empty() {
                end_of_input = true;
                break;
            }
            let n = buffer.len().min(chunk_bytes - bytes.len() + 1);
            bytes.extend_from_slice(&buffer[..n]);
            source.input.consume(n);
        }
        if !end_of_input {
            // Keep the partial last line for the next chunk.
            let last_line_start = bytes
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |at| at + 1);
            if bytes.len() - last_line_start > MAX_LINE {
                let line = next_line
                    + bytes[..last_line_start]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count() as u64;
                return Err(input_error(
                    &source.path,
                    format!(
                        "line {line} is longer than {} MiB without a line end: it is not a dbSNP VCF (or the file is damaged)",
                        MAX_LINE >> 20
                    ),
                ));
            }
            carry = bytes.split_off(last_line_start);
            if bytes.is_empty() {
                continue;
            }
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let chunk = Chunk {
            source: index,
            first_line: next_line,
            bytes,
        };
        next_line += lines;
        let report = |progress: &mut dyn FnMut(&BuildProgress)| {
            progress(&BuildProgress {
                phase: BuildPhase::Reading,
                rows_read: pipeline.rows_read.load(Ordering::Relaxed),
                source_bytes_read: source.bytes_read.load(Ordering::Relaxed),
                source_bytes_total: total_bytes,
                keys_written: 0,
            })
        };
        // While the parsers are busy the queue is full: report progress as they go, and
        // stop at once if one failed or the build is interrupted.
        let mut pending = chunk;
        loop {
            match sender.try_send(pending) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Ok(()),
                Err(TrySendError::Full(chunk)) => {
                    if pipeline.stopping() {
                        return if pipeline.options.interrupted.load(Ordering::Relaxed) {
                            Err(ErrorKind::Interrupted.into())
                        } else {
                            Ok(())
                        };
                    }
                    report(progress);
                    pending = chunk;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        report(progress);
        if end_of_input {
            return Ok(());
        }
    }
}
