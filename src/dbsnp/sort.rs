//! An external sort with a memory budget: records gather in memory, are sorted (on all
//! cores) and deduplicated, spill to run files when the budget is reached, and come back
//! as one sorted, deduplicated stream through a k-way merge.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;

/// A record the sorter can spill and read back.
pub(crate) trait Record: Ord + Send + Sized {
    /// Bytes this record holds in memory, for the budget.
    fn memory_size(&self) -> usize;
    fn write_to(&self, out: &mut impl Write) -> io::Result<()>;
    /// `None` at the end of the run.
    fn read_from(input: &mut impl BufRead) -> io::Result<Option<Self>>;
}

/// Appends `value` as LEB128 (7 bits a byte, low first): rs numbers (< 2^32) take 5
/// bytes at most instead of 8, packed loci 5 or 6, which keeps the run files of a full
/// dbSNP build about a third smaller.
fn write_varint(out: &mut impl Write, mut value: u64) -> io::Result<()> {
    let mut bytes = [0u8; 10];
    let mut length = 0;
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes[length] = low;
            length += 1;
            break;
        }
        bytes[length] = low | 0x80;
        length += 1;
    }
    out.write_all(&bytes[..length])
}

/// Reads a LEB128 value; `None` at a clean end of input (nothing read). Decoded from the
/// reader's buffer when it holds the whole number (nearly always).
fn read_varint(input: &mut impl BufRead) -> io::Result<Option<u64>> {
    let buffer = input.fill_buf()?;
    if buffer.is_empty() {
        return Ok(None);
    }
    let mut value = 0u64;
    for (index, &byte) in buffer.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            input.consume(index + 1);
            return Ok(Some(value));
        }
    }
    read_varint_slowly(input)
}

/// `read_varint` for a number that crosses the end of the reader's buffer.
fn read_varint_slowly(input: &mut impl BufRead) -> io::Result<Option<u64>> {
    let mut value = 0u64;
    for index in 0..10 {
        let mut byte = [0u8; 1];
        if !read_exact_or_end(input, &mut byte)? {
            return if index == 0 {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "a sort run file ends inside a record",
                ))
            };
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * index);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "a sort run file holds a number of more than 10 bytes",
    ))
}

/// A varint that must be there (inside a record).
fn read_varint_in_record(input: &mut impl BufRead) -> io::Result<u64> {
    read_varint(input)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a sort run file ends inside a record",
        )
    })
}

/// rs number and packed locus: sorts by rs, then locus. Spilled as two varints.
impl Record for u128 {
    fn memory_size(&self) -> usize {
        16
    }

    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        write_varint(out, (*self >> 64) as u64)?;
        write_varint(out, *self as u64)
    }

    fn read_from(input: &mut impl BufRead) -> io::Result<Option<u128>> {
        let Some(high) = read_varint(input)? else {
            return Ok(None);
        };
        let low = read_varint_in_record(input)?;
        Ok(Some((u128::from(high) << 64) | u128::from(low)))
    }
}

/// An `alleles.fst` key and an rs number: sorts by key bytes, then rs. Keys of up to 23
/// bytes (SNVs and short indels, nearly all of dbSNP) are stored inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AlleleRecord {
    key: KeyBytes,
    pub rs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyBytes {
    Inline { length: u8, bytes: [u8; 23] },
    Heap(Box<[u8]>),
}

impl AlleleRecord {
    pub(crate) fn new(key: &[u8], rs: u64) -> AlleleRecord {
        let key = if key.len() <= 23 {
            let mut bytes = [0u8; 23];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes::Inline {
                length: key.len() as u8,
                bytes,
            }
        } else {
            KeyBytes::Heap(key.into())
        };
        AlleleRecord { key, rs }
    }

    pub(crate) fn key(&self) -> &[u8] {
        match &self.key {
            KeyBytes::Inline { length, bytes } => &bytes[..usize::from(*length)],
            KeyBytes::Heap(bytes) => bytes,
        }
    }
}

impl Ord for AlleleRecord {
    fn cmp(&self, other: &AlleleRecord) -> std::cmp::Ordering {
        self.key().cmp(other.key()).then(self.rs.cmp(&other.rs))
    }
}

