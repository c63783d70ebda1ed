//! Reading through the position index: the memory-mapped index ([`PositionIndex`]) and
//! vcfq's own block reader over the VCF ([`BlockReader`]), which inflates only the
//! blocks, or the parts of blocks, a query's window needs, and checks every byte it uses.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use super::{
    index_path, read_u16, read_u32, read_u64, Entry, ENTRY_SIZE, FINGERPRINT_AT, HEADER_LENGTH_AT,
    MAGIC, MIN_FILE_SIZE, OLDER_MAGIC,
};
use crate::bgzf;
use crate::files::FileIdentity;
use crate::types::parse_digits;

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
        // SAFETY: the mapping is read-only and every byte used is checked (sizes and CRC-32s)
        // before use. vcfq writes index files under a temporary name and renames them into
        // place, so it never rewrites a mapped file. The risk left: another process
        // truncating or rewriting the file in place makes reads of lost pages raise SIGBUS.
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
        if bytes.len() < MIN_FILE_SIZE || &bytes[..8] != MAGIC {
            return Err(damaged());
        }
        let body = bytes.len() - 4;
        let parse = || -> Option<(Range<usize>, Vec<Sequence>, usize)> {
            let header_length = usize::try_from(read_u64(bytes, HEADER_LENGTH_AT)?).ok()?;
            let header_start = HEADER_LENGTH_AT + 8;
            let header = header_start..header_start.checked_add(header_length)?;
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
            (read_u32(bytes, body)? == bgzf::crc32(&bytes[..entries]))
                .then_some((header, sequences, entries))
        };
        let (header, sequences, entries) = parse().ok_or_else(damaged)?;
        if bytes[8..FINGERPRINT_AT] != FileIdentity::of(vcf_metadata).to_bytes() {
            // Not the file indexed, or a copy of it (another inode, other times): the
            // same size and ends say it is a copy.
            let recorded_size = read_u64(bytes, 8).ok_or_else(damaged)?;
            let same_content = recorded_size == vcf_metadata.len()
                && crate::files::open_regular(vcf)
                    .and_then(|file| super::content_fingerprint(&file, recorded_size))
                    .is_ok_and(|now| now[..] == bytes[FINGERPRINT_AT..HEADER_LENGTH_AT]);
            if !same_content {
                return Ok(None);
            }
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
            bytes.is_some_and(|bytes| bgzf::crc32(bytes) == sequence.crc)
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
        // Entries lie within the map: `open` checked that the sequences' entries are all
        // of them, and every index passed here is within a sequence's.
        Entry::decode(&self.map[at..at + ENTRY_SIZE]).unwrap_or(Entry {
            block: 0,
            first_position: 0,
            line_offset: 0,
            block_size: 0,
            prefix_crc: 0,
        })
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
    let hinted =
        size_hint.filter(|&size| (bgzf::MIN_BLOCK_SIZE..=bgzf::MAX_BLOCK_SIZE).contains(&size));
    compressed.resize(hinted.unwrap_or(bgzf::HEADER_SIZE), 0);
    file.read_exact_at(compressed, offset)
        .map_err(|_| CORRUPT.to_string())?;
    let size = bgzf::block_size(compressed).ok_or(CORRUPT)?;
    if hinted.is_some_and(|hinted| hinted != size) {
        return Err(CORRUPT.to_string());
    }
    if hinted.is_none() {
        compressed.resize(size, 0);
        file.read_exact_at(
            &mut compressed[bgzf::HEADER_SIZE..],
            offset + bgzf::HEADER_SIZE as u64,
        )
        .map_err(|_| CORRUPT.to_string())?;
    }
    if let Some((length, crc)) = prefix {
        if bgzf::inflate_prefix(compressed, length, crc, data, decompressor) {
            return Ok(Some((size, false)));
        }
    }
    bgzf::inflate_block(compressed, data, decompressor).ok_or_else(|| CORRUPT.to_string())?;
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
            compressed: Vec::with_capacity(bgzf::MAX_BLOCK_SIZE),
            data: Vec::with_capacity(bgzf::MAX_BLOCK_SIZE),
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
                parse_digits(&rest[..digits])
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
            if let Some(newline) = memchr::memchr(b'\n', &self.data[self.cursor..]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgzf::tests::blocks_of;
    use crate::position_index::{build, IndexSummary};

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
            out.extend_from_slice(&bgzf::crc32(chunk).to_le_bytes());
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
}
