//! Writing the position index: one pass over the VCF's blocks, checking each, with an
//! entry per block and a checkpoint every `CHECKPOINT` inflated bytes within it.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::{index_path, Entry, CHECKPOINT, ENTRY_SIZE, MAGIC};
use crate::bgzf;
use crate::files::FileIdentity;
use crate::types::parse_digits;

/// What `build` indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSummary {
    /// The index written.
    pub path: PathBuf,
    /// The VCF's records.
    pub records: u64,
    /// Its BGZF blocks.
    pub blocks: u64,
    /// The index's entries (blocks and checkpoints within them).
    pub entries: u64,
    /// The index's size.
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
            .and_then(parse_digits)
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
    let before = std::fs::metadata(vcf)
        .map(|metadata| FileIdentity::of(&metadata))
        .map_err(|error| format!("cannot read it: {error}"))?;
    let file = File::open(vcf).map_err(|error| format!("cannot open it: {error}"))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut decompressor = libdeflater::Decompressor::new();
    let (mut compressed, mut data) = (
        Vec::with_capacity(bgzf::MAX_BLOCK_SIZE),
        Vec::with_capacity(bgzf::MAX_BLOCK_SIZE),
    );
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
        let mut head = [0u8; bgzf::HEADER_SIZE];
        match input.read(&mut head[..1]) {
            Ok(0) => break,
            Ok(_) => input.read_exact(&mut head[1..]).map_err(|_| corrupt())?,
            Err(error) => return Err(format!("cannot read it: {error}")),
        }
        let size = bgzf::block_size(&head).ok_or_else(corrupt)?;
        compressed.resize(size, 0);
        compressed[..bgzf::HEADER_SIZE].copy_from_slice(&head);
        input
            .read_exact(&mut compressed[bgzf::HEADER_SIZE..])
            .map_err(|_| corrupt())?;
        bgzf::inflate_block(&compressed, &mut data, &mut decompressor).ok_or_else(corrupt)?;
        let block = offset;
        offset += size as u64;
        blocks += 1;
        // The CRC-32 of the block's bytes before a line, for entries: one pass per block.
        let mut hasher = libdeflater::Crc::new();
        let mut hashed = 0;
        let mut prefix_crc = |to: usize| {
            hasher.update(&data[hashed..to]);
            hashed = to;
            hasher.sum()
        };
        let mut at = 0;
        while at < data.len() {
            let here = (block, size as u32, at as u16);
            match memchr::memchr(b'\n', &data[at..]) {
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
    let after = std::fs::metadata(vcf)
        .map(|metadata| FileIdentity::of(&metadata))
        .map_err(|error| format!("cannot read it: {error}"))?;
    if after != before {
        return Err("the file changed while it was being indexed; index it again".to_string());
    }
    let mut out =
        Vec::with_capacity(builder.header.len() + builder.entries.len() * ENTRY_SIZE + 4096);
    let fingerprint = File::open(vcf)
        .and_then(|file| super::content_fingerprint(&file, before.size))
        .map_err(|error| format!("cannot read it: {error}"))?;
    if std::fs::metadata(vcf)
        .map(|metadata| FileIdentity::of(&metadata))
        .ok()
        != Some(before)
    {
        return Err("the file changed while it was being indexed; index it again".to_string());
    }
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&before.to_bytes());
    out.extend_from_slice(&fingerprint);
    out.extend_from_slice(&(builder.header.len() as u64).to_le_bytes());
    out.extend_from_slice(&builder.header);
    let mut entries = Vec::with_capacity(builder.entries.len() * ENTRY_SIZE);
    for entry in &builder.entries {
        entry.encode(&mut entries);
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
        let crc = bgzf::crc32(&entries[first * ENTRY_SIZE..end * ENTRY_SIZE]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out.resize(out.len().next_multiple_of(8), 0);
    let crc = bgzf::crc32(&out);
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
