//! The position index (`VCF.vcfqidx`, written by `vcfq index` and `vcfq sample add`) and
//! the block reader that answers from it without htslib.
//!
//! A tabix index must be parsed whole before the first query (25 ms for a genome-wide
//! file) and points a query at the start of a 16 kb window, often one block before the
//! records wanted. The position index is memory-mapped (opening costs microseconds) and
//! says, for every BGZF block and every sequence with a line starting in it, and at
//! checkpoints every 4 KiB of inflated data within a block, the POS and offset of the
//! first line starting there and the CRC-32 of the block's inflated bytes before it.
//!
//! A query reads from the last entry before its window, one block for nearly every point
//! query, and scans at most 4 KiB of lines to reach it. When a later checkpoint of the
//! same block starts past the window, only the block's bytes before that checkpoint are
//! inflated (half a block on average instead of all of it) and checked against the
//! checkpoint's CRC-32, so every byte vcfq reads is checked as htslib checks whole blocks;
//! a window that reaches a block's end inflates the whole block and checks the block's own
//! CRC-32. The tabix index stays the source of truth: the position index is used only
//! when it matches the VCF's size, modification and change times to the nanosecond and
//! inode, and its own checksum, and vcfq falls back to tabix otherwise.
//!
//! Layout (little-endian): magic `VCFQPIX2`; the VCF's identity (40 bytes: size, mtime,
//! ctime, inode; see `identity`); header length (u64) and the header text; sequence
//! count (u32), then per sequence its name length (u16), name, first entry (u32), entry
//! count (u32) and the CRC-32 of its entries (u32); zero padding to 8 bytes; entries of
//! 20 bytes: block offset (u64), POS of the first line (u32), that line's offset in the
//! inflated block (u16), block size - 1 (u16), CRC-32 of the inflated block before that
//! line (u32); a CRC-32 of everything before the entries (u32).
//!
//! Opening checks everything but the entries (microseconds: no page of entries is read);
//! a sequence's entries are checked against their CRC-32 the first time a query reads
//! that sequence (a few to a few hundred kilobytes), once per opened index.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::ops::Range;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

/// The file name suffix: `sample.vcf.gz` -> `sample.vcf.gz.vcfqidx`.
pub const SUFFIX: &str = ".vcfqidx";
const MAGIC: &[u8; 8] = b"VCFQPIX2";
/// Position indexes of earlier vcfq versions, recognised to say so.
const OLDER_MAGIC: [&[u8; 8]; 1] = [b"VCFQPIX1"];
const ENTRY_SIZE: usize = 20;
/// A BGZF block holds at most 64 KiB, compressed or not.
const MAX_BLOCK: usize = 65536;
/// Inflated bytes between entries within a block (16 per full block).
const CHECKPOINT: usize = 4 * 1024;
/// The longest DEFLATE match: inflating into a buffer `MAX_MATCH` bytes longer than the
/// bytes wanted, libdeflate writes at least the bytes wanted before it runs out of space
/// (unless a stored block starts earlier: then the checkpoint's CRC-32 does not match
/// and the whole block is inflated instead).
const MAX_MATCH: usize = 258;

