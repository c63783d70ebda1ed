//! Inflating a BGZF source on several threads. A BGZF file is a series of independent
//! gzip members of at most 64 KiB, so blocks can be inflated in any order: one thread
//! reads the compressed file and cuts it into groups of whole blocks, `threads` threads
//! inflate the groups (libdeflate, CRC-32 checked), and the reader hands the inflated
//! bytes on in file order. A gzip member that is not BGZF (`cat a.vcf.gz b.gz` where
//! `b.gz` came from `gzip`) ends the parallel part: from there the reading thread
//! inflates the rest of the stream itself, as any gzip reader would. Memory is bounded: at most `2 * threads` groups wait to be
//! inflated and `2 * threads` inflated groups wait to be read.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use crate::bgzf::{block_size, inflate_block, HEADER_SIZE};

/// Blocks per group: up to 512 KiB inflated, so that a group is worth a thread's hand-off.
const BLOCKS_PER_GROUP: usize = 8;
/// Groups in flight per inflating thread: read but not yet handed on in order.
const GROUPS_PER_THREAD: usize = 4;

/// The most memory the groups take for `threads` inflating threads: at most
/// `GROUPS_PER_THREAD * threads` groups are in flight (queued, inflating, or waiting
/// for their turn), plus the one being cut and the one being read; each holds at most
/// 512 KiB compressed and 512 KiB inflated.
pub(super) fn memory_bytes(threads: usize) -> usize {
    let group = BLOCKS_PER_GROUP * crate::bgzf::MAX_BLOCK_SIZE;
    (GROUPS_PER_THREAD * threads.max(1) + 2) * 2 * group
}

/// A group of whole compressed blocks and where each lies in `bytes`.
struct Group {
    sequence: u64,
    /// The file offset of the first block, for error messages.
    offset: u64,
    bytes: Vec<u8>,
    blocks: Vec<(usize, usize)>,
}

/// An inflated group, or why the file could not be read or inflated there. The reading
/// thread ends the stream with `None`, so that an early end (a thread that died) is never
/// taken for the end of the file.
type Inflated = (u64, Result<Option<Vec<u8>>, String>);

/// The inflated bytes of a BGZF stream, in order, as a [`BufRead`].
pub(super) struct ParallelBgzfReader {
    results: Receiver<Inflated>,
    /// One token per group in flight; taking one back lets the reading thread go on.
    tokens: Receiver<()>,
    waiting: BTreeMap<u64, Result<Option<Vec<u8>>, String>>,
    next: u64,
    current: Vec<u8>,
    at: usize,
    finished: bool,
}

impl ParallelBgzfReader {
    /// Starts reading `input`, a stream of BGZF blocks from its first byte, with
    /// `threads` inflating threads. The threads end when the stream ends, fails, or
    /// this reader is dropped.
    pub(super) fn new<R: Read + Send + 'static>(input: R, threads: usize) -> ParallelBgzfReader {
        let threads = threads.max(1);
        let in_flight = GROUPS_PER_THREAD * threads;
        let (tokens_sender, tokens) = sync_channel::<()>(in_flight);
        let (jobs_sender, jobs) = sync_channel::<Group>(in_flight);
        // Never full: the tokens bound the groups in flight.
        let (results_sender, results) = sync_channel::<Inflated>(in_flight + 2);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..threads {
            let jobs = Arc::clone(&jobs);
            let results = results_sender.clone();
            std::thread::spawn(move || inflate_groups(&jobs, &results));
        }
        std::thread::spawn(move || {
            read_groups(input, &tokens_sender, &jobs_sender, &results_sender)
        });
        ParallelBgzfReader {
            results,
            tokens,
            waiting: BTreeMap::new(),
            next: 0,
            current: Vec::new(),
            at: 0,
            finished: false,
        }
    }

    /// The next inflated group in file order; `None` at the end of the stream.
    fn next_group(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let Some(result) = self.waiting.remove(&self.next) {
                self.next += 1;
                let _ = self.tokens.try_recv();
                return result.map_err(io::Error::other);
            }
            match self.results.recv() {
                Ok((sequence, result)) => {
                    self.waiting.insert(sequence, result);
                }
                Err(_) => {
                    return Err(io::Error::other(
                        "the inflating threads stopped before the end of the file",
                    ))
                }
            }
        }
    }
}

impl Read for ParallelBgzfReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buffer.len());
        buffer[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ParallelBgzfReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.current.len() && !self.finished {
            match self.next_group()? {
                Some(bytes) => {
                    self.current = bytes;
                    self.at = 0;
                }
                None => self.finished = true,
            }
        }
        Ok(&self.current[self.at.min(self.current.len())..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.current.len());
    }
}

