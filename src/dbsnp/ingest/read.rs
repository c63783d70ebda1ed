//! Reading the source: one thread inflates it and cuts chunks of whole lines; parser
//! threads turn each row into (rsID, locus) and (allele, rsID) records for the external
//! sorters, and count what they read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use super::parse::{
    parse_dbsnp_line, read_header, row_rs_numbers, ContigCache, DbsnpLine, SourceHeader,
};
use super::write::allele_sort_key;
use super::{input_error, io_error, BuildOptions, BuildPhase, BuildProgress};
use crate::dbsnp::sort::{AlleleRecord, ExternalSorter, SortedRecords};
use crate::dbsnp::{Locus, MapCounts};
use crate::error::{Error, ErrorKind};

/// The source file, opened, its header read, positioned at its first data line.
pub(super) struct Source {
    path: PathBuf,
    /// Its size in bytes.
    pub(super) size: u64,
    /// What its header says.
    pub(super) header: SourceHeader,
    input: Box<dyn BufRead + Send>,
    /// The first data line, already read with the header.
    first_data_line: Vec<u8>,
    /// Header lines read.
    header_lines: u64,
    /// Bytes of the file read so far (compressed bytes for a compressed source).
    bytes_read: Arc<AtomicU64>,
}

impl Source {
    /// Opens `path` (bgzipped, gzipped or plain) and reads its header.
    pub(super) fn open(path: &Path) -> Result<Source, Error> {
        let file = File::open(path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => input_error(path, "does not exist"),
            _ => io_error("opening", path, error),
        })?;
        let size = file
            .metadata()
            .map_err(|error| io_error("reading", path, error))?
            .len();
        let mut magic = [0u8; 2];
        let compressed = (&file).read_exact(&mut magic).is_ok() && crate::bgzf::is_gzip(&magic);
        let file = File::open(path).map_err(|error| io_error("opening", path, error))?;
        let bytes_read = Arc::new(AtomicU64::new(0));
        let counted = CountingReader {
            inner: file,
            count: Arc::clone(&bytes_read),
        };
        let mut input: Box<dyn BufRead + Send> = if compressed {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, counted)),
            ))
        } else {
            Box::new(BufReader::with_capacity(1 << 20, counted))
        };
        let mut header_lines = 0u64;
        let (header, first_data_line) = read_header(path, &mut input, &mut header_lines)?;
        Ok(Source {
            path: path.to_path_buf(),
            size,
            header,
            input,
            first_data_line,
            header_lines,
            bytes_read,
        })
    }
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
    rows_read: u64,
    rows_used: u64,
    rows_without_rsid: u64,
    skipped_contigs: HashMap<Vec<u8>, u64>,
}

struct Sorters {
    loci: Mutex<ExternalSorter<u128>>,
    alleles: Mutex<ExternalSorter<AlleleRecord>>,
}

/// A chunk of whole lines and the line number of its first line.
struct Chunk {
    first_line: u64,
    bytes: Vec<u8>,
}

fn parse_chunks(
    source: &Path,
    chunks: &Mutex<Receiver<Chunk>>,
    sorters: &Sorters,
    rows_read: &AtomicU64,
) -> Result<WorkerCounts, Error> {
    const BATCH: usize = 1 << 16;
    let mut counts = WorkerCounts::default();
    let mut loci: Vec<u128> = Vec::with_capacity(BATCH);
    let mut alleles: Vec<AlleleRecord> = Vec::with_capacity(BATCH);
    let mut key = Vec::new();
    let mut reported = 0;
    let mut contigs = ContigCache::default();
    let sort_error = |error: io::Error| Error::io("writing a temporary sort run", error);
    loop {
        let chunk = match chunks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv()
        {
            Ok(chunk) => chunk,
            Err(_) => break,
        };
        let mut line_number = chunk.first_line;
        for line in chunk.bytes.split(|&b| b == b'\n') {
            if line.is_empty() || line == b"\r" {
                line_number += 1;
                continue;
            }
            counts.rows_read += 1;
            match parse_dbsnp_line(line, &mut contigs)
                .map_err(|message| input_error(source, format!("line {line_number}: {message}")))?
            {
                DbsnpLine::OtherContig(name) => {
                    *counts.skipped_contigs.entry(name.to_vec()).or_default() += 1
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
                        loci.push((u128::from(rs) << 64) | u128::from(locus));
                        for alternate in alternates
                            .split(|&b| b == b',')
                            .filter(|alt| !alt.is_empty() && *alt != b".")
                        {
                            allele_sort_key(
                                &mut key,
                                contig.ordinal(),
                                position,
                                reference,
                                alternate,
                            );
                            alleles.push(AlleleRecord::new(&key, rs));
                        }
                    }
                    if any {
                        counts.rows_used += 1;
                    } else {
                        counts.rows_without_rsid += 1;
                    }
                }
            }
            line_number += 1;
        }
        rows_read.fetch_add(counts.rows_read - reported, Ordering::Relaxed);
        reported = counts.rows_read;
        if loci.len() >= BATCH {
            sorters
                .loci
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_batch(&mut loci)
                .map_err(sort_error)?;
        }
        if alleles.len() >= BATCH {
            sorters
                .alleles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_batch(&mut alleles)
                .map_err(sort_error)?;
        }
    }
    sorters
        .loci
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_batch(&mut loci)
        .map_err(sort_error)?;
    sorters
        .alleles
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push_batch(&mut alleles)
        .map_err(sort_error)?;
    Ok(counts)
}

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