/// Where the position index of `vcf` lives.
pub fn index_path(vcf: &Path) -> PathBuf {
    let mut name = vcf.as_os_str().to_os_string();
    name.push(SUFFIX);
    PathBuf::from(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    block: u64,
    first_position: u32,
    line_offset: u16,
    block_size: u32,
    /// CRC-32 of the inflated block's bytes before `line_offset`.
    prefix_crc: u32,
}

/// One sequence (CHROM) of the index.
struct Sequence {
    name: Vec<u8>,
    /// Its entries.
    entries: Range<usize>,
    /// The CRC-32 of its entries' bytes.
    crc: u32,
    /// Whether the entries match `crc`, once checked.
    checked: std::sync::OnceLock<bool>,
}

/// One memory-mapped position index.
pub(crate) struct PositionIndex {
    map: Mmap,
    header: Range<usize>,
    sequences: Vec<Sequence>,
    entries: usize,
    path: PathBuf,
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// The VCF's identity as the index records it (40 bytes): size, modification time
/// (seconds, nanoseconds), change time (nanoseconds, seconds) and inode. Any write to the
/// file or replacement of it changes the change time.
fn identity(metadata: &std::fs::Metadata) -> [u8; 40] {
    let mut bytes = [0u8; 40];
    bytes[0..8].copy_from_slice(&metadata.len().to_le_bytes());
    bytes[8..16].copy_from_slice(&metadata.mtime().to_le_bytes());
    bytes[16..20].copy_from_slice(&(metadata.mtime_nsec() as u32).to_le_bytes());
    bytes[20..24].copy_from_slice(&(metadata.ctime_nsec() as u32).to_le_bytes());
    bytes[24..32].copy_from_slice(&metadata.ctime().to_le_bytes());
    bytes[32..40].copy_from_slice(&metadata.ino().to_le_bytes());
    bytes
}

impl PositionIndex {
    /// Opens the position index of `vcf` if there is one that matches it. `Ok(None)`
    /// when there is none or it belongs to another version of the file; `Err` when it is
    /// damaged (the caller falls back to tabix either way).
    pub(crate) fn open(
        vcf: &Path,
        vcf_metadata: &std::fs::Metadata,
    ) -> Result<Option<PositionIndex>, String> {
        let path = index_path(vcf);
        let file = match crate::files::open_regular(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(format!("cannot open {}: {error}", path.display())),
        };
        // SAFETY: the map is read-only; vcfq writes index files under a temporary name
        // and renames them into place, so a mapped file is never rewritten in place.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|error| format!("cannot map {}: {error}", path.display()))?;
        let damaged = || {
            format!(
                "{} is damaged; rebuild it with `vcfq index`",
                path.display()
            )
        };
        let bytes = &map[..];
        if bytes.len() >= 8 && OLDER_MAGIC.iter().any(|magic| bytes[..8] == magic[..]) {
            return Err(format!(
                "{} was written by an earlier vcfq; rebuild it with `vcfq index`",
                path.display()
            ));
        }
        if bytes.len() < 64 || &bytes[..8] != MAGIC {
            return Err(damaged());
        }
        let body = bytes.len() - 4;
        let parse = || -> Option<(Range<usize>, Vec<Sequence>, usize)> {
            let header_length = usize::try_from(read_u64(bytes, 48)?).ok()?;
            let header = 56..56usize.checked_add(header_length)?;
            let mut at = header.end;
            let count = read_u32(bytes, at)? as usize;
            at += 4;
            let mut sequences = Vec::with_capacity(count.min(4096));
            for _ in 0..count {
                let length = usize::from(read_u16(bytes, at)?);
                let name = bytes.get(at + 2..at + 2 + length)?.to_vec();
                at += 2 + length;
                let first = read_u32(bytes, at)? as usize;
                let entries = read_u32(bytes, at + 4)? as usize;
                let crc = read_u32(bytes, at + 8)?;
                at += 12;
                sequences.push(Sequence {
                    name,
                    entries: first..first.checked_add(entries)?,
                    crc,
                    checked: std::sync::OnceLock::new(),
                });
            }
            let entries = at.next_multiple_of(8);
            let total = (body.checked_sub(entries)?) / ENTRY_SIZE;
            // The sequences' entries, in order, are all the entries: each entry is
            // covered by one sequence's CRC-32.
            let mut next = 0;
            for sequence in &sequences {
                if sequence.entries.start != next {
                    return None;
                }
                next = sequence.entries.end;
            }
            if (body - entries) % ENTRY_SIZE != 0 || next != total {
                return None;
            }
            (read_u32(bytes, body)? == libdeflater::crc32(&bytes[..entries]))
                .then_some((header, sequences, entries))
        };
        let (header, sequences, entries) = parse().ok_or_else(damaged)?;
        if bytes[8..48] != identity(vcf_metadata) {
            return Ok(None);
        }
        Ok(Some(PositionIndex {
            map,
            header,
            sequences,
            entries,
            path,
        }))
    }

    pub(crate) fn header(&self) -> &[u8] {
        &self.map[self.header.clone()]
    }

    /// Sequence names in file order (their position is the sequence id).
    pub(crate) fn sequence_names(&self) -> impl Iterator<Item = &[u8]> {
        self.sequences
            .iter()
            .map(|sequence| sequence.name.as_slice())
    }

    /// Checks every sequence's entries (as queries check each sequence's when they
    /// first read it), for `vcfq sample check`.
    pub(crate) fn check_entries(&self) -> Result<(), String> {
        (0..self.sequences.len()).try_for_each(|id| self.entries_of(id).map(|_| ()))
    }

    /// The entries of sequence `id`, checked against their CRC-32 the first time.
    fn entries_of(&self, id: usize) -> Result<Range<usize>, String> {
        let Some(sequence) = self.sequences.get(id) else {
            return Ok(0..0);
        };
        let range = sequence.entries.clone();
        let intact = *sequence.checked.get_or_init(|| {
            let bytes = self.map.get(
                self.entries + range.start * ENTRY_SIZE..self.entries + range.end * ENTRY_SIZE,
            );
            bytes.is_some_and(|bytes| libdeflater::crc32(bytes) == sequence.crc)
        });
        if !intact {
            return Err(format!(
                "the position index {} is damaged; rebuild it with `vcfq index` (or delete it: tabix answers then)",
                self.path.display()
            ));
        }
        Ok(range)
    }

    fn entry(&self, index: usize) -> Entry {
        let at = self.entries + index * ENTRY_SIZE;
        let bytes = &self.map[at..at + ENTRY_SIZE];
        Entry {
            block: u64::from_le_bytes(bytes[0..8].try_into().unwrap_or_default()),
            first_position: u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default()),
            line_offset: u16::from_le_bytes(bytes[12..14].try_into().unwrap_or_default()),
            block_size: u32::from(u16::from_le_bytes(
                bytes[14..16].try_into().unwrap_or_default(),
            )) + 1,
            prefix_crc: u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default()),
        }
    }

    /// Where to start reading sequence `id` for records with `start <= POS <= end`: the
    /// last entry whose first line starts before `start` (records at `start` may begin
    /// there), or the sequence's first line; and, when a later entry of the same block
    /// starts past `end`, that entry (its line and every later one are past the window).
    fn window(
        &self,
        id: usize,
        start: u64,
        end: u64,
    ) -> Result<Option<(Entry, Option<Entry>)>, String> {
        let range = self.entries_of(id)?;
        if range.is_empty() {
            return Ok(None);
        }
        let (mut low, mut high) = (range.start, range.end);
        while low < high {
            let middle = low + (high - low) / 2;
            if u64::from(self.entry(middle).first_position) < start {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        let first = if low > range.start {
            low - 1
        } else {
            range.start
        };
        let entry = self.entry(first);
        let stop = (first + 1..range.end)
            .map(|index| self.entry(index))
            .take_while(|later| later.block == entry.block)
            .find(|later| u64::from(later.first_position) > end);
        Ok(Some((entry, stop)))
    }
}

/// Opens the position index of `vcf` if it matches the file; otherwise says why one that
/// exists is not used (`None` when there is none).
pub(crate) fn open_or_explain(
    vcf: &Path,
    metadata: &std::fs::Metadata,
) -> Result<PositionIndex, Option<String>> {
    match PositionIndex::open(vcf, metadata) {
        Ok(Some(index)) => Ok(index),
        Ok(None) if index_path(vcf).exists() => Err(Some(format!(
            "the position index {} does not match the VCF (the VCF changed after it was written, or it is another copy's), so queries load the tabix index; rebuild it with `vcfq index`",
            index_path(vcf).display()
        ))),
        Ok(None) => Err(None),
        Err(message) => Err(Some(format!(
            "{message}; queries load the tabix index until then"
        ))),
    }
}

/// Reads one BGZF block at `offset` of `file` into `data`, inflated and checked: with
/// `prefix` (a line offset in the block and the CRC-32 of the bytes before it) only those
/// bytes when it can, else the whole block. Returns the block's total size and whether
/// `data` holds the whole block, or `None` at the end of the file.
#[allow(clippy::too_many_arguments)]
fn read_block(
    file: &File,
    file_size: u64,
    offset: u64,
    size_hint: Option<usize>,
    prefix: Option<(usize, u32)>,
    compressed: &mut Vec<u8>,
    data: &mut Vec<u8>,
    decompressor: &mut libdeflater::Decompressor,
) -> Result<Option<(usize, bool)>, String> {
    const CORRUPT: &str = "reading a record failed: the compressed data is truncated or corrupt";
    if offset >= file_size {
        return Ok(None);
    }
    // With the size known (from the position index) one read takes the whole block;
    // otherwise the header says how much follows.
    let hinted = size_hint.filter(|&size| (26..=MAX_BLOCK).contains(&size));
    compressed.resize(hinted.unwrap_or(18), 0);
    file.read_exact_at(compressed, offset)
        .map_err(|_| CORRUPT.to_string())?;
    if compressed[..4] != [0x1f, 0x8b, 8, 4] || compressed[12..14] != *b"BC" {
        return Err(CORRUPT.to_string());
    }
    let size = usize::from(u16::from_le_bytes([compressed[16], compressed[17]])) + 1;
    if size < 26 || hinted.is_some_and(|hinted| hinted != size) {
        return Err(CORRUPT.to_string());
    }
    if hinted.is_none() {
        compressed.resize(size, 0);
        file.read_exact_at(&mut compressed[18..], offset + 18)
            .map_err(|_| CORRUPT.to_string())?;
    }
    if let Some((length, crc)) = prefix {
        if inflate_prefix(compressed, length, crc, data, decompressor) {
            return Ok(Some((size, false)));
        }
    }
    inflate_block(compressed, data, decompressor).ok_or_else(|| CORRUPT.to_string())?;
    Ok(Some((size, true)))
}

/// A reader over one VCF through its position index. Like `TabixReader`, used by one
/// thread at a time; unlike it, it shares the (mapped) index with every other reader.
pub(crate) struct BlockReader {
    index: Arc<PositionIndex>,
    file: File,
    file_size: u64,
    compressed: Vec<u8>,
    data: Vec<u8>,
    decompressor: libdeflater::Decompressor,
    /// Next unread byte of `data`.
    cursor: usize,
    /// The next block's offset.
    next_block: u64,
    /// The offset of the block in `data`, if checked.
    loaded: Option<u64>,
    /// Whether `data` holds all of that block, or only the bytes before a line past the
    /// current window.
    whole: bool,
    /// A line that started in an earlier block, while it is being read.
    carry: Vec<u8>,
    /// The last line that spanned blocks, once whole.
    current: Vec<u8>,
    /// The fetch's sequence and first and last POS; `None` when no fetch is active.
    window: Option<(usize, u64, u64)>,
}

impl BlockReader {
    pub(crate) fn open(vcf: &Path, index: Arc<PositionIndex>) -> Result<BlockReader, String> {
        let file = crate::files::open_regular(vcf)
            .map_err(|error| format!("cannot open the file: {error}"))?;
        let file_size = file
            .metadata()
            .map_err(|error| format!("cannot read the file: {error}"))?
            .len();
        Ok(BlockReader {
            index,
            file,
            file_size,
            compressed: Vec::with_capacity(MAX_BLOCK),
            data: Vec::with_capacity(MAX_BLOCK),
            decompressor: libdeflater::Decompressor::new(),
            cursor: 0,
            next_block: 0,
            loaded: None,
            whole: false,
            carry: Vec::new(),
            current: Vec::new(),
            window: None,
        })
    }

    /// Positions the reader before the records of sequence `id` with `start <= POS`;
    /// lines follow until one has `POS > end` or another sequence begins.
    pub(crate) fn fetch(&mut self, id: usize, start: u64, end: u64) -> Result<(), String> {
        self.window = None;
        self.carry.clear();
        let Some((entry, stop)) = self.index.window(id, start, end)? else {
            return Ok(());
        };
        let prefix = stop.map(|stop| (usize::from(stop.line_offset), stop.prefix_crc));
        // Loci of one rsID query often share a block: keep the one already inflated if
        // it holds enough of it.
        let enough = self.whole || prefix.is_some_and(|(length, _)| length <= self.data.len());
        if self.loaded != Some(entry.block) || !enough {
            self.load(entry.block, Some(entry.block_size as usize), prefix)?;
        }
        if usize::from(entry.line_offset) > self.data.len() {
            return Err("the position index does not match the file".to_string());
        }
        self.cursor = usize::from(entry.line_offset);
        self.window = Some((id, start, end));
        Ok(())
    }

    fn load(
        &mut self,
        offset: u64,
        size_hint: Option<usize>,
        prefix: Option<(usize, u32)>,
    ) -> Result<bool, String> {
        self.loaded = None;
        match read_block(
            &self.file,
            self.file_size,
            offset,
            size_hint,
            prefix,
            &mut self.compressed,
            &mut self.data,
            &mut self.decompressor,
        )? {
            Some((size, whole)) => {
                self.next_block = offset + size as u64;
                self.cursor = 0;
                self.loaded = Some(offset);
                self.whole = whole;
                Ok(true)
            }
            None => {
                self.data.clear();
                self.cursor = 0;
                self.loaded = None;
                Ok(false)
            }
        }
    }

    /// The next line of the fetch (without `\n` or `\r\n`); `None` past its end.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        loop {
            let Some((id, start, end)) = self.window else {
                return Ok(None);
            };
            let Some(found) = self.next_raw_line()? else {
                self.window = None;
                return Ok(None);
            };
            let line = match &found {
                Some(range) => &self.data[range.clone()],
                None => &self.current[..],
            };
            // Stop at the next sequence or past the window; skip lines before it. A
            // line without a readable POS goes to the caller, which reports it.
            let name = self
                .index
                .sequences
                .get(id)
                .map_or(&[][..], |sequence| sequence.name.as_slice());
            let same_sequence = line.get(name.len()) == Some(&b'\t') && line.starts_with(name);
            let position = if same_sequence {
                let rest = &line[name.len() + 1..];
                let digits = rest.iter().position(|&b| b == b'\t').unwrap_or(rest.len());
                parse_u64(&rest[..digits])
            } else {
                None
            };
            if !same_sequence || position.is_some_and(|position| position > end) {
                self.window = None;
                return Ok(None);
            }
            if position.is_some_and(|position| position < start) {
                continue;
            }
            let line = match found {
                Some(range) => &self.data[range],
                None => &self.current[..],
            };
            return Ok(Some(line.strip_suffix(b"\r").unwrap_or(line)));
        }
    }

    /// The next whole line: `Some(range)` of `data`, or `None` for `current` (a line that
    /// spanned blocks); `Ok(None)` at the end of the file.
    #[allow(clippy::option_option)]
    fn next_raw_line(&mut self) -> Result<Option<Option<Range<usize>>>, String> {
        loop {
            if let Some(newline) = memchr(&self.data[self.cursor..]) {
                let line = self.cursor..self.cursor + newline;
                self.cursor += newline + 1;
                if self.carry.is_empty() {
                    return Ok(Some(Some(line)));
                }
                self.carry.extend_from_slice(&self.data[line]);
                break;
            }
            if !self.whole {
                // The bytes inflated end where a line past the window starts.
                self.cursor = self.data.len();
                return Ok(None);
            }
            self.carry.extend_from_slice(&self.data[self.cursor..]);
            self.cursor = self.data.len();
            if !self.load(self.next_block, None, None)? {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                break;
            }
        }
        std::mem::swap(&mut self.carry, &mut self.current);
        self.carry.clear();
        Ok(Some(None))
    }
}