/// The reading thread: cuts the stream into groups of whole blocks. A read error or a
/// block that is not BGZF is sent as the result of the next group, so it arrives in
/// order after everything before it.
fn read_groups(
    mut input: impl Read,
    tokens: &SyncSender<()>,
    jobs: &SyncSender<Group>,
    results: &SyncSender<Inflated>,
) {
    let mut sequence = 0u64;
    let mut offset = 0u64;
    loop {
        let mut group = Group {
            sequence,
            offset,
            bytes: Vec::with_capacity(BLOCKS_PER_GROUP * 32 * 1024),
            blocks: Vec::with_capacity(BLOCKS_PER_GROUP),
        };
        let mut end = false;
        let mut other_gzip = None;
        while group.blocks.len() < BLOCKS_PER_GROUP {
            match read_block(&mut input, &mut group.bytes, offset) {
                Ok(Next::Block(start, length)) => {
                    offset += length as u64;
                    group.blocks.push((start, length));
                }
                Ok(Next::End) => {
                    end = true;
                    break;
                }
                Ok(Next::OtherGzip(head)) => {
                    other_gzip = Some(head);
                    break;
                }
                Err(message) => {
                    if !group.blocks.is_empty() {
                        if tokens.send(()).is_err() || jobs.send(group).is_err() {
                            return;
                        }
                        sequence += 1;
                    }
                    let _ = results.send((sequence, Err(message)));
                    return;
                }
            }
        }
        if !group.blocks.is_empty() {
            if tokens.send(()).is_err() || jobs.send(group).is_err() {
                return;
            }
            sequence += 1;
        }
        if let Some(head) = other_gzip {
            inflate_rest(head, input, offset, sequence, tokens, results);
            return;
        }
        if end {
            let _ = results.send((sequence, Ok(None)));
            return;
        }
    }
}

/// What the stream holds next.
enum Next {
    /// A whole block, at (start, length) in the group's bytes.
    Block(usize, usize),
    /// The end of the stream.
    End,
    /// A gzip member that is not BGZF: its first bytes, already read.
    OtherGzip(Vec<u8>),
}

/// Appends the next whole block to `bytes`.
fn read_block(input: &mut impl Read, bytes: &mut Vec<u8>, offset: u64) -> Result<Next, String> {
    let start = bytes.len();
    bytes.resize(start + HEADER_SIZE, 0);
    let got = read_full(input, &mut bytes[start..])
        .map_err(|error| format!("reading at byte {offset}: {error}"))?;
    if got == 0 {
        bytes.truncate(start);
        return Ok(Next::End);
    }
    let Some(size) = (got == HEADER_SIZE)
        .then(|| block_size(&bytes[start..]))
        .flatten()
    else {
        let head = bytes.split_off(start);
        if crate::bgzf::is_gzip(&head) {
            return Ok(Next::OtherGzip(head[..got].to_vec()));
        }
        return Err(format!(
            "the data at byte {offset} is neither BGZF nor gzip: the file is cut short or damaged"
        ));
    };
    bytes.resize(start + size, 0);
    let got = read_full(input, &mut bytes[start + HEADER_SIZE..])
        .map_err(|error| format!("reading at byte {offset}: {error}"))?;
    if got != size - HEADER_SIZE {
        return Err(format!(
            "the BGZF block at byte {offset} is cut short: is the file complete?"
        ));
    }
    Ok(Next::Block(start, size))
}

/// The rest of the stream from a gzip member that is not BGZF, inflated on the reading
/// thread in pieces of a group's size, sent in order after the groups before it.
fn inflate_rest(
    head: Vec<u8>,
    input: impl Read,
    offset: u64,
    mut sequence: u64,
    tokens: &SyncSender<()>,
    results: &SyncSender<Inflated>,
) {
    let mut decoder = flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(
        1 << 20,
        io::Cursor::new(head).chain(input),
    ));
    loop {
        let mut piece = vec![0; BLOCKS_PER_GROUP * crate::bgzf::MAX_BLOCK_SIZE];
        let result = match read_full(&mut decoder, &mut piece) {
            Ok(0) => Ok(None),
            Ok(n) => {
                piece.truncate(n);
                Ok(Some(piece))
            }
            Err(error) => Err(format!(
                "the gzip data from byte {offset} cannot be inflated ({error}): is the file complete?"
            )),
        };
        let last = !matches!(result, Ok(Some(_)));
        if tokens.send(()).is_err() || results.send((sequence, result)).is_err() || last {
            return;
        }
        sequence += 1;
    }
}

