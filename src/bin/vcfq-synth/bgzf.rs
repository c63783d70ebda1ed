//! A BGZF writer (what `bgzip` writes), with libdeflate: blocks of 65,280 bytes of data,
//! each a gzip member with the `BC` extra field, and the end-of-file block.

use std::io::{self, Write};

/// Data bytes per block, as bgzip writes them.
const BLOCK_DATA: usize = 0xff00;
/// The empty block that ends a BGZF file.
const EOF_BLOCK: [u8; 28] = [
    0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, b'B', b'C', 2, 0, 0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
];

pub struct BgzfWriter<W: Write> {
    inner: W,
    data: Vec<u8>,
    block: Vec<u8>,
    compressor: libdeflater::Compressor,
}

impl<W: Write> BgzfWriter<W> {
    /// `level` is libdeflate's, 1 (fastest) to 12.
    pub fn new(inner: W, level: i32) -> BgzfWriter<W> {
        BgzfWriter {
            inner,
            data: Vec::with_capacity(2 * BLOCK_DATA),
            block: vec![
                0;
                libdeflater::Compressor::new(libdeflater::CompressionLvl::fastest())
                    .deflate_compress_bound(BLOCK_DATA)
                    + 26
            ],
            compressor: libdeflater::Compressor::new(
                libdeflater::CompressionLvl::new(level).unwrap_or_default(),
            ),
        }
    }

    fn write_block(&mut self, length: usize) -> io::Result<()> {
        let data = &self.data[..length];
        let deflated = self
            .compressor
            .deflate_compress(data, &mut self.block[18..])
            .map_err(|error| io::Error::other(format!("compressing: {error:?}")))?;
        let total = 18 + deflated + 8;
        let size = u16::try_from(total - 1).map_err(|_| io::Error::other("a block over 64 KiB"))?;
        self.block[..16].copy_from_slice(&EOF_BLOCK[..16]);
        self.block[16..18].copy_from_slice(&size.to_le_bytes());
        let crc = libdeflater::crc32(data);
        let at = 18 + deflated;
        self.block[at..at + 4].copy_from_slice(&crc.to_le_bytes());
        self.block[at + 4..at + 8].copy_from_slice(&(length as u32).to_le_bytes());
        self.inner.write_all(&self.block[..total])?;
        self.data.drain(..length);
        Ok(())
    }

    /// Writes what is left and the end-of-file block; returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        while !self.data.is_empty() {
            self.write_block(self.data.len().min(BLOCK_DATA))?;
        }
        self.inner.write_all(&EOF_BLOCK)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for BgzfWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.data.extend_from_slice(bytes);
        while self.data.len() >= BLOCK_DATA {
            self.write_block(BLOCK_DATA)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