/// ASCII digits as a number (no sign, no spaces), as POS is written.
fn parse_u64(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 19 {
        return None;
    }
    text.iter().try_fold(0u64, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u64::from(byte - b'0'))
    })
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// Inflates the first `length` bytes of the BGZF block in `compressed` (whole, header
/// included) into `data` and checks them against `crc`. `false` when it cannot (the block
/// is not much longer, a stored DEFLATE block comes first, damaged data): the caller then
/// inflates the whole block, which says whether the block is damaged.
fn inflate_prefix(
    compressed: &[u8],
    length: usize,
    crc: u32,
    data: &mut Vec<u8>,
    decompressor: &mut libdeflater::Decompressor,
) -> bool {
    let Some(trailer) = compressed.len().checked_sub(8) else {
        return false;
    };
    let inflated = compressed
        .get(trailer + 4..)
        .and_then(|bytes| bytes.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let Some(deflated) = compressed.get(18..trailer) else {
        return false;
    };
    if length + MAX_MATCH >= inflated as usize {
        return false;
    }
    data.resize(length + MAX_MATCH, 0);
    match decompressor.deflate_decompress(deflated, data) {
        Err(libdeflater::DecompressionError::InsufficientSpace)
            if libdeflater::crc32(&data[..length]) == crc =>
        {
            data.truncate(length);
            true
        }
        _ => false,
    }
}

/// Inflates the BGZF block in `compressed` (whole, header included) into `data` and
/// checks its CRC-32 and size.
fn inflate_block(
    compressed: &[u8],
    data: &mut Vec<u8>,
    decompressor: &mut libdeflater::Decompressor,
) -> Option<()> {
    let trailer = compressed.len().checked_sub(8)?;
    let crc = u32::from_le_bytes(compressed.get(trailer..trailer + 4)?.try_into().ok()?);
    let inflated = usize::try_from(u32::from_le_bytes(
        compressed.get(trailer + 4..)?.try_into().ok()?,
    ))
    .ok()?;
    if inflated > MAX_BLOCK {
        return None;
    }
    data.resize(inflated, 0);
    let written = decompressor
        .deflate_decompress(compressed.get(18..trailer)?, data)
        .ok()?;
    (written == inflated && libdeflater::crc32(data) == crc).then_some(())
}

/// What `build` indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSummary {
    pub path: PathBuf,
    pub records: u64,
    pub blocks: u64,
    pub entries: u64,
    pub bytes: u64,
}

