//! `vcfq dbsnp build`: stream a dbSNP VCF (bgzipped or plain; contigs named `NC_000019.10`,
//! `19` or `chr19`), sort its (rsID, locus) and (allele, rsID) pairs externally within a
//! memory budget, and write the map files into a temporary directory that is renamed
//! into place only once complete.

//!
//! The steps, each its own function: open the source and read its header
//! (`read::Source`), read and sort it (`read::read_and_sort`), write the rsID and allele
//! tables (`write`), resolve the merge history, write `meta.json`, and rename the
//! directory into place (`commit`).

mod inflate;
mod merged;
mod parse;
mod read;
mod write;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[cfg(feature = "fuzzing")]
pub(crate) use parse::{parse_dbsnp_line, row_rs_numbers, ContigCache, DbsnpLine};
use read::{read_and_sort, SortedPairs, Source};
use write::{write_alleles, write_merged, write_rsids};

use super::sort::MergePlan;
use super::{
    FileInfo, MapCounts, MapMetadata, SourceInfo, ALLELES_FILE, ALLELES_TABLE, FORMAT_NAME,
    FORMAT_VERSION, MERGED_FILE, META_FILE, RSIDS_FILE, RSIDS_TABLE,
};
use crate::error::{Error, ErrorKind};
use crate::types::Contig;

/// How to build a map.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The dbSNP VCFs, bgzipped, gzipped or plain, read one after the other as one
    /// (NCBI's release in one file, or one file per chromosome). At least one.
    pub sources: Vec<PathBuf>,
    /// The map directory to create (or replace, if it holds a vcfq map).
    pub out: PathBuf,
    /// Merge history: NCBI's `refsnp-merged.json` (plain, `.gz` or `.bz2`), or a TSV
    /// `old_rs<TAB>current_rs`.
    pub merged: Option<PathBuf>,
    /// The build's memory, in bytes: the whole process (sort buffers, the chunks of source
    /// text in flight, the program itself) stays within it. Default 3 GiB; at least
    /// [`MIN_MEMORY_BYTES`].
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
            sources: vec![source.into()],
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
    /// Writing `rsids.fst` and `alleles.fst`, at once (progress in keys of both).
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
    /// Keys written in the current writing phase (while the two tables are written at
    /// once, rsIDs and allele keys together).
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

/// The longest line a source may hold; a longer one (a file without line ends, say) is
/// refused, so that memory stays bounded whatever the source is.
pub(crate) const MAX_LINE: usize = 4 << 20;
/// What a build uses besides the buffers the plan sizes: the program and its libraries
/// (13 MB), the I/O buffers and the decompressor, and the two `fst` builders writing at
/// once (their node registries take about 9 MB each).
const FIXED_BYTES: usize = 40 << 20;
/// The smallest memory budget a build accepts.
pub const MIN_MEMORY_BYTES: u64 = 64 << 20;

/// The smallest memory budget a build with `threads` parser threads stays within:
/// [`MIN_MEMORY_BYTES`], or more for many threads (each holds chunks and batches).
pub fn minimum_memory_bytes(threads: usize) -> u64 {
    let threads = threads.max(1);
    let smallest = FIXED_BYTES
        + (3 * threads + 1) * MIN_CHUNK_BYTES
        + MAX_LINE
        + threads * MIN_BATCH_RECORDS * RECORD_BYTES
        + inflate::memory_bytes(threads)
        + MIN_SORT_BYTES;
    MIN_MEMORY_BYTES.max(smallest as u64)
}

/// The smallest chunk of source text handed to a parser.
const MIN_CHUNK_BYTES: usize = 256 << 10;
/// The fewest records a parser gathers before handing them to the sorters.
const MIN_BATCH_RECORDS: usize = 1 << 10;
/// A parser's records per rsID and ALT: a locus record (16 bytes) and an allele record
/// (at most 64 with its key inline).
const RECORD_BYTES: usize = 16 + 64;
/// The smallest sort buffers a budget of at least [`minimum_memory_bytes`] leaves.
const MIN_SORT_BYTES: usize = 8 << 20;

