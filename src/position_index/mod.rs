//! The position index (`VCF.vcfqidx`, written by `vcfq index` and `vcfq sample add`):
//! its format and the VCF identity it records (here), the reader that answers from it
//! without htslib (`reader`), and the builder (`builder`).
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
//! when it matches the VCF and its own checksum, and vcfq falls back to tabix otherwise.
//! It matches the VCF when the VCF's size, modification and change times (to the
//! nanosecond) and inode are the ones recorded (one `stat`), or else, for a copy, a moved
//! file or another machine's view of a shared file (NFS, FUSE: other inodes and times),
//! when its size and the CRC-32s of its first and last 64 KiB are the recorded ones (two
//! reads). A change inside the file that keeps both ends and the size is still caught:
//! every block read through the index is checked against the CRC-32s the index holds.
//!
//! Layout (little-endian): magic `VCFQPIX3`; the VCF's identity (40 bytes: size, mtime,
//! ctime, inode; see `FileIdentity::to_bytes`); the VCF's content fingerprint (8 bytes:
//! CRC-32 of its first and of its last 64 KiB); header length (u64) and the header text; sequence
//! count (u32), then per sequence its name length (u16), name, first entry (u32), entry
//! count (u32) and the CRC-32 of its entries (u32); zero padding to 8 bytes; entries of
//! 20 bytes: block offset (u64), POS of the first line (u32), that line's offset in the
//! inflated block (u16), block size - 1 (u16), CRC-32 of the inflated block before that
//! line (u32); a CRC-32 of everything before the entries (u32).
//!
//! Opening checks everything but the entries (microseconds: no page of entries is read);
//! a sequence's entries are checked against their CRC-32 the first time a query reads
//! that sequence (a few to a few hundred kilobytes), once per opened index.

mod builder;
mod reader;

use std::path::{Path, PathBuf};

pub use builder::{build, IndexSummary};
pub(crate) use reader::{BlockReader, PositionIndex};

/// The file name suffix: `sample.vcf.gz` -> `sample.vcf.gz.vcfqidx`.
pub const SUFFIX: &str = ".vcfqidx";
const MAGIC: &[u8; 8] = b"VCFQPIX3";
/// Position indexes of earlier vcfq versions, recognised to say so.
const OLDER_MAGIC: [&[u8; 8]; 2] = [b"VCFQPIX1", b"VCFQPIX2"];
/// Where the VCF's content fingerprint is, after the magic and its identity.
const FINGERPRINT_AT: usize = 8 + 40;
/// Where the header length is, after the fingerprint.
const HEADER_LENGTH_AT: usize = FINGERPRINT_AT + 8;
/// The bytes at each end of the VCF the fingerprint covers.
const FINGERPRINT_SPAN: u64 = 64 * 1024;

/// The VCF's content fingerprint: CRC-32s of its first and last `FINGERPRINT_SPAN`
/// bytes (of all of it, twice, when it is smaller), read with `pread`.
pub(crate) fn content_fingerprint(file: &std::fs::File, size: u64) -> std::io::Result<[u8; 8]> {
    use std::os::unix::fs::FileExt;
    let span = FINGERPRINT_SPAN.min(size);
    let mut bytes = vec![0u8; span as usize];
    let mut fingerprint = [0u8; 8];
    file.read_exact_at(&mut bytes, 0)?;
    fingerprint[..4].copy_from_slice(&crate::bgzf::crc32(&bytes).to_le_bytes());
    file.read_exact_at(&mut bytes, size - span)?;
    fingerprint[4..].copy_from_slice(&crate::bgzf::crc32(&bytes).to_le_bytes());
    Ok(fingerprint)
}
/// The smallest well-formed file.
const MIN_FILE_SIZE: usize = 72;
const ENTRY_SIZE: usize = 20;
/// Inflated bytes between entries within a block (16 per full block).
const CHECKPOINT: usize = 4 * 1024;

/// Where the position index of `vcf` lives.
pub fn index_path(vcf: &Path) -> PathBuf {
    let mut name = vcf.as_os_str().to_os_string();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// One entry: where a line starts that a query may read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    block: u64,
    first_position: u32,
    line_offset: u16,
    block_size: u32,
    /// CRC-32 of the inflated block's bytes before `line_offset`.
    prefix_crc: u32,
}

impl Entry {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.block.to_le_bytes());
        out.extend_from_slice(&self.first_position.to_le_bytes());
        out.extend_from_slice(&self.line_offset.to_le_bytes());
        out.extend_from_slice(&((self.block_size - 1) as u16).to_le_bytes());
        out.extend_from_slice(&self.prefix_crc.to_le_bytes());
    }

    /// Decodes the `ENTRY_SIZE` bytes at the start of `bytes`.
    fn decode(bytes: &[u8]) -> Option<Entry> {
        Some(Entry {
            block: read_u64(bytes, 0)?,
            first_position: read_u32(bytes, 8)?,
            line_offset: read_u16(bytes, 12)?,
            block_size: u32::from(read_u16(bytes, 14)?) + 1,
            prefix_crc: read_u32(bytes, 16)?,
        })
    }
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