/// Where the line being read started: block offset, block size, offset in the block.
type LineStart = (u64, u32, u16);

struct Builder {
    header: Vec<u8>,
    in_header: bool,
    sequences: Vec<(Vec<u8>, usize)>,
    entries: Vec<Entry>,
    last_position: u64,
    records: u64,
}

impl Builder {
    /// Takes one line; `Ok(Some(entry))` when it starts an entry, whose `prefix_crc` the
    /// caller fills in.
    fn line(&mut self, line: &[u8], start: LineStart) -> Result<Option<&mut Entry>, String> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.in_header {
            if line.first() == Some(&b'#') {
                self.header.extend_from_slice(line);
                self.header.push(b'\n');
                return Ok(None);
            }
            self.in_header = false;
        }
        self.records += 1;
        let record = self.records;
        // htslib skips lines too short to index (it needs REF for a record's end), so
        // tabix never returns them; a position index must not either. A VCF record has 8.
        if memchr::memchr_iter(b'\t', line).take(7).count() < 7 {
            return Err(format!(
                "record {record} has fewer than 8 tab-separated columns: it is not a valid VCF record"
            ));
        }
        // htslib's tabix reads a NUL byte as a column break (it cuts a CHROM there, and
        // shifts REF and INFO, which set a record's end), so it files such a line
        // elsewhere or not at all; the two indexes must agree.
        if memchr::memchr(0, line).is_some() {
            return Err(format!(
                "record {record} contains a NUL byte: it is not a valid VCF record"
            ));
        }
        let mut columns = line.splitn(3, |&b| b == b'\t');
        let name = columns.next().unwrap_or_default();
        // POS as the reader parses it: ASCII digits only (no sign, no spaces).
        // A leading zero is refused: htslib reads such a POS as octal, so the tabix index
        // would place the record elsewhere, and the two indexes must agree.
        let position = columns
            .next()
            .filter(|text| text.len() == 1 || !text.starts_with(b"0"))
            .and_then(parse_u64)
            .and_then(|position| u32::try_from(position).ok())
            .filter(|_| !name.is_empty() && !name.starts_with(b"#"))
            .ok_or_else(|| {
                format!("record {record} has no valid CHROM and POS (an empty, comment or malformed line)")
            })?;
        let new_sequence = self.sequences.last().is_none_or(|(last, _)| last != name);
        if new_sequence {
            if self.sequences.iter().any(|(seen, _)| seen == name) {
                return Err(format!(
                    "the records of {} are not together (record {record}): the VCF is not sorted; sort it with `bcftools sort`",
                    String::from_utf8_lossy(name)
                ));
            }
            self.sequences.push((name.to_vec(), self.entries.len()));
        } else if u64::from(position) < self.last_position {
            return Err(format!(
                "record {record} ({}:{position}) comes after POS {}: the VCF is not sorted; sort it with `bcftools sort`",
                String::from_utf8_lossy(name),
                self.last_position
            ));
        }
        self.last_position = u64::from(position);
        let (block, block_size, line_offset) = start;
        // An entry per block, and a checkpoint every CHECKPOINT bytes within it, so that a
        // query scans at most that much of a block to reach its first line.
        let due = self.entries.last().is_none_or(|last| {
            last.block != block || usize::from(line_offset - last.line_offset) >= CHECKPOINT
        });
        if !(new_sequence || due) {
            return Ok(None);
        }
        self.entries.push(Entry {
            block,
            first_position: position,
            line_offset,
            block_size,
            prefix_crc: 0,
        });
        Ok(self.entries.last_mut())
    }
}