/// How a build divides its memory budget, so that the whole process stays within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemoryPlan {
    /// Source text handed to a parser at a time.
    chunk_bytes: usize,
    /// Records a parser gathers before handing them to the sorters.
    batch_records: usize,
    /// The (rsID, locus) sorter's buffer.
    loci_bytes: usize,
    /// The (allele, rsID) sorter's buffer.
    allele_bytes: usize,
    /// How the run files are merged.
    merge: MergePlan,
}

impl MemoryPlan {
    /// The plan for `memory` bytes and `threads` parser threads. Below
    /// [`MIN_MEMORY_BYTES`] (which the command refuses) the buffers take their smallest
    /// sizes and the sorters spill early: the whole build then takes that minimum.
    pub(crate) fn new(memory: u64, threads: usize) -> MemoryPlan {
        let memory = usize::try_from(memory).unwrap_or(usize::MAX);
        let threads = threads.max(1);
        let available = memory.saturating_sub(FIXED_BYTES);
        // Chunks in flight: two queued per parser, one being parsed per parser, one being
        // filled (which may grow to hold the line that crosses its end): a 16th of it all.
        let in_flight = 3 * threads + 1;
        let chunk_bytes = (available / 16 / in_flight).clamp(MIN_CHUNK_BYTES, 8 << 20);
        let batch_records =
            (available / 32 / threads / RECORD_BYTES).clamp(MIN_BATCH_RECORDS, 1 << 16);
        // A BGZF source's blocks in flight between its inflating threads (one per parser).
        let pipeline = in_flight * chunk_bytes
            + MAX_LINE
            + threads * batch_records * RECORD_BYTES
            + inflate::memory_bytes(threads);
        let sort = available.saturating_sub(pipeline).max(8 << 10);
        // The runs are merged once reading is done and the chunks and sort buffers are
        // freed; the two tables are written at once, so each merge may take half.
        let fan_in = 64;
        let merge = MergePlan {
            fan_in,
            buffer_bytes: (sort / 2 / fan_in).clamp(64 << 10, 1 << 20),
        };
        // Locus records are small and fixed; most of the budget goes to allele records.
        let loci_bytes = sort / 3;
        MemoryPlan {
            chunk_bytes,
            batch_records,
            loci_bytes,
            allele_bytes: sort - loci_bytes,
            merge,
        }
    }
}