/// Reads and parses the whole source on `options.threads` parser threads, sorting its
/// records within the memory budget (runs spill into `runs_dir`).
pub(super) fn read_and_sort(
    source: Source,
    runs_dir: &Path,
    options: &BuildOptions,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<SortedPairs, Error> {
    let threads = options.threads.max(1);
    let budget = usize::try_from(options.memory_bytes).unwrap_or(usize::MAX);
    // The loci records are small and fixed; most of the budget goes to allele records.
    let sorters = Sorters {
        loci: Mutex::new(ExternalSorter::new(runs_dir, "loci", budget / 3)),
        alleles: Mutex::new(ExternalSorter::new(
            runs_dir,
            "alleles",
            budget / 3 * 2 - (threads * (8 << 20)).min(budget / 3),
        )),
    };
    let rows_read = AtomicU64::new(0);
    let (sender, receiver) = sync_channel::<Chunk>(threads * 2);
    let receiver = Mutex::new(receiver);
    let path = source.path.clone();
    let worker_results: Vec<Result<WorkerCounts, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| parse_chunks(&path, &receiver, &sorters, &rows_read)))
            .collect();
        let read_result = send_chunks(source, &sender, options, &rows_read, progress);
        drop(sender);
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
    let mut counts = MapCounts::default();
    for result in worker_results {
        let worker = result?;
        counts.rows_read += worker.rows_read;
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
    let (loci, loci_spilled) = sorters
        .loci
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .finish()
        .map_err(sort_error)?;
    let (alleles, alleles_spilled) = sorters
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

/// Inflates the source and sends it to the parsers in chunks of whole lines, reporting
/// progress after each.
fn send_chunks(
    mut source: Source,
    sender: &SyncSender<Chunk>,
    options: &BuildOptions,
    rows_read: &AtomicU64,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<(), Error> {
    const CHUNK: usize = 8 << 20;
    let mut carry = std::mem::take(&mut source.first_data_line);
    let mut next_line = source.header_lines + 1;
    loop {
        if options.interrupted.load(Ordering::Relaxed) {
            return Err(ErrorKind::Interrupted.into());
        }
        let mut bytes = std::mem::take(&mut carry);
        bytes.reserve(CHUNK + (1 << 16));
        let mut end_of_input = false;
        while bytes.len() < CHUNK {
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
            let n = buffer.len().min(CHUNK - bytes.len() + 1);
            bytes.extend_from_slice(&buffer[..n]);
            source.input.consume(n);
        }
        if !end_of_input {
            // Keep the partial last line for the next chunk.
            match bytes.iter().rposition(|&b| b == b'\n') {
                Some(last) => carry = bytes.split_off(last + 1),
                None => {
                    carry = bytes;
                    continue;
                }
            }
        }
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        let chunk = Chunk {
            first_line: next_line,
            bytes,
        };
        next_line += lines;
        if sender.send(chunk).is_err() {
            // A parser stopped on an error; it is reported with the parsers' results.
            return Ok(());
        }
        progress(&BuildProgress {
            phase: BuildPhase::Reading,
            rows_read: rows_read.load(Ordering::Relaxed),
            source_bytes_read: source.bytes_read.load(Ordering::Relaxed),
            source_bytes_total: source.size,
            keys_written: 0,
        });
        if end_of_input {
            return Ok(());
        }
    }
}