/// Writes the position index of the bgzipped VCF `vcf` next to it (under a temporary
/// name, then renamed into place). Reads and checks every block.
pub fn build(vcf: &Path) -> Result<IndexSummary, String> {
    let before = std::fs::metadata(vcf).map_err(|error| format!("cannot read it: {error}"))?;
    let file = File::open(vcf).map_err(|error| format!("cannot open it: {error}"))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut decompressor = libdeflater::Decompressor::new();
    let (mut compressed, mut data) = (Vec::with_capacity(MAX_BLOCK), Vec::with_capacity(MAX_BLOCK));
    let mut builder = Builder {
        header: Vec::new(),
        in_header: true,
        sequences: Vec::new(),
        entries: Vec::new(),
        last_position: 0,
        records: 0,
    };
    let mut partial: Vec<u8> = Vec::new();
    // Where the line in `partial` started, and the CRC-32 of its block before it.
    let mut partial_start: Option<(LineStart, u32)> = None;
    let (mut offset, mut blocks) = (0u64, 0u64);
    loop {
        let corrupt = || {
            format!("the compressed data is truncated or corrupt at byte {offset}; it is not a whole bgzipped (BGZF) file")
        };
        let mut head = [0u8; 18];
        match input.read(&mut head[..1]) {
            Ok(0) => break,
            Ok(_) => input.read_exact(&mut head[1..]).map_err(|_| corrupt())?,
            Err(error) => return Err(format!("cannot read it: {error}")),
        }
        if head[..4] != [0x1f, 0x8b, 8, 4] || head[12..14] != *b"BC" {
            return Err(corrupt());
        }
        let size = usize::from(u16::from_le_bytes([head[16], head[17]])) + 1;
        if size < 26 {
            return Err(corrupt());
        }
        compressed.resize(size, 0);
        compressed[..18].copy_from_slice(&head);
        input
            .read_exact(&mut compressed[18..])
            .map_err(|_| corrupt())?;
        inflate_block(&compressed, &mut data, &mut decompressor).ok_or_else(corrupt)?;
        let block = offset;
        offset += size as u64;
        blocks += 1;
        // The CRC-32 of the block's bytes before a line, for entries: one pass per block.
        let mut hasher = crc32fast::Hasher::new();
        let mut hashed = 0;
        let mut prefix_crc = |to: usize| {
            hasher.update(&data[hashed..to]);
            hashed = to;
            hasher.clone().finalize()
        };
        let mut at = 0;
        while at < data.len() {
            let here = (block, size as u32, at as u16);
            match memchr(&data[at..]) {
                Some(newline) => {
                    if let Some((start, crc)) = partial_start.take() {
                        partial.extend_from_slice(&data[at..at + newline]);
                        if let Some(entry) = builder.line(&partial, start)? {
                            entry.prefix_crc = crc;
                        }
                        partial.clear();
                    } else if let Some(entry) = builder.line(&data[at..at + newline], here)? {
                        entry.prefix_crc = prefix_crc(at);
                    }
                    at += newline + 1;
                }
                None => {
                    partial.extend_from_slice(&data[at..]);
                    if partial_start.is_none() {
                        partial_start = Some((here, prefix_crc(at)));
                    }
                    at = data.len();
                }
            }
        }
    }
    if let Some((start, crc)) = partial_start {
        if let Some(entry) = builder.line(&partial.clone(), start)? {
            entry.prefix_crc = crc;
        }
    }
    let after = std::fs::metadata(vcf).map_err(|error| format!("cannot read it: {error}"))?;
    if identity(&after) != identity(&before) {
        return Err("the file changed while it was being indexed; index it again".to_string());
    }
    let mut out =
        Vec::with_capacity(builder.header.len() + builder.entries.len() * ENTRY_SIZE + 4096);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&identity(&before));
    out.extend_from_slice(&(builder.header.len() as u64).to_le_bytes());
    out.extend_from_slice(&builder.header);
    let mut entries = Vec::with_capacity(builder.entries.len() * ENTRY_SIZE);
    for entry in &builder.entries {
        entries.extend_from_slice(&entry.block.to_le_bytes());
        entries.extend_from_slice(&entry.first_position.to_le_bytes());
        entries.extend_from_slice(&entry.line_offset.to_le_bytes());
        entries.extend_from_slice(&((entry.block_size - 1) as u16).to_le_bytes());
        entries.extend_from_slice(&entry.prefix_crc.to_le_bytes());
    }
    out.extend_from_slice(&(builder.sequences.len() as u32).to_le_bytes());
    for (i, (name, first)) in builder.sequences.iter().enumerate() {
        let end = builder
            .sequences
            .get(i + 1)
            .map_or(builder.entries.len(), |(_, next)| *next);
        let length = u16::try_from(name.len()).map_err(|_| "a CHROM name is over 64 KiB long")?;
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&(*first as u32).to_le_bytes());
        out.extend_from_slice(&((end - first) as u32).to_le_bytes());
        let crc = libdeflater::crc32(&entries[first * ENTRY_SIZE..end * ENTRY_SIZE]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let crc = libdeflater::crc32(&out);
    out.extend_from_slice(&entries);
    out.extend_from_slice(&crc.to_le_bytes());
    let path = index_path(vcf);
    let temporary = PathBuf::from(format!("{}.tmp.{}", path.display(), std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&temporary)?;
        file.write_all(&out)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    };
    if let Err(error) = write() {
        let _ = std::fs::remove_file(&temporary);
        return Err(format!("cannot write {}: {error}", path.display()));
    }
    Ok(IndexSummary {
        path,
        records: builder.records,
        blocks,
        entries: builder.entries.len() as u64,
        bytes: out.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_text(records: usize) -> Vec<u8> {
        let mut text = b"##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n".to_vec();
        for i in 0..records {
            text.extend_from_slice(
                format!(
                    "chr19\t{}\t.\tA\tG\t.\tPASS\tAF=0.{i:05}\tGT:DS\t0|1:0.{i}\n",
                    1000 + i * 7
                )
                .as_bytes(),
            );
        }
        text
    }

    /// `text` bgzipped and tabix-indexed at `path`, its position index built and opened.
    fn indexed(path: &Path, text: &[u8]) -> (IndexSummary, Arc<PositionIndex>) {
        crate::index::write_indexed_vcf(path, text, false).unwrap();
        let summary = build(path).unwrap();
        let metadata = std::fs::metadata(path).unwrap();
        let index = PositionIndex::open(path, &metadata).unwrap().unwrap();
        (summary, Arc::new(index))
    }

    fn lines(reader: &mut BlockReader, start: u64, end: u64) -> Result<Vec<Vec<u8>>, String> {
        reader.fetch(0, start, end)?;
        let mut found = Vec::new();
        while let Some(line) = reader.next_line()? {
            found.push(line.to_vec());
        }
        Ok(found)
    }

    #[test]
    fn windows_across_blocks_and_a_damaged_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.vcf.gz");
        // ~40,000 records: about 40 blocks, so lines span block ends.
        let text = sample_text(40_000);
        let (summary, index) = indexed(&path, &text);
        assert_eq!(summary.records, 40_000);
        assert!(summary.blocks > 20, "{summary:?}");
        let mut reader = BlockReader::open(&path, Arc::clone(&index)).unwrap();
        let all: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(b"chr19"))
            .collect();
        // Records alone (through block prefixes and whole blocks), short windows ending
        // anywhere within a block or past it, and windows over many blocks.
        for (i, line) in all.iter().enumerate().step_by(7) {
            let position = 1000 + i as u64 * 7;
            assert_eq!(
                lines(&mut reader, position, position).unwrap(),
                vec![line.to_vec()]
            );
            let width = (i % 200) as u64;
            let window = lines(&mut reader, position - 3, position + 7 * width + 3).unwrap();
            let expected = &all[i..(i + width as usize + 1).min(all.len())];
            assert_eq!(window, expected, "{position} + {width} records");
        }
        let window = lines(&mut reader, 1000 + 7 * 1000, 1000 + 7 * 21_000).unwrap();
        assert_eq!(window.len(), 20_001);
        assert_eq!(window[0], all[1000]);
        assert_eq!(window[20_000], all[21_000]);
        assert!(lines(&mut reader, 1, 999).unwrap().is_empty());
        assert!(lines(&mut reader, 10_000_000, 10_000_100)
            .unwrap()
            .is_empty());
        // A CRC broken in one block: reading it fails, other blocks still read.
        let mut bytes = std::fs::read(&path).unwrap();
        let blocks = blocks_of(&bytes);
        let (victim, size) = blocks[blocks.len() / 2];
        bytes[victim + size - 8] ^= 1;
        let damaged = dir.path().join("damaged.vcf.gz");
        std::fs::write(&damaged, &bytes).unwrap();
        let mut reader = BlockReader::open(&damaged, index).unwrap();
        let error = lines(&mut reader, 1000, 1000 + 7 * 39_999).unwrap_err();
        assert!(error.contains("truncated or corrupt"), "{error}");
        assert_eq!(lines(&mut reader, 1000, 1000).unwrap().len(), 1);
    }

    /// The BGZF blocks in `bytes` as (offset, size).
    fn blocks_of(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut offset = 0;
        let mut blocks = Vec::new();
        while offset + 18 <= bytes.len() {
            let size =
                usize::from(u16::from_le_bytes([bytes[offset + 16], bytes[offset + 17]])) + 1;
            blocks.push((offset, size));
            offset += size;
        }
        blocks
    }

    #[test]
    fn a_window_inside_a_block_inflates_only_what_it_reads_and_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.vcf.gz");
        let (_, index) = indexed(&path, &sample_text(20_000));
        let bytes = std::fs::read(&path).unwrap();
        let blocks = blocks_of(&bytes);
        let (victim, size) = blocks[blocks.len() / 2];
        let entries: Vec<Entry> = (index.sequences[0].entries.clone())
            .map(|i| index.entry(i))
            .filter(|entry| entry.block == victim as u64)
            .collect();
        assert!(entries.len() >= 8, "{entries:?}");
        let first = u64::from(entries[0].first_position);
        let last_checkpoint = u64::from(entries[entries.len() - 1].first_position);
        // Damage the end of the block's deflate data: the lines before its last
        // checkpoint are still read (and checked), the lines after it are not.
        let mut damaged_tail = bytes.clone();
        for byte in &mut damaged_tail[victim + size - 8 - 24..victim + size - 8] {
            *byte = !*byte;
        }
        let tail = dir.path().join("tail.vcf.gz");
        std::fs::write(&tail, &damaged_tail).unwrap();
        let mut reader = BlockReader::open(&tail, Arc::clone(&index)).unwrap();
        // (A window from the block's first POS would start in the block before: records
        // with that POS may begin there.)
        let second = first + 7;
        let found = lines(&mut reader, second, second + 7).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].starts_with(format!("chr19\t{second}\t").as_bytes()));
        let error = lines(&mut reader, first, last_checkpoint).unwrap_err();
        assert!(error.contains("truncated or corrupt"), "{error}");
        // A block whose checkpoint CRC-32 does not match what inflates (here: its first
        // bytes damaged) is inflated whole, and reported.
        let mut damaged_head = bytes.clone();
        for byte in &mut damaged_head[victim + 40..victim + 56] {
            *byte = !*byte;
        }
        let head = dir.path().join("head.vcf.gz");
        std::fs::write(&head, &damaged_head).unwrap();
        let mut reader = BlockReader::open(&head, Arc::clone(&index)).unwrap();
        let error = lines(&mut reader, second, second).unwrap_err();
        assert!(error.contains("truncated or corrupt"), "{error}");
        // A block inflated in part and then needed further (loci of one rsID query) is
        // inflated again: the second window needs the damaged end of the block.
        let mut reader = BlockReader::open(&tail, index).unwrap();
        assert_eq!(lines(&mut reader, second, second).unwrap().len(), 1);
        assert!(lines(&mut reader, last_checkpoint, last_checkpoint).is_err());
        assert_eq!(lines(&mut reader, second + 7, second + 7).unwrap().len(), 1);
    }

    #[test]
    fn stored_deflate_blocks_are_read_whole() {
        // BGZF blocks holding stored (uncompressed) DEFLATE blocks, cut mid-line: a
        // prefix cannot be inflated alone, so each block is inflated whole.
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stored.vcf.gz");
        let text = sample_text(5_000);
        let mut out = Vec::new();
        let mut chunks: Vec<&[u8]> = text.chunks(50_000).collect();
        chunks.push(&[]);
        for chunk in chunks {
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::none());
            encoder.write_all(chunk).unwrap();
            let deflated = encoder.finish().unwrap();
            let size = (18 + deflated.len() + 8 - 1) as u16;
            out.extend_from_slice(&[
                0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0,
            ]);
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&deflated);
            out.extend_from_slice(&crc32fast::hash(chunk).to_le_bytes());
            out.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        }
        std::fs::write(&path, &out).unwrap();
        build(&path).unwrap();
        let metadata = std::fs::metadata(&path).unwrap();
        let index = Arc::new(PositionIndex::open(&path, &metadata).unwrap().unwrap());
        let mut reader = BlockReader::open(&path, index).unwrap();
        let all: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|line| line.starts_with(b"chr19"))
            .collect();
        for (i, line) in all.iter().enumerate() {
            let position = 1000 + i as u64 * 7;
            assert_eq!(
                lines(&mut reader, position, position).unwrap(),
                vec![line.to_vec()]
            );
        }
    }

    #[test]
    fn an_index_from_an_earlier_version_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.vcf.gz");
        crate::index::write_indexed_vcf(&path, &sample_text(10), false).unwrap();
        build(&path).unwrap();
        let mut bytes = std::fs::read(index_path(&path)).unwrap();
        bytes[..8].copy_from_slice(b"VCFQPIX1");
        std::fs::write(index_path(&path), &bytes).unwrap();
        let metadata = std::fs::metadata(&path).unwrap();
        let error = PositionIndex::open(&path, &metadata).err().unwrap();
        assert!(
            error.contains("earlier vcfq; rebuild it with `vcfq index`"),
            "{error}"
        );
    }

    #[test]
    fn the_builder_refuses_what_tabix_reads_differently() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("octal", "chr19\t0100\t.\tA\tG\t.\t.\t.\n"),
            ("signed", "chr19\t+100\t.\tA\tG\t.\t.\t.\n"),
            ("nul", "chr19\0\t100\t.\tA\tG\t.\t.\t.\n"),
            ("nul in ID", "chr19\t100\tx\0y\tA\tG\t.\t.\t.\n"),
            ("short", "chr19\t100\t.\tA\tG\t.\t.\t.\nchr19\t200\n"),
            ("unsorted", "chr19\t200\t.\tA\tG\t.\t.\t.\nchr19\t100\t.\tA\tG\t.\t.\t.\n"),
            ("split", "chr19\t100\t.\tA\tG\t.\t.\t.\nchr1\t100\t.\tA\tG\t.\t.\t.\nchr19\t300\t.\tA\tG\t.\t.\t.\n"),
            ("empty line", "chr19\t100\t.\tA\tG\t.\t.\t.\n\nchr19\t300\t.\tA\tG\t.\t.\t.\n"),
        ] {
            let path = dir.path().join(format!("{name}.vcf.gz"));
            let text = format!("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n{body}");
            let mut writer = crate::tabix::BgzfWriter::create(&path).unwrap();
            writer.write_all(text.as_bytes()).unwrap();
            writer.finish().unwrap();
            assert!(build(&path).is_err(), "{name}");
            assert!(!index_path(&path).exists(), "{name}");
        }
    }
}
