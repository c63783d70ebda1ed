//! Writing the map's files from the sorted records: the rsID table, the allele table,
//! the merge history, each an `fst` of bucket keys beside a file of buckets, each file's
//! size and CRC-32 kept for `meta.json`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::{check_interrupt, io_error, BuildOptions};
use crate::dbsnp::format::{
    allele_bucket_key, encode_allele_entry, encode_rsid_entry, rsid_bucket_key, rsid_loci,
    write_bucket, TABLE_MAGIC,
};
use crate::dbsnp::sort::{AlleleRecord, SortedRecords};
use crate::dbsnp::{
    rsid_key, FileInfo, ALLELES_FILE, ALLELES_TABLE, MERGED_FILE, RSIDS_FILE, RSIDS_TABLE,
};
use crate::error::Error;

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

    /// Writes the last bucket and closes both files.
    fn finish(mut self) -> Result<(TableFiles, u64), Error> {
        self.flush()?;
        let fst = self
            .builder
            .into_inner()
            .map_err(|error| fst_error(&self.fst_path, error))?
            .finish(&self.fst_path)?;
        let table = self.table.finish(&self.table_path)?;
        Ok((TableFiles { fst, table }, self.buckets))
    }
}

/// The two files of a table, as `meta.json` records them.
pub(super) struct TableFiles {
    /// The `fst` of bucket keys.
    pub(super) fst: FileInfo,
    /// The file of buckets.
    pub(super) table: FileInfo,
}

/// What a table holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct TableCounts {
    /// Distinct keys (rsIDs, or allele keys).
    pub(super) keys: u64,
    /// Entries (an rsID's loci; an allele key's rsIDs).
    pub(super) entries: u64,
    /// Keys with more than one entry.
    pub(super) multi_entry_keys: u64,
    /// Buckets written.
    pub(super) buckets: u64,
}

/// Writes `rsids.fst` and `rsids.bin` from the (rsID, locus) records.
pub(super) fn write_rsids(
    dir: &Path,
    mut records: SortedRecords<u128>,
    options: &BuildOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(TableFiles, TableCounts), Error> {
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
    let (files, buckets) = writer.finish()?;
    let counts = TableCounts {
        keys: rsids,
        entries: loci,
        multi_entry_keys: multi,
        buckets,
    };
    Ok((files, counts))
}

/// Writes `alleles.fst` and `alleles.bin` from the (allele key, rsID) records.
pub(super) fn write_alleles(
    dir: &Path,
    mut records: SortedRecords<AlleleRecord>,
    options: &BuildOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(TableFiles, TableCounts), Error> {
    let mut writer = TableWriter::create(dir, ALLELES_FILE, ALLELES_TABLE)?;
    let (mut keys, mut entries) = (0u64, 0u64);
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
        entries += 1;
        encode_allele_entry(
            writer.bucket(&allele_bucket_key(ordinal, position))?,
            position,
            reference,
            alternate,
            record.rs,
        );
        previous = Some(record);
    }
    let (files, buckets) = writer.finish()?;
    let counts = TableCounts {
        keys,
        entries,
        multi_entry_keys: 0,
        buckets,
    };
    Ok((files, counts))
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

/// Reads the bucket body at `offset` of the rsID table into `body` (its varint length,
/// then the body); `false` when the table ends first.
fn read_bucket(table: &File, offset: u64, body: &mut Vec<u8>) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; 10];
    let got = table.read_at(&mut head, offset)?;
    let mut at = 0;
    let Some(length) = crate::dbsnp::format::read_varint(&head[..got], &mut at) else {
        return Ok(false);
    };
    body.resize(length, 0);
    table
        .read_exact_at(body, offset + at as u64)
        .map(|()| true)
        .or_else(|error| {
            if error.kind() == io::ErrorKind::UnexpectedEof {
                Ok(false)
            } else {
                Err(error)
            }
        })
}

/// Reads merge history (`merged.rs`: NCBI's `refsnp-merged.json` or a TSV), follows
/// chains to an rsID the map holds, and writes `merged.fst`.
pub(super) fn write_merged(dir: &Path, merged: &Path) -> Result<(FileInfo, u64), Error> {
    let merges = super::merged::read_merges(merged)?;
    let map_file = |name: &str| -> Result<Mmap, Error> {
        let path = dir.join(name);
        let file = File::open(&path).map_err(|error| io_error("opening", &path, error))?;
        // SAFETY: the mapping is read-only, and the file lies in this build's own
        // temporary directory, which nothing else writes to. If another process truncated
        // it anyway, reading the lost pages would raise SIGBUS: a risk mmap always has.
        unsafe { Mmap::map(&file) }.map_err(|error| io_error("mapping", &path, error))
    };
    let rsids = fst::Map::new(map_file(RSIDS_FILE)?)
        .map_err(|error| fst_error(&dir.join(RSIDS_FILE), error))?;
    // The rsID table is read with pread, not mapped: its pages then stay in the page
    // cache instead of adding to the build's RSS (the table is most of the map), and the
    // lookups go in rs order, so that reads follow the table's own order.
    let table_path = dir.join(RSIDS_TABLE);
    let table = File::open(&table_path).map_err(|error| io_error("opening", &table_path, error))?;
    let mut candidates: Vec<u64> = merges
        .iter()
        .flat_map(|(&old, &current)| [old, current])
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut bucket = Vec::new();
    // The bucket in `bucket` (candidates in rs order share buckets: each is read once).
    let mut bucket_at: Option<(u64, bool)> = None;
    let mut current_rsids: Vec<u64> = Vec::new();
    for &rs in &candidates {
        let Some(offset) = rsids.get(rsid_bucket_key(rs)) else {
            continue;
        };
        let whole = match bucket_at {
            Some((at, whole)) if at == offset => whole,
            _ => {
                let whole = read_bucket(&table, offset, &mut bucket)
                    .map_err(|error| io_error("reading", &table_path, error))?;
                bucket_at = Some((offset, whole));
                whole
            }
        };
        if whole && rsid_loci(&bucket, rs).is_some_and(|mut loci| loci.next().is_some()) {
            current_rsids.push(rs);
        }
    }
    drop(candidates);
    let is_current = |rs: u64| current_rsids.binary_search(&rs).is_ok();
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