/// Builds a map as `options` say, reporting progress through `progress`.
pub fn build_map(
    options: &BuildOptions,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<BuildSummary, Error> {
    let started = Instant::now();
    let plan = MemoryPlan::new(options.memory_bytes, options.threads);
    let first_path = options
        .sources
        .first()
        .ok_or_else(|| Error::io("reading", io::Error::other("no dbSNP source given")))?;
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut source = Source::open(first_path, options.threads, &bytes_read)?;
    let source_header = std::mem::take(&mut source.header);
    let temporary = prepare_temporary_dir(&options.out)?;
    let runs_dir = temporary.path.join("runs");
    fs::create_dir(&runs_dir).map_err(|error| io_error("creating", &runs_dir, error))?;
    let sorted = read_and_sort(source, &runs_dir, options, plan, progress)?;
    let spilled_bytes = sorted.spilled_bytes;
    // Every byte read (compressed bytes of compressed sources), pipes included.
    let source_size = bytes_read.load(Ordering::Relaxed);
    let (mut counts, mut files) =
        write_tables(&temporary.path, sorted, options, source_size, progress)?;
    check_interrupt(options)?;
    let mut merged_seconds = 0.0;
    if let Some(merged) = &options.merged {
        progress(&BuildProgress {
            phase: BuildPhase::WritingMerged,
            rows_read: counts.rows_read,
            source_bytes_read: source_size,
            source_bytes_total: source_size,
            keys_written: 0,
        });
        let merge_started = Instant::now();
        let (info, resolved) = write_merged(&temporary.path, merged)?;
        files.insert(MERGED_FILE.to_string(), info);
        counts.merged = resolved;
        merged_seconds = merge_started.elapsed().as_secs_f64();
    }
    let _ = fs::remove_dir(&runs_dir);
    // A stop asked for during the last phase still leaves no map.
    check_interrupt(options)?;
    let metadata = MapMetadata {
        format: FORMAT_NAME.to_string(),
        format_version: FORMAT_VERSION,
        source: SourceInfo {
            path: absolute(first_path),
            paths: options.sources.iter().map(|path| absolute(path)).collect(),
            size: source_size,
            merged_path: options.merged.as_deref().map(absolute),
        },
        dbsnp_build: source_header.dbsnp_build,
        reference: source_header.reference,
        counts,
        contigs: Contig::all()
            .iter()
            .map(|contig| contig.name.to_string())
            .collect(),
        built_at_unix_seconds: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |age| age.as_secs()),
        build_seconds: started.elapsed().as_secs_f64(),
        merged_seconds,
        files,
    };
    let meta_bytes = write_metadata(&temporary.path, &metadata)?;
    let map_bytes = metadata.files.values().map(|file| file.size).sum::<u64>() + meta_bytes;
    check_interrupt(options)?;
    commit(temporary, &options.out)?;
    Ok(BuildSummary {
        metadata,
        map_bytes,
        spilled_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Writes the rsID and allele tables from the sorted records, at once, one thread each;
/// returns the counts (reading's, completed with the tables') and the files written.
fn write_tables(
    dir: &Path,
    sorted: SortedPairs,
    options: &BuildOptions,
    source_size: u64,
    progress: &mut dyn FnMut(&BuildProgress),
) -> Result<(MapCounts, BTreeMap<String, FileInfo>), Error> {
    let SortedPairs {
        loci,
        alleles,
        mut counts,
        ..
    } = sorted;
    let rows_read = counts.rows_read;
    let alleles_written = AtomicU64::new(0);
    let (rsids_result, alleles_result) = std::thread::scope(|scope| {
        let alleles_thread = scope.spawn(|| {
            write_alleles(dir, alleles, options, &mut |n| {
                alleles_written.store(n, Ordering::Relaxed)
            })
        });
        let rsids_result = write_rsids(dir, loci, options, &mut |n| {
            progress(&BuildProgress {
                phase: BuildPhase::WritingRsids,
                rows_read,
                source_bytes_read: source_size,
                source_bytes_total: source_size,
                keys_written: n + alleles_written.load(Ordering::Relaxed),
            })
        });
        let alleles_result = alleles_thread.join().unwrap_or_else(|_| {
            Err(Error::io(
                "writing alleles.fst",
                io::Error::other("the writer thread panicked"),
            ))
        });
        (rsids_result, alleles_result)
    });
    let (rsid_files, rsid_counts) = rsids_result?;
    let (allele_files, allele_counts) = alleles_result?;
    counts.rsids = rsid_counts.keys;
    counts.loci = rsid_counts.entries;
    counts.multi_locus_rsids = rsid_counts.multi_entry_keys;
    counts.rsid_buckets = rsid_counts.buckets;
    counts.allele_keys = allele_counts.keys;
    counts.allele_buckets = allele_counts.buckets;
    let files = BTreeMap::from([
        (RSIDS_FILE.to_string(), rsid_files.fst),
        (RSIDS_TABLE.to_string(), rsid_files.table),
        (ALLELES_FILE.to_string(), allele_files.fst),
        (ALLELES_TABLE.to_string(), allele_files.table),
    ]);
    Ok((counts, files))
}

/// A path as `meta.json` records it: absolute when it can be.
fn absolute(path: &Path) -> String {
    fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Writes `meta.json` (last: a map without it does not open); returns its size.
fn write_metadata(dir: &Path, metadata: &MapMetadata) -> Result<u64, Error> {
    let meta_path = dir.join(META_FILE);
    let mut meta_text = serde_json::to_vec_pretty(metadata)
        .map_err(|error| Error::io("writing meta.json", io::Error::other(error)))?;
    meta_text.push(b'\n');
    let mut meta_file =
        File::create(&meta_path).map_err(|error| io_error("creating", &meta_path, error))?;
    meta_file
        .write_all(&meta_text)
        .and_then(|()| meta_file.sync_all())
        .map_err(|error| io_error("writing", &meta_path, error))?;
    Ok(meta_text.len() as u64)
}

/// Creates `.<name>.building-<pid>` beside `out` (same file system, so that the final
/// swap is atomic), after removing what killed builds of the same `out` left there.
/// Refuses an `out` that exists and is neither empty nor a vcfq map.
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
    sweep_stale_builds(parent, &name);
    let path = parent.join(format!(".{name}.building-{}", std::process::id()));
    let _ = fs::remove_dir_all(&path);
    fs::create_dir(&path).map_err(|error| io_error("creating", &path, error))?;
    Ok(TemporaryDir { path, keep: false })
}

/// Removes the `.<name>.building-<pid>` (and, from earlier vcfq versions,
/// `.<name>.old-<pid>`) directories in `parent` whose process is gone: what builds
/// killed before they could clean up left.
fn sweep_stale_builds(parent: &Path, name: &str) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|text| text.strip_prefix(&prefix))
        else {
            continue;
        };
        let pid = rest
            .strip_prefix("building-")
            .or_else(|| rest.strip_prefix("old-"))
            .and_then(|pid| pid.parse::<libc::pid_t>().ok());
        if pid.is_some_and(|pid| !crate::files::process_alive(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Puts the finished directory at `out`. An existing map is swapped with it in one
/// atomic step (`renameat2` with `RENAME_EXCHANGE`), so `out` always holds a whole map,
/// the old one or the new one, whenever the process is killed; the old map, now at the
/// temporary name, is then removed. Where the file system cannot exchange, the old map is
/// moved aside first (a crash between the two renames leaves no map at `out`).
fn commit(mut temporary: TemporaryDir, out: &Path) -> Result<(), Error> {
    if let Ok(dir) = File::open(&temporary.path) {
        let _ = dir.sync_all();
    }
    if out.exists() {
        match exchange(&temporary.path, out) {
            Ok(()) => {
                // The temporary name now holds the old map: dropping `temporary` removes it.
                sync_parent(out);
                return Ok(());
            }
            Err(error)
                if matches!(
                    error.raw_os_error(),
                    Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP)
                ) =>
            {
                let old = out.with_file_name(format!(
                    ".{}.old-{}",
                    out.file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    std::process::id()
                ));
                fs::rename(out, &old)
                    .map_err(|error| io_error("moving aside the old map", out, error))?;
                if let Err(error) = fs::rename(&temporary.path, out) {
                    let _ = fs::rename(&old, out);
                    return Err(io_error("renaming the new map into", out, error));
                }
                temporary.keep = true;
                let _ = fs::remove_dir_all(&old);
                sync_parent(out);
                return Ok(());
            }
            Err(error) => return Err(io_error("swapping the new map into", out, error)),
        }
    }
    fs::rename(&temporary.path, out)
        .map_err(|error| io_error("renaming the new map into", out, error))?;
    temporary.keep = true;
    sync_parent(out);
    Ok(())
}

/// Swaps the directory entries `a` and `b` atomically.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| {
        std::ffi::CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
    };
    let (a, b) = (c_path(a)?, c_path(b)?);
    // SAFETY: two NUL-terminated paths, resolved from the working directory (AT_FDCWD);
    // renameat2 only reads them.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes a rename in `path`'s directory durable (best effort).
fn sync_parent(path: &Path) {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
    }
}

fn check_interrupt(options: &BuildOptions) -> Result<(), Error> {
    if options.interrupted.load(Ordering::Relaxed) {
        return Err(ErrorKind::Interrupted.into());
    }
    Ok(())
}