impl PartialOrd for AlleleRecord {
    fn partial_cmp(&self, other: &AlleleRecord) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Record for AlleleRecord {
    fn memory_size(&self) -> usize {
        std::mem::size_of::<AlleleRecord>()
            + if let KeyBytes::Heap(bytes) = &self.key {
                bytes.len()
            } else {
                0
            }
    }

    /// The key's length and the rs number as varints around the key.
    fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let key = self.key();
        write_varint(out, key.len() as u64)?;
        out.write_all(key)?;
        write_varint(out, self.rs)
    }

    fn read_from(input: &mut impl BufRead) -> io::Result<Option<AlleleRecord>> {
        let Some(length) = read_varint(input)? else {
            return Ok(None);
        };
        // Keys are a locus and two alleles of a line of at most MAX_LINE bytes.
        if length > (8 << 20) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a sort run file holds a key longer than any line",
            ));
        }
        let mut key = [0u8; 23];
        let rs;
        let record = if length <= 23 {
            let key = &mut key[..length as usize];
            input.read_exact(key)?;
            rs = read_varint_in_record(input)?;
            AlleleRecord::new(key, rs)
        } else {
            let mut key = vec![0u8; length as usize];
            input.read_exact(&mut key)?;
            rs = read_varint_in_record(input)?;
            AlleleRecord::new(&key, rs)
        };
        Ok(Some(record))
    }
}

/// Fills `buffer`, or returns `false` at a clean end of input (nothing read).
fn read_exact_or_end(input: &mut impl Read, buffer: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buffer.len() {
        match input.read(&mut buffer[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "a sort run file ends inside a record",
                ))
            }
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}

/// How the run files are merged: how many at once, and each one's read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergePlan {
    /// Run files merged at once (more are merged in passes).
    pub fan_in: usize,
    /// The read buffer of each run file being merged.
    pub buffer_bytes: usize,
}

impl Default for MergePlan {
    fn default() -> MergePlan {
        MergePlan {
            fan_in: 64,
            buffer_bytes: 1 << 20,
        }
    }
}

/// Sorts records of type `R` within `memory_budget` bytes, spilling to `run_dir`.
pub(crate) struct ExternalSorter<R: Record> {
    records: Vec<R>,
    used: usize,
    memory_budget: usize,
    run_dir: PathBuf,
    run_prefix: String,
    runs: Vec<PathBuf>,
    merged_runs: usize,
    spilled_bytes: u64,
    merge: MergePlan,
}

impl<R: Record> ExternalSorter<R> {
    pub(crate) fn new(
        run_dir: &Path,
        run_prefix: &str,
        memory_budget: usize,
        merge: MergePlan,
    ) -> ExternalSorter<R> {
        ExternalSorter {
            records: Vec::new(),
            used: 0,
            memory_budget: memory_budget.max(4096),
            run_dir: run_dir.to_path_buf(),
            run_prefix: run_prefix.to_string(),
            runs: Vec::new(),
            merged_runs: 0,
            spilled_bytes: 0,
            merge: MergePlan {
                fan_in: merge.fan_in.max(2),
                buffer_bytes: merge.buffer_bytes.max(4096),
            },
        }
    }

    pub(crate) fn push(&mut self, record: R) -> io::Result<()> {
        if self.records.capacity() == 0 {
            // Reserve the whole budget once (pages are only touched as they fill), so that
            // growth by doubling never holds twice the budget.
            self.records
                .reserve_exact(self.memory_budget / std::mem::size_of::<R>().max(1) + 1);
        }
        self.used += record.memory_size();
        self.records.push(record);
        if self.used >= self.memory_budget {
            self.spill()?;
        }
        Ok(())
    }

    /// Moves a batch in (several parser threads share one sorter through a lock).
    pub(crate) fn push_batch(&mut self, batch: &mut Vec<R>) -> io::Result<()> {
        for record in batch.drain(..) {
            self.push(record)?;
        }
        Ok(())
    }

    fn sort_in_memory(&mut self) {
        self.records.par_sort_unstable();
        self.records.dedup();
    }

    fn spill(&mut self) -> io::Result<()> {
        self.sort_in_memory();
        let path = self
            .run_dir
            .join(format!("{}-{:05}.run", self.run_prefix, self.runs.len()));
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
        for record in self.records.drain(..) {
            record.write_to(&mut out)?;
        }
        out.flush()?;
        self.spilled_bytes += out.get_ref().metadata()?.len();
        self.runs.push(path);
        self.used = 0;
        // Give back the memory of a large batch; the next fills it again.
        self.records
            .shrink_to(self.memory_budget / std::mem::size_of::<R>().max(1) / 4);
        Ok(())
    }