/// Reads until `buffer` is full or the stream ends; the bytes read.
pub(super) fn read_full(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// An inflating thread: takes groups until the reading thread is done.
fn inflate_groups(jobs: &Mutex<Receiver<Group>>, results: &SyncSender<Inflated>) {
    let mut decompressor = libdeflater::Decompressor::new();
    let mut block = Vec::new();
    loop {
        let job = jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        let Ok(group) = job else {
            return;
        };
        let mut inflated = Vec::with_capacity(group.blocks.len() * 64 * 1024);
        let mut result = Ok(());
        let mut offset = group.offset;
        for &(start, length) in &group.blocks {
            if inflate_block(
                &group.bytes[start..start + length],
                &mut block,
                &mut decompressor,
            )
            .is_none()
            {
                result = Err(format!(
                    "the BGZF block at byte {offset} is damaged (its data does not inflate \
                     to its recorded size and CRC-32)"
                ));
                break;
            }
            inflated.extend_from_slice(&block);
            offset += length as u64;
        }
        if results
            .send((group.sequence, result.map(|()| Some(inflated))))
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// BGZF as bgzip writes it (through htslib), end-of-file block included.
    fn bgzip(text: &[u8]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gz");
        let mut writer = crate::tabix::BgzfWriter::create(&path).unwrap();
        writer.write_all(text).unwrap();
        writer.finish().unwrap();
        std::fs::read(path).unwrap()
    }

    fn inflate_all(compressed: Vec<u8>, threads: usize) -> io::Result<Vec<u8>> {
        let mut reader = ParallelBgzfReader::new(io::Cursor::new(compressed), threads);
        let mut out = Vec::new();
        reader.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn inflates_in_order_on_any_number_of_threads() {
        let mut text = Vec::new();
        for i in 0..200_000u32 {
            writeln!(text, "chr1\t{i}\trs{i}\tA\tG\t.\t.\tRS={i}").unwrap();
        }
        let compressed = bgzip(&text);
        for threads in [1, 2, 5] {
            assert_eq!(inflate_all(compressed.clone(), threads).unwrap(), text);
        }
        // Concatenated BGZF files are one BGZF stream.
        let mut twice = compressed.clone();
        twice.extend_from_slice(&compressed);
        let mut expected = text.clone();
        expected.extend_from_slice(&text);
        assert_eq!(inflate_all(twice, 2).unwrap(), expected);
        assert!(inflate_all(Vec::new(), 2).unwrap().is_empty());
        // A whole group of empty blocks (end-of-file blocks of concatenated files) is not
        // the end.
        let mut empties: Vec<u8> = crate::bgzf::EOF_BLOCK.repeat(BLOCKS_PER_GROUP + 3);
        empties.extend_from_slice(&bgzip(b"after\n"));
        assert_eq!(inflate_all(empties, 2).unwrap(), b"after\n");
    }

    #[test]
    fn damage_is_an_error_after_the_good_data() {
        let text: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let compressed = bgzip(&text);
        // Cut short.
        let cut = inflate_all(compressed[..compressed.len() / 2].to_vec(), 2).unwrap_err();
        assert!(cut.to_string().contains("cut short"), "{cut}");
        // A flipped byte inside a block's data.
        let mut flipped = compressed.clone();
        let at = compressed.len() / 3;
        flipped[at] ^= 0x55;
        let damaged = inflate_all(flipped, 2).unwrap_err();
        assert!(
            damaged.to_string().contains("damaged")
                || damaged.to_string().contains("not a BGZF block"),
            "{damaged}"
        );
        // Garbage after the blocks.
        let mut garbage = compressed.clone();
        garbage.extend_from_slice(b"this is not compressed at all");
        let error = inflate_all(garbage, 2).unwrap_err();
        assert!(
            error.to_string().contains("neither BGZF nor gzip"),
            "{error}"
        );
    }

    #[test]
    fn plain_gzip_after_bgzf_is_inflated_by_the_reading_thread() {
        let text: Vec<u8> = (0..100_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&text).unwrap();
        let gzip = gzip.finish().unwrap();
        // BGZF, then gzip, then BGZF again (read as gzip members too).
        let mut mixed = bgzip(&text);
        mixed.extend_from_slice(&gzip);
        mixed.extend_from_slice(&bgzip(b"last\n"));
        let mut expected = text.repeat(2);
        expected.extend_from_slice(b"last\n");
        assert_eq!(inflate_all(mixed.clone(), 2).unwrap(), expected);
        // Cut inside the gzip member.
        mixed.truncate(mixed.len() - 200);
        let error = inflate_all(mixed, 2).unwrap_err();
        assert!(error.to_string().contains("cannot be inflated"), "{error}");
    }
}
