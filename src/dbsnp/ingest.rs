//! `vcfq dbsnp build`: stream a dbSNP VCF (bgzipped or plain; contigs named `NC_000019.10`,
//! `19` or `chr19`), sort its (rsID, locus) and (allele, rsID) pairs externally within a
//! memory budget, and write the map files into a temporary directory that is renamed
//! into place only once complete.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use memmap2::Mmap;

use super::format::{
    allele_bucket_key, bucket_body, encode_allele_entry, encode_rsid_entry, rsid_bucket_key,
    rsid_loci, write_bucket, TABLE_MAGIC,
};
use super::sort::{AlleleRecord, ExternalSorter, SortedRecords};
use super::{
    rsid_key, FileInfo, Locus, MapCounts, MapMetadata, SourceInfo, ALLELES_FILE, ALLELES_TABLE,
    FORMAT_NAME, FORMAT_VERSION, MERGED_FILE, META_FILE, RSIDS_FILE, RSIDS_TABLE,
};
use crate::error::{Error, ErrorKind};
use crate::types::Contig;
use crate::types::{parse_digits, rsids_in_id_column, Rsid};
use crate::vcf::non_grch38_contig;

/// How to build a map.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The dbSNP VCF, bgzipped, gzipped or plain.
    pub source: PathBuf,
    /// The map directory to create (or replace, if it holds a vcfq map).
    pub out: PathBuf,
    /// Merge history: TSV `old_rs<TAB>current_rs`.
    pub merged: Option<PathBuf>,
    /// Memory for the in-memory sort buffers, in bytes (default 3 GiB, which keeps the whole build under 4 GiB of RSS).
    pub memory_bytes: u64,
    /// Parser threads (default: the machine's cores).
    pub threads: usize,
    /// Set to stop the build; it then removes its temporary files and returns an error.
    pub interrupted: Arc<AtomicBool>,
}

impl BuildOptions {
    /// Options to build a map of `source` into `out` with the defaults: no merge history,
    /// 3 GiB to sort in, a parser thread per core.
    pub fn new(source: impl Into<PathBuf>, out: impl Into<PathBuf>) -> BuildOptions {
        BuildOptions {
            source: source.into(),
            out: out.into(),
            merged: None,
            memory_bytes: 3 << 30,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            interrupted: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// Where a build is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildPhase {
    /// Reading and parsing the source (progress in input bytes).
    Reading,
    /// Writing `rsids.fst` (progress in rsIDs).
    WritingRsids,
    /// Writing `alleles.fst` (progress in allele keys).
    WritingAlleles,
    /// Resolving and writing the merge history.
    WritingMerged,
}

/// A progress report, sent often; the caller decides how often to show it.
#[derive(Debug, Clone)]
pub struct BuildProgress {
    /// What the build is doing.
    pub phase: BuildPhase,
    /// Data rows parsed so far.
    pub rows_read: u64,
    /// Bytes of the source file read so far (compressed bytes for a compressed source).
    pub source_bytes_read: u64,
    /// The source's size in bytes (0 when unknown).
    pub source_bytes_total: u64,
    /// Keys written in the current writing phase.
    pub keys_written: u64,
}

/// What a finished build did.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// The map's metadata, as `meta.json` holds it.
    pub metadata: MapMetadata,
    /// Total size of the map's files.
    pub map_bytes: u64,
    /// Bytes written to temporary sort runs (0 when everything fit in memory).
    pub spilled_bytes: u64,
    /// The build's wall time.
    pub seconds: f64,
}

fn input_error(path: &Path, message: impl Into<String>) -> Error {
    ErrorKind::DbsnpInput {
        path: path.to_path_buf(),
        message: message.into(),
    }
    .into()
}

fn io_error(context: &str, path: &Path, error: io::Error) -> Error {
    Error::io(format!("{context} {}", path.display()), error)
}

/// Removes the temporary build directory unless the build completed.
struct TemporaryDir {
    path: PathBuf,
    keep: bool,
}

impl Drop for TemporaryDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
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

/// A writer that keeps the size and CRC-32 of what passes through, for meta.json.
struct ChecksumWriter {
    inner: BufWriter<File>,
    hasher: libdeflater::Crc,
    size: u64,
}

impl ChecksumWriter {
    fn create(path: &Path) -> Result<ChecksumWriter, Error> {
        let file = File::create(path).map_err(|error| io_error("creating", path, error))?;
        Ok(ChecksumWriter {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: libdeflater::Crc::new(),
            size: 0,
        })
    }