    /// Runs spilled so far plus what is in memory (as one more run when anything spilled),
    /// and the bytes written to temporary run files in all (0 when nothing spilled).
    pub(crate) fn finish(mut self) -> io::Result<(SortedRecords<R>, u64)>
    where
        R: Clone,
    {
        if self.runs.is_empty() {
            self.sort_in_memory();
            let records = SortedRecords {
                memory: self.records.into_iter(),
                heap: BinaryHeap::new(),
                readers: Vec::new(),
                runs: Vec::new(),
                last: None,
            };
            return Ok((records, 0));
        }
        if !self.records.is_empty() {
            self.spill()?;
        }
        self.records = Vec::new();
        // Merge in passes when there are many runs, so that at most `fan_in` files (and
        // their buffers) are open at once.
        let MergePlan {
            fan_in,
            buffer_bytes,
        } = self.merge;
        while self.runs.len() > fan_in {
            let group: Vec<PathBuf> = self.runs.drain(..fan_in).collect();
            let path = self.run_dir.join(format!(
                "{}-merged-{:05}.run",
                self.run_prefix, self.merged_runs
            ));
            self.merged_runs += 1;
            let mut merged: SortedRecords<R> = SortedRecords::merge(group, buffer_bytes)?;
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            while let Some(record) = merged.next_record()? {
                record.write_to(&mut out)?;
            }
            out.flush()?;
            self.spilled_bytes += out.get_ref().metadata()?.len();
            self.runs.push(path);
        }
        Ok((
            SortedRecords::merge(std::mem::take(&mut self.runs), buffer_bytes)?,
            self.spilled_bytes,
        ))
    }
}

impl<R: Record + Clone> SortedRecords<R> {
    fn merge(runs: Vec<PathBuf>, buffer_bytes: usize) -> io::Result<SortedRecords<R>> {
        let mut readers = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::with_capacity(runs.len());
        for (index, path) in runs.iter().enumerate() {
            let mut reader = BufReader::with_capacity(buffer_bytes, File::open(path)?);
            if let Some(record) = R::read_from(&mut reader)? {
                heap.push(Reverse((record, index)));
            }
            readers.push(reader);
        }
        Ok(SortedRecords {
            memory: Vec::new().into_iter(),
            heap,
            readers,
            runs,
            last: None,
        })
    }
}

/// The sorted, deduplicated records.
pub(crate) struct SortedRecords<R: Record> {
    memory: std::vec::IntoIter<R>,
    heap: BinaryHeap<Reverse<(R, usize)>>,
    readers: Vec<BufReader<File>>,
    runs: Vec<PathBuf>,
    last: Option<R>,
}

impl<R: Record + Clone> SortedRecords<R> {
    /// The next record in order, each distinct record once.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<R>> {
        if self.readers.is_empty() {
            return Ok(self.memory.next());
        }
        loop {
            let Some(Reverse((record, index))) = self.heap.pop() else {
                return Ok(None);
            };
            if let Some(next) = R::read_from(&mut self.readers[index])? {
                self.heap.push(Reverse((next, index)));
            }
            if self.last.as_ref() != Some(&record) {
                self.last = Some(record.clone());
                return Ok(Some(record));
            }
        }
    }
}

