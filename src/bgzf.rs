//! BGZF, the blocked gzip that bgzip writes and tabix indexes: its named constants, the
//! one parser of a block's header, and the inflate helpers every reader of blocks uses.
//!
//! A BGZF block is a gzip member of at most 64 KiB whose header carries an extra field
//! `BC` holding the block's total size minus one; its footer is the CRC-32 and the length
//! of the inflated data. htslib checks a header as [`block_size`] does.

/// gzip's magic bytes.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compression method 8: DEFLATE.
const METHOD_DEFLATE: u8 = 8;
/// The header flag saying an extra field follows.
const FLAG_EXTRA: u8 = 4;
/// The extra field's length in a BGZF header: one `BC` subfield of 2 bytes.
const EXTRA_LENGTH: u16 = 6;
/// The subfield id of the block size.
const SUBFIELD_ID: [u8; 2] = *b"BC";
/// The header: gzip's 10 bytes, the extra field's length (2), the `BC` subfield (6).
pub(crate) const HEADER_SIZE: usize = 10 + 2 + EXTRA_LENGTH as usize;
/// The footer: the CRC-32 and the size of the inflated data.
pub(crate) const FOOTER_SIZE: usize = 8;
/// The smallest block: a header and a footer around empty DEFLATE data.
pub(crate) const MIN_BLOCK_SIZE: usize = HEADER_SIZE + FOOTER_SIZE;
/// The empty block bgzip writes at the end of a file: a file that does not end with it
/// was cut short.
pub(crate) const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];
/// Its size.
pub(crate) const EOF_BLOCK_SIZE: usize = EOF_BLOCK.len();
/// A block holds at most 64 KiB, compressed or not.
pub(crate) const MAX_BLOCK_SIZE: usize = 65536;
/// The longest DEFLATE match: inflating into a buffer this much longer than the bytes
/// wanted, libdeflate writes at least the bytes wanted before it runs out of space
/// (unless a stored block starts earlier, which the caller's CRC-32 check catches).
const MAX_MATCH: usize = 258;

/// Whether `bytes` start as a gzip file does.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// The total size of the block whose header is `header` (its first [`HEADER_SIZE`]
/// bytes at least); `None` when they are not a BGZF block header.
pub(crate) fn block_size(header: &[u8]) -> Option<usize> {
    let header = header.get(..HEADER_SIZE)?;
    let is_bgzf = is_gzip(header)
        && header[2] == METHOD_DEFLATE
        && header[3] & FLAG_EXTRA != 0
        && header[10..12] == EXTRA_LENGTH.to_le_bytes()
        && header[12..14] == SUBFIELD_ID
        && header[14..16] == 2u16.to_le_bytes();
    let size = usize::from(u16::from_le_bytes([header[16], header[17]])) + 1;
    (is_bgzf && size >= MIN_BLOCK_SIZE).then_some(size)
}

/// The CRC-32 of `bytes`, as gzip footers and vcfq's own files record it.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    libdeflater::crc32(bytes)
}

/// The footer of the whole block `block`: (CRC-32, inflated size).
fn footer(block: &[u8]) -> Option<(u32, usize)> {
    let at = block.len().checked_sub(FOOTER_SIZE)?;
    let crc = u32::from_le_bytes(block.get(at..at + 4)?.try_into().ok()?);
    let size = u32::from_le_bytes(block.get(at + 4..)?.try_into().ok()?);
    Some((crc, usize::try_from(size).ok()?))
}

/// The DEFLATE data of the whole block `block`.
fn deflated(block: &[u8]) -> Option<&[u8]> {
    block.get(HEADER_SIZE..block.len().checked_sub(FOOTER_SIZE)?)
}

/// Inflates the whole block `block` (header included) into `data` and checks its CRC-32
/// and size; `None` when it is damaged.
pub(crate) fn inflate_block(
    block: &[u8],
    data: &mut Vec<u8>,
    decompressor: &mut libdeflater::Decompressor,
) -> Option<()> {
    let (crc, inflated) = footer(block)?;
    if inflated > MAX_BLOCK_SIZE {
        return None;
    }
    data.resize(inflated, 0);
    let written = decompressor
        .deflate_decompress(deflated(block)?, data)
        .ok()?;
    (written == inflated && crc32(data) == crc).then_some(())
}

/// Inflates only the first `length` bytes of the whole block `block` into `data` and
/// checks them against `crc`. `false` when it cannot (the block is not much longer, a
/// stored DEFLATE block comes first, damaged data): the caller then inflates the whole
/// block, which says whether the block is damaged.
pub(crate) fn inflate_prefix(
    block: &[u8],
    length: usize,
    crc: u32,
    data: &mut Vec<u8>,
    decompressor: &mut libdeflater::Decompressor,
) -> bool {
    let (Some((_, inflated)), Some(deflated)) = (footer(block), deflated(block)) else {
        return false;
    };
    if length + MAX_MATCH >= inflated {
        return false;
    }
    data.resize(length + MAX_MATCH, 0);
    match decompressor.deflate_decompress(deflated, data) {
        Err(libdeflater::DecompressionError::InsufficientSpace)
            if crc32(&data[..length]) == crc =>
        {
            data.truncate(length);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The BGZF blocks in `bytes` as (offset, size).
    pub(crate) fn blocks_of(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut offset = 0;
        let mut blocks = Vec::new();
        while let Some(size) = bytes.get(offset..).and_then(block_size) {
            blocks.push((offset, size));
            offset += size;
        }
        blocks
    }

    #[test]
    fn headers_as_htslib_checks_them() {
        // bgzip's end-of-file block.
        let eof = [
            0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0,
            0, 0, 0, 0, 0,
        ];
        assert_eq!(block_size(&eof), Some(EOF_BLOCK_SIZE));
        let mut data = Vec::new();
        let mut decompressor = libdeflater::Decompressor::new();
        assert_eq!(inflate_block(&eof, &mut data, &mut decompressor), Some(()));
        assert!(data.is_empty());
        for (at, value) in [(0, 0x1e), (2, 9), (3, 0), (10, 7), (12, b'X'), (14, 3)] {
            let mut header = eof;
            header[at] = value;
            assert_eq!(block_size(&header), None, "byte {at}");
        }
        assert_eq!(block_size(&eof[..17]), None);
        let mut tiny = eof;
        tiny[16] = 10;
        assert_eq!(block_size(&tiny), None);
        assert!(is_gzip(&eof) && !is_gzip(b"##fileformat"));
        let mut damaged = eof;
        damaged[20] ^= 1;
        assert_eq!(inflate_block(&damaged, &mut data, &mut decompressor), None);
    }
}