    fn finish(mut self, path: &Path) -> Result<FileInfo, Error> {
        self.inner
            .flush()
            .map_err(|error| io_error("writing", path, error))?;
        self.inner
            .get_ref()
            .sync_all()
            .map_err(|error| io_error("syncing", path, error))?;
        Ok(FileInfo {
            size: self.size,
            crc32: self.hasher.sum(),
        })
    }
}

impl Write for ChecksumWriter {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One data line of a dbSNP VCF, as the map needs it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DbsnpLine<'a> {
    /// A row on a primary contig.
    Row {
        contig: &'static Contig,
        position: u32,
        id: &'a [u8],
        info: &'a [u8],
        reference: &'a [u8],
        alternates: &'a [u8],
    },
    /// A row on another contig (scaffold, alt, patch), by name.
    OtherContig(&'a [u8]),
}

/// Remembers the last contig name resolved: dbSNP rows come grouped by contig.
#[derive(Default)]
pub(crate) struct ContigCache {
    name: Vec<u8>,
    contig: Option<&'static Contig>,
}

impl ContigCache {
    fn resolve(&mut self, name: &[u8]) -> Option<&'static Contig> {
        if self.name != name {
            self.name.clear();
            self.name.extend_from_slice(name);
            self.contig = Contig::from_any_name(name);
        }
        self.contig
    }
}

/// Parses a dbSNP data line. Errors say what is malformed.
pub(crate) fn parse_dbsnp_line<'a>(
    line: &'a [u8],
    contigs: &mut ContigCache,
) -> Result<DbsnpLine<'a>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut columns = line.split(|&b| b == b'\t');
    let mut next = |name: &str| {
        columns
            .next()
            .ok_or_else(|| format!("the line has no {name} column"))
    };
    let chromosome = next("CHROM")?;
    let Some(contig) = contigs.resolve(chromosome) else {
        return Ok(DbsnpLine::OtherContig(chromosome));
    };
    let position_text = next("POS")?;
    let position = parse_digits(position_text)
        .filter(|&position| position >= 1)
        .ok_or_else(|| {
            format!(
                "POS {:?} is not a positive integer",
                String::from_utf8_lossy(position_text)
            )
        })?;
    if position > contig.length {
        return Err(format!(
            "POS {position} is beyond the end of GRCh38 {} ({} bp): is this a GRCh38 dbSNP VCF?",
            contig.name, contig.length
        ));
    }
    let id = next("ID")?;
    let reference = next("REF")?;
    let alternates = next("ALT")?;
    let info = columns.nth(2).unwrap_or_default();
    if reference.is_empty() || reference.contains(&0) || alternates.contains(&0) {
        return Err("REF is empty or an allele holds a NUL byte".to_string());
    }
    Ok(DbsnpLine::Row {
        contig,
        position: position as u32,
        id,
        info,
        reference,
        alternates,
    })
}