impl<R: Record> Drop for SortedRecords<R> {
    fn drop(&mut self) {
        for run in &self.runs {
            let _ = std::fs::remove_file(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_and_dedups_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter: ExternalSorter<u128> =
            ExternalSorter::new(dir.path(), "t", 1 << 20, MergePlan::default());
        // Pseudo-random order with duplicates, enough for several runs of 1 MiB.
        let mut expected = Vec::new();
        let mut x: u128 = 12345;
        for _ in 0..200_000 {
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64);
            let value = x % 50_000;
            sorter.push(value).unwrap();
            expected.push(value);
        }
        expected.sort_unstable();
        expected.dedup();
        let (mut sorted, _) = sorter.finish().unwrap();
        assert!(sorted.runs.len() >= 2, "the test should spill");
        let runs = sorted.runs.clone();
        let mut actual = Vec::new();
        while let Some(value) = sorted.next_record().unwrap() {
            actual.push(value);
        }
        assert_eq!(actual, expected);
        drop(sorted);
        assert!(
            runs.iter().all(|run| !run.exists()),
            "run files are removed"
        );
    }

    #[test]
    fn records_round_trip_through_varints_across_buffer_ends() {
        let values = [
            0u128,
            1,
            127,
            128,
            u128::from(u64::MAX),
            u128::MAX,
            (5u128 << 64) | 300,
        ];
        let long = vec![b'C'; 300];
        let mut bytes = Vec::new();
        for value in values {
            value.write_to(&mut bytes).unwrap();
        }
        AlleleRecord::new(&long, u64::MAX)
            .write_to(&mut bytes)
            .unwrap();
        AlleleRecord::new(b"key", 2_000_000_000)
            .write_to(&mut bytes)
            .unwrap();
        // A 3-byte buffer: numbers and keys cross its end all the time.
        for capacity in [3, 1 << 16] {
            let mut input = BufReader::with_capacity(capacity, &bytes[..]);
            for value in values {
                assert_eq!(u128::read_from(&mut input).unwrap(), Some(value));
            }
            let record = AlleleRecord::read_from(&mut input).unwrap().unwrap();
            assert_eq!((record.key(), record.rs), (&long[..], u64::MAX));
            let record = AlleleRecord::read_from(&mut input).unwrap().unwrap();
            assert_eq!((record.key(), record.rs), (&b"key"[..], 2_000_000_000));
            assert_eq!(u128::read_from(&mut input).unwrap(), None);
        }
        // Cut inside a record: an error, not a short record or the end.
        let mut cut = Vec::new();
        ((7u128 << 64) | 1_000_000).write_to(&mut cut).unwrap();
        cut.pop();
        assert!(u128::read_from(&mut &cut[..]).is_err());
    }

    #[test]
    fn many_runs_merge_in_passes() {
        let dir = tempfile::tempdir().unwrap();
        // A 4 KiB budget: 256 records a run, 200 runs, so two merge levels.
        let mut sorter: ExternalSorter<u128> =
            ExternalSorter::new(dir.path(), "m", 4096, MergePlan::default());
        for value in (0..51_200u128).rev() {
            sorter.push(value).unwrap();
        }
        assert!(sorter.runs.len() > MergePlan::default().fan_in);
        let (mut sorted, spilled) = sorter.finish().unwrap();
        // 200 runs of 4 KiB, then merged runs on top: all counted. Each record is spilled
        // as two varints (the high half, 0, in one byte).
        let varint_bytes = |value: u128| (128 - value.leading_zeros()).div_ceil(7).max(1) as u64;
        let runs: u64 = (0..51_200u128).map(|value| 1 + varint_bytes(value)).sum();
        assert!(spilled > runs, "{spilled} <= {runs}");
        let mut expected = 0u128;
        while let Some(value) = sorted.next_record().unwrap() {
            assert_eq!(value, expected);
            expected += 1;
        }
        assert_eq!(expected, 51_200);
        drop(sorted);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "every run file is removed"
        );
    }

    #[test]
    fn allele_records_order_by_key_then_rs() {
        let dir = tempfile::tempdir().unwrap();
        let mut sorter: ExternalSorter<AlleleRecord> =
            ExternalSorter::new(dir.path(), "a", 1 << 20, MergePlan::default());
        let long = vec![b'A'; 40];
        for (key, rs) in [
            (&b"b"[..], 2),
            (b"a", 9),
            (&long[..], 1),
            (b"a", 3),
            (b"a", 3),
            (b"ab", 1),
        ] {
            sorter.push(AlleleRecord::new(key, rs)).unwrap();
        }
        let (mut sorted, _) = sorter.finish().unwrap();
        let mut actual = Vec::new();
        while let Some(record) = sorted.next_record().unwrap() {
            actual.push((record.key().to_vec(), record.rs));
        }
        // `A` (65) sorts before `a` (97): plain byte order.
        assert_eq!(
            actual,
            vec![
                (long.clone(), 1),
                (b"a".to_vec(), 3),
                (b"a".to_vec(), 9),
                (b"ab".to_vec(), 1),
                (b"b".to_vec(), 2)
            ]
        );
        let mut bytes = Vec::new();
        AlleleRecord::new(&long, 7).write_to(&mut bytes).unwrap();
        assert_eq!(
            AlleleRecord::read_from(&mut &bytes[..]).unwrap(),
            Some(AlleleRecord::new(&long, 7))
        );
        assert!(
            AlleleRecord::read_from(&mut &bytes[..5]).is_err(),
            "a cut record is an error"
        );
    }
}