/// The rs numbers of a row: every `rs<digits>` token of the ID column, or, when the ID
/// column has none (dbSNP releases that blank it), INFO `RS=<digits>`.
pub(crate) fn row_rs_numbers<'a>(id: &'a [u8], info: &'a [u8]) -> impl Iterator<Item = u64> + 'a {
    let from_id = rsids_in_id_column(id).map(Rsid::number);
    let mut from_info = None;
    if from_id.clone().next().is_none() {
        from_info = info
            .split(|&b| b == b';')
            .find_map(|entry| entry.strip_prefix(b"RS="))
            .and_then(Rsid::from_digits)
            .map(Rsid::number);
    }
    from_id.chain(from_info)
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

/// Header facts of the source.
#[derive(Default)]
struct SourceHeader {
    dbsnp_build: Option<String>,
    reference: Option<String>,
}

/// Reads the header lines; refuses sources that say they are not on GRCh38.
fn read_header(
    source: &Path,
    input: &mut impl BufRead,
    line_count: &mut u64,
) -> Result<(SourceHeader, Vec<u8>), Error> {
    let mut header = SourceHeader::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = input
            .read_until(b'\n', &mut line)
            .map_err(|error| io_error("reading", source, error))?;
        if read == 0 {
            return Ok((header, Vec::new()));
        }
        if line.first() != Some(&b'#') {
            // The first data line goes to the parsers with the rest.
            return Ok((header, line));
        }
        *line_count += 1;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if let Some(build) = text.strip_prefix("##dbSNP_BUILD_ID=") {
            header.dbsnp_build = Some(build.to_string());
        } else if let Some(reference) = text.strip_prefix("##reference=") {
            let lower = reference.to_ascii_lowercase();
            if ["grch37", "hg19", "b37", "hs37", "ncbi36", "hg18"]
                .iter()
                .any(|old| lower.contains(old))
            {
                return Err(input_error(
                    source,
                    format!("its header says ##reference={reference}: vcfq needs the GRCh38 dbSNP release (e.g. GCF_000001405.40 / GRCh38.p14)"),
                ));
            }
            header.reference = Some(reference.to_string());
        } else if let Some(problem) = non_grch38_contig(text.as_bytes()) {
            return Err(input_error(source, format!("is not on GRCh38: {problem}")));
        }
    }
}

/// Builds a map as `options` say, reporting progress through `progress`.
pub fn build_map(
    options: &BuildOptions,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<BuildSummary, Error> {
    let started = Instant::now();
    let source = options.source.as_path();
    let source_file = File::open(source).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => input_error(source, "does not exist"),
        _ => io_error("opening", source, error),
    })?;
    let source_size = source_file
        .metadata()
        .map_err(|error| io_error("reading", source, error))?
        .len();
    let out = options.out.as_path();
    let temporary = prepare_temporary_dir(out)?;
    let runs_dir = temporary.path.join("runs");
    fs::create_dir(&runs_dir).map_err(|error| io_error("creating", &runs_dir, error))?;

    // Read: one thread decompresses and cuts whole-line chunks; parser threads sort.
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut magic = [0u8; 2];
    let compressed = (&source_file).read_exact(&mut magic).is_ok() && crate::bgzf::is_gzip(&magic);
    let source_file = File::open(source).map_err(|error| io_error("opening", source, error))?;
    let counted = CountingReader {
        inner: source_file,
        count: Arc::clone(&bytes_read),
    };
    let mut input: Box<dyn BufRead> = if compressed {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, counted)),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, counted))
    };
    let mut line_count = 0u64;
    let (header, first_data_line) = read_header(source, &mut input, &mut line_count)?;

    let threads = options.threads.max(1);
    let budget = usize::try_from(options.memory_bytes).unwrap_or(usize::MAX);
    // The loci records are small and fixed; most of the budget goes to allele records.
    let sorters = Sorters {
        loci: Mutex::new(ExternalSorter::new(&runs_dir, "loci", budget / 3)),
        alleles: Mutex::new(ExternalSorter::new(
            &runs_dir,
            "alleles",
            budget / 3 * 2 - (threads * (8 << 20)).min(budget / 3),
        )),
    };
    let rows_read = AtomicU64::new(0);
    let (sender, receiver) = sync_channel::<Chunk>(threads * 2);
    let receiver = Mutex::new(receiver);
    let worker_results: Vec<Result<WorkerCounts, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| parse_chunks(source, &receiver, &sorters, &rows_read)))
            .collect();
        let read_result = (|| -> Result<(), Error> {
            const CHUNK: usize = 8 << 20;
            let mut carry = first_data_line;
            let mut next_line = line_count + 1;
            loop {
                if options.interrupted.load(Ordering::Relaxed) {
                    return Err(ErrorKind::Interrupted.into());
                }
                let mut bytes = std::mem::take(&mut carry);
                bytes.reserve(CHUNK + (1 << 16));
                let mut end_of_input = false;
                while bytes.len() < CHUNK {
                    let buffer = input.fill_buf().map_err(|error| {
                        input_error(
                            source,
                            format!(
                                "cannot be decompressed or read ({error}): is the file complete?"
                            ),
                        )
                    })?;
                    if buffer.is_empty() {
                        end_of_input = true;
                        break;
                    }
                    let n = buffer.len().min(CHUNK - bytes.len() + 1);
                    bytes.extend_from_slice(&buffer[..n]);
                    input.consume(n);
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
                    // A parser stopped on an error; it is reported below.
                    return Ok(());
                }
                progress(&BuildProgress {
                    phase: BuildPhase::Reading,
                    rows_read: rows_read.load(Ordering::Relaxed),
                    source_bytes_read: bytes_read.load(Ordering::Relaxed),
                    source_bytes_total: source_size,
                    keys_written: 0,
                });
                if end_of_input {
                    return Ok(());
                }
            }
        })();
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

    let sorters_loci = sorters.loci.into_inner().unwrap_or_else(|p| p.into_inner());
    let sorters_alleles = sorters
        .alleles
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    let sort_error = |error: io::Error| Error::io("reading a temporary sort run", error);
    let mut files = BTreeMap::new();
    let mut report = |phase: BuildPhase, keys_written: u64| {
        progress(&BuildProgress {
            phase,
            rows_read: counts.rows_read,
            source_bytes_read: source_size,
            source_bytes_total: source_size,
            keys_written,
        })
    };

    // The two maps are independent: write them at once, one thread each.
    let (loci, loci_spilled) = sorters_loci.finish().map_err(sort_error)?;
    let (alleles, alleles_spilled) = sorters_alleles.finish().map_err(sort_error)?;
    let spilled_bytes = loci_spilled + alleles_spilled;
    let alleles_written = AtomicU64::new(0);
    let (rsids_result, alleles_result) = std::thread::scope(|scope| {
        let alleles_thread = scope.spawn(|| {
            write_alleles(&temporary.path, alleles, options, &mut |n| {
                alleles_written.store(n, Ordering::Relaxed)
            })
        });
        let rsids_result = write_rsids(&temporary.path, loci, options, &mut |n| {
            report(
                BuildPhase::WritingRsids,
                n + alleles_written.load(Ordering::Relaxed),
            )
        });
        let alleles_result = alleles_thread.join().unwrap_or_else(|_| {
            Err(Error::io(
                "writing alleles.fst",
                io::Error::other("the writer thread panicked"),
            ))
        });
        (rsids_result, alleles_result)
    });
    let (rsids_info, rsid_table_info, rsid_counts) = rsids_result?;
    files.insert(RSIDS_FILE.to_string(), rsids_info);
    files.insert(RSIDS_TABLE.to_string(), rsid_table_info);
    (
        counts.rsids,
        counts.loci,
        counts.multi_locus_rsids,
        counts.rsid_buckets,
    ) = rsid_counts;
    let (alleles_info, allele_table_info, (allele_keys, allele_buckets)) = alleles_result?;
    files.insert(ALLELES_FILE.to_string(), alleles_info);
    files.insert(ALLELES_TABLE.to_string(), allele_table_info);
    (counts.allele_keys, counts.allele_buckets) = (allele_keys, allele_buckets);

    if let Some(merged) = &options.merged {
        report(BuildPhase::WritingMerged, 0);
        let (info, resolved) = write_merged(&temporary.path, merged)?;
        files.insert(MERGED_FILE.to_string(), info);
        counts.merged = resolved;
    }
    let _ = fs::remove_dir(&runs_dir);

    let metadata = MapMetadata {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        source: SourceInfo {
            path: fs::canonicalize(source)
                .unwrap_or_else(|_| source.to_path_buf())
                .display()
                .to_string(),
            size: source_size,
            merged_path: options.merged.as_ref().map(|path| {
                fs::canonicalize(path)
                    .unwrap_or_else(|_| path.clone())
                    .display()
                    .to_string()
            }),
        },
        dbsnp_build: header.dbsnp_build,
        reference: header.reference,
        counts,
        contigs: Contig::all()
            .iter()
            .map(|contig| contig.name.to_string())
            .collect(),
        built_at_unix_seconds: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |age| age.as_secs()),
        build_seconds: started.elapsed().as_secs_f64(),
        files,
    };
    let meta_path = temporary.path.join(META_FILE);
    let mut meta_text = serde_json::to_vec_pretty(&metadata)
        .map_err(|error| Error::io("writing meta.json", io::Error::other(error)))?;
    meta_text.push(b'\n');
    let mut meta_file =
        File::create(&meta_path).map_err(|error| io_error("creating", &meta_path, error))?;
    meta_file
        .write_all(&meta_text)
        .and_then(|()| meta_file.sync_all())
        .map_err(|error| io_error("writing", &meta_path, error))?;
    let map_bytes =
        metadata.files.values().map(|file| file.size).sum::<u64>() + meta_text.len() as u64;
    commit(temporary, out)?;
    Ok(BuildSummary {
        metadata,
        map_bytes,
        spilled_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Creates `<out>.building-<pid>` beside `out` (same file system, so the final rename is
/// atomic). Refuses an `out` that exists and is neither empty nor a vcfq map.
fn prepare_temporary_dir(out: &Path) -> Result<TemporaryDir, Error> {
    if out.exists() {
        let is_map = out.join(META_FILE).is_file();
        let is_empty = fs::read_dir(out)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !out.is_dir() || !(is_map || is_empty) {
            return Err(input_error(
                out,
                "exists and is not a vcfq dbSNP map: choose another --out directory",
            ));
        }
    }
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dbsnp-map".to_string());
    let parent = out
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|error| io_error("creating", parent, error))?;
    let path = parent.join(format!(".{name}.building-{}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    fs::create_dir(&path).map_err(|error| io_error("creating", &path, error))?;
    Ok(TemporaryDir { path, keep: false })
}

/// Renames the finished directory into place, replacing an older map.
fn commit(mut temporary: TemporaryDir, out: &Path) -> Result<(), Error> {
    if let Ok(dir) = File::open(&temporary.path) {
        let _ = dir.sync_all();
    }
    let old = out.with_file_name(format!(
        ".{}.old-{}",
        out.file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let replacing = out.exists();
    if replacing {
        fs::rename(out, &old).map_err(|error| io_error("moving aside the old map", out, error))?;
    }
    if let Err(error) = fs::rename(&temporary.path, out) {
        if replacing {
            let _ = fs::rename(&old, out);
        }
        return Err(io_error("renaming the new map into", out, error));
    }
    temporary.keep = true;
    if replacing {
        let _ = fs::remove_dir_all(&old);
    }
    Ok(())
}

fn check_interrupt(options: &BuildOptions) -> Result<(), Error> {
    if options.interrupted.load(Ordering::Relaxed) {
        return Err(ErrorKind::Interrupted.into());
    }
    Ok(())
}

fn fst_error(path: &Path, error: fst::Error) -> Error {
    match error {
        fst::Error::Io(error) => io_error("writing", path, error),
        other => Error::io(
            format!("writing {}", path.display()),
            io::Error::other(other.to_string()),
        ),
    }
}

/// Writes one table: an fst from bucket key to offset, and the side file of buckets.
struct TableWriter {
    fst_path: PathBuf,
    table_path: PathBuf,
    builder: fst::MapBuilder<ChecksumWriter>,
    table: ChecksumWriter,
    offset: u64,
    key: Vec<u8>,
    body: Vec<u8>,
    framed: Vec<u8>,
    buckets: u64,
}

impl TableWriter {
    fn create(dir: &Path, fst_name: &str, table_name: &str) -> Result<TableWriter, Error> {
        let fst_path = dir.join(fst_name);
        let table_path = dir.join(table_name);
        let builder = fst::MapBuilder::new(ChecksumWriter::create(&fst_path)?)
            .map_err(|error| fst_error(&fst_path, error))?;
        let mut table = ChecksumWriter::create(&table_path)?;
        table
            .write_all(TABLE_MAGIC)
            .map_err(|error| io_error("writing", &table_path, error))?;
        Ok(TableWriter {
            fst_path,
            table_path,
            builder,
            table,
            offset: TABLE_MAGIC.len() as u64,
            key: Vec::new(),
            body: Vec::new(),
            framed: Vec::new(),
            buckets: 0,
        })
    }

    /// The body of the bucket `key`, to append entries to; keys come in sorted order.
    fn bucket(&mut self, key: &[u8]) -> Result<&mut Vec<u8>, Error> {
        if self.key != key {
            self.flush()?;
            self.key.clear();
            self.key.extend_from_slice(key);
        }
        Ok(&mut self.body)
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.body.is_empty() {
            return Ok(());
        }
        self.builder
            .insert(&self.key, self.offset)
            .map_err(|error| fst_error(&self.fst_path, error))?;
        self.framed.clear();
        write_bucket(&mut self.framed, &self.body);
        self.table
            .write_all(&self.framed)
            .map_err(|error| io_error("writing", &self.table_path, error))?;
        self.offset += self.framed.len() as u64;
        self.body.clear();
        self.buckets += 1;
        Ok(())
    }

    /// (fst file info, side file info, buckets)
    fn finish(mut self) -> Result<(FileInfo, FileInfo, u64), Error> {
        self.flush()?;
        let fst_info = self
            .builder
            .into_inner()
            .map_err(|error| fst_error(&self.fst_path, error))?
            .finish(&self.fst_path)?;
        let table_info = self.table.finish(&self.table_path)?;
        Ok((fst_info, table_info, self.buckets))
    }
}

/// Counts of the rsID table: (rsIDs, loci, rsIDs at several loci, buckets).
type RsidCounts = (u64, u64, u64, u64);

fn write_rsids(
    dir: &Path,
    mut records: SortedRecords<u128>,
    options: &BuildOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(FileInfo, FileInfo, RsidCounts), Error> {
    let mut writer = TableWriter::create(dir, RSIDS_FILE, RSIDS_TABLE)?;
    let (mut rsids, mut loci, mut multi) = (0u64, 0u64, 0u64);
    let mut previous: Option<u64> = None;
    let mut previous_counted_multi = false;
    while let Some(record) = records
        .next_record()
        .map_err(|error| Error::io("reading a temporary sort run", error))?
    {
        let (rs, locus) = ((record >> 64) as u64, record as u64);
        if previous == Some(rs) {
            if !previous_counted_multi {
                multi += 1;
                previous_counted_multi = true;
            }
        } else {
            rsids += 1;
            previous = Some(rs);
            previous_counted_multi = false;
            if rsids % (1 << 20) == 0 {
                check_interrupt(options)?;
                progress(rsids);
            }
        }
        loci += 1;
        // Genome offsets are below 3.1 billion: they fit in a u32.
        encode_rsid_entry(writer.bucket(&rsid_bucket_key(rs))?, rs, locus as u32);
    }
    let (fst_info, table_info, buckets) = writer.finish()?;
    Ok((fst_info, table_info, (rsids, loci, multi, buckets)))
}

/// Counts of the allele table: (allele keys, buckets).
fn write_alleles(
    dir: &Path,
    mut records: SortedRecords<AlleleRecord>,
    options: &BuildOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(FileInfo, FileInfo, (u64, u64)), Error> {
    let mut writer = TableWriter::create(dir, ALLELES_FILE, ALLELES_TABLE)?;
    let mut keys = 0u64;
    let mut previous: Option<AlleleRecord> = None;
    while let Some(record) = records
        .next_record()
        .map_err(|error| Error::io("reading a temporary sort run", error))?
    {
        let (ordinal, position, reference, alternate) =
            split_sort_key(record.key()).ok_or_else(|| {
                Error::io(
                    "reading a temporary sort run",
                    io::Error::other("a malformed allele key"),
                )
            })?;
        if previous.as_ref().map(AlleleRecord::key) != Some(record.key()) {
            keys += 1;
            if keys % (1 << 20) == 0 {
                check_interrupt(options)?;
                progress(keys);
            }
        }
        encode_allele_entry(
            writer.bucket(&allele_bucket_key(ordinal, position))?,
            position,
            reference,
            alternate,
            record.rs,
        );
        previous = Some(record);
    }
    let (fst_info, table_info, buckets) = writer.finish()?;
    Ok((fst_info, table_info, (keys, buckets)))
}

/// The sort key of an allele record: `[contig ordinal][POS u32 BE][REF] 0 [ALT]`, which
/// sorts by position, then REF, then ALT.
pub(crate) fn allele_sort_key(
    out: &mut Vec<u8>,
    contig_ordinal: usize,
    position: u32,
    reference: &[u8],
    alternate: &[u8],
) {
    out.clear();
    out.push(contig_ordinal as u8);
    out.extend_from_slice(&position.to_be_bytes());
    out.extend_from_slice(reference);
    out.push(0);
    out.extend_from_slice(alternate);
}

fn split_sort_key(key: &[u8]) -> Option<(usize, u32, &[u8], &[u8])> {
    let (&ordinal, rest) = key.split_first()?;
    let position = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let alleles = &rest[4..];
    let separator = alleles.iter().position(|&b| b == 0)?;
    Some((
        usize::from(ordinal),
        position,
        &alleles[..separator],
        &alleles[separator + 1..],
    ))
}

/// Reads merge history (`old_rs<TAB>current_rs`, `rs` prefixes optional, `#` comments and a
/// header line allowed), follows chains to an rsID the map holds, and writes `merged.fst`.
fn write_merged(dir: &Path, merged: &Path) -> Result<(FileInfo, u64), Error> {
    let text = fs::read(merged).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => input_error(merged, "does not exist"),
        _ => io_error("reading", merged, error),
    })?;
    let number = |field: &[u8]| -> Option<u64> {
        let digits = field
            .strip_prefix(b"rs")
            .or_else(|| field.strip_prefix(b"RS"))
            .unwrap_or(field);
        Rsid::parse_vcf_token(&[b"rs", digits].concat()).map(Rsid::number)
    };
    let mut merges: HashMap<u64, u64> = HashMap::new();
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let mut fields = line.split(|&b| b == b'\t');
        let (old, current) = (
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default(),
        );
        match (number(old), number(current)) {
            (Some(old), Some(current)) => {
                merges.insert(old, current);
            }
            _ if index == 0 => {} // a header line
            _ => {
                return Err(input_error(
                    merged,
                    format!(
                        "line {}: expected `old_rs<TAB>current_rs`, got {:?}",
                        index + 1,
                        String::from_utf8_lossy(line)
                    ),
                ))
            }
        }
    }
    let map_file = |name: &str| -> Result<Mmap, Error> {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|error| io_error("opening", &path, error))?;
        // SAFETY: the file was just written by this build and is not modified while mapped.
        unsafe { Mmap::map(&file) }.map_err(|error| io_error("mapping", &path, error))
    };
    let rsids = fst::Map::new(map_file(RSIDS_FILE)?)
        .map_err(|error| fst_error(&dir.join(RSIDS_FILE), error))?;
    let table = map_file(RSIDS_TABLE)?;
    let is_current = |rs: u64| {
        rsids
            .get(rsid_bucket_key(rs))
            .and_then(|offset| bucket_body(&table, offset))
            .and_then(|(body, _)| rsid_loci(body, rs))
            .is_some_and(|mut loci| loci.next().is_some())
    };
    let mut resolved: Vec<(u64, u64)> = Vec::new();
    for (&old, &first) in &merges {
        if is_current(old) {
            continue; // still current itself
        }
        let mut target = first;
        // Follow the chain; a cycle or a dead end resolves to nothing.
        for _ in 0..64 {
            if is_current(target) {
                resolved.push((old, target));
                break;
            }
            match merges.get(&target) {
                Some(&next) => target = next,
                None => break,
            }
        }
    }
    resolved.sort_unstable();
    let path = dir.join(MERGED_FILE);
    let mut builder = fst::MapBuilder::new(ChecksumWriter::create(&path)?)
        .map_err(|error| fst_error(&path, error))?;
    for (old, current) in &resolved {
        builder
            .insert(rsid_key(*old), *current)
            .map_err(|error| fst_error(&path, error))?;
    }
    let info = builder
        .into_inner()
        .map_err(|error| fst_error(&path, error))?
        .finish(&path)?;
    Ok((info, resolved.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dbsnp_lines() {
        let line = b"17\t62984\trs1170181519\tG\tA,C,T\t.\t.\tRS=1170181519;RSPOS=62984;VC=SNV";
        let DbsnpLine::Row {
            contig,
            position,
            id,
            info,
            reference,
            alternates,
        } = parse_dbsnp_line(line, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (contig.name, position, reference, alternates),
            ("chr17", 62984, &b"G"[..], &b"A,C,T"[..])
        );
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![1_170_181_519]
        );
        let refseq = b"NC_000001.11\t10019\t.\tTA\tT\t.\t.\tRS=775809821;dbSNPBuildID=144";
        let DbsnpLine::Row {
            contig, id, info, ..
        } = parse_dbsnp_line(refseq, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(contig.name, "chr1");
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![775_809_821],
            "INFO RS when the ID is blank"
        );
        let both = b"chr1\t5\trs7;rs9\tA\tG\t.\t.\tRS=8";
        let DbsnpLine::Row { id, info, .. } =
            parse_dbsnp_line(both, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![7, 9],
            "ID tokens win over INFO RS"
        );
        assert_eq!(
            parse_dbsnp_line(b"NT_187361.1\t5\trs1\tA\tG", &mut ContigCache::default()).unwrap(),
            DbsnpLine::OtherContig(b"NT_187361.1")
        );
        assert!(
            parse_dbsnp_line(b"chr1\tx\trs1\tA\tG", &mut ContigCache::default())
                .unwrap_err()
                .contains("POS")
        );
        assert!(
            parse_dbsnp_line(b"chrM\t16570\trs1\tA\tG", &mut ContigCache::default())
                .unwrap_err()
                .contains("beyond the end")
        );
        assert!(
            parse_dbsnp_line(b"chr1\t5\trs1", &mut ContigCache::default())
                .unwrap_err()
                .contains("no REF")
        );
        let none = b"chr1\t5\t.\tA\tG\t.\t.\tVC=SNV";
        let DbsnpLine::Row { id, info, .. } =
            parse_dbsnp_line(none, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(row_rs_numbers(id, info).count(), 0);
    }
}
