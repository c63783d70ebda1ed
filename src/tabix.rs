//! The one room where htslib lives. It opens a bgzipped VCF with an explicit tabix/CSI
//! index and hands out header bytes and record lines as plain Rust slices.
//!
//! rust-htslib's safe `tbx::Reader` panics on non-UTF-8 lines, unknown read errors and
//! names with NUL, and dereferences a null file handle when the open fails, so this module
//! wraps the raw bindings it re-exports instead. Callers check that the file and index
//! exist before anything here runs; nothing from htslib leaves this module.

use std::ffi::{CStr, CString};
use std::os::raw::{c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::Once;

use rust_htslib::htslib as hts;

/// A reader over one indexed VCF. htslib's per-handle block cache stays off: it copies
/// every block it inflates, and measured (callgrind, 40 queries of 50 rsIDs) it cost 8%
/// more instructions than the rare re-reads it saved. It owns its htslib handles; it may move to another
/// thread between uses but is used by one thread at a time (`&mut self`).
pub(crate) struct TabixReader {
    file: *mut hts::htsFile,
    index: *mut hts::tbx_t,
    iterator: *mut hts::hts_itr_t,
    line: hts::kstring_t,
    /// The same VCF through std, to check where the index points before htslib reads.
    data: std::fs::File,
    data_size: u64,
    /// Sequences whose index entries were found to point at blocks of this file.
    verified: Vec<bool>,
    /// The first record's CHROM, once the header is read.
    first_chromosome: Option<Vec<u8>>,
}

/// Why a fetch failed.
#[derive(Debug)]
pub(crate) enum FetchError {
    /// htslib could not build an iterator.
    Query(String),
    /// The index points at `offset`, which is not the start of a BGZF block of this file:
    /// it belongs to another file, or to this one before it was rewritten.
    IndexMismatch { offset: u64 },
    /// The index's chunks end at `covered`, far before the file's end: it is the index of
    /// a shorter file.
    IndexShort { covered: u64 },
    /// The index's first sequence is not the file's first record's CHROM: it is another
    /// file's index.
    IndexNamesOther {
        first_record: String,
        indexed_first: String,
    },
}

// SAFETY: the handles are owned exclusively by this value, htslib keeps no thread-local
// state for them, and every use goes through `&mut self`, so no two threads touch them
// at once. The value is never shared (`Sync` is not implemented).
unsafe impl Send for TabixReader {}

fn quiet_htslib() {
    static QUIET: Once = Once::new();
    // A library never prints: htslib's own messages would go to stderr; vcfq's errors
    // say what failed instead.
    // SAFETY: sets htslib's global log level, a plain integer; `Once` makes the call
    // happen once, before any other htslib call of this process's vcfq.
    QUIET.call_once(|| unsafe { hts::hts_set_log_level(hts::htsLogLevel_HTS_LOG_OFF) });
}

fn c_path(path: &Path) -> Result<CString, String> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| "the path contains a NUL byte".to_string())
}

impl TabixReader {
    /// Opens `vcf` with the index at `index_path`. Both must exist (checked by the caller).
    pub(crate) fn open(vcf: &Path, index_path: &Path) -> Result<TabixReader, String> {
        quiet_htslib();
        let vcf_c = c_path(vcf)?;
        let index_c = c_path(index_path)?;
        // Opened before any htslib handle, so that a failure here leaks nothing.
        let data =
            std::fs::File::open(vcf).map_err(|error| format!("cannot open the file: {error}"))?;
        let data_size = data
            .metadata()
            .map_err(|error| format!("cannot read the file: {error}"))?
            .len();
        // SAFETY: valid NUL-terminated strings; a null result is handled.
        let file = unsafe { hts::hts_open(vcf_c.as_ptr(), c"r".as_ptr()) };
        if file.is_null() {
            return Err(format!(
                "htslib could not open the file: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: as above; HTS_IDX_SILENT_FAIL only silences htslib's message.
        let index = unsafe {
            hts::tbx_index_load3(
                vcf_c.as_ptr(),
                index_c.as_ptr(),
                hts::HTS_IDX_SILENT_FAIL as c_int,
            )
        };
        let reader = TabixReader {
            file,
            index,
            iterator: ptr::null_mut(),
            line: hts::kstring_t {
                l: 0,
                m: 0,
                s: ptr::null_mut(),
            },
            data,
            data_size,
            verified: Vec::new(),
            first_chromosome: None,
        };
        if index.is_null() {
            return Err(format!(
                "the index {} does not open as a tabix (.tbi) or CSI index",
                index_path.display()
            ));
        }
        Ok(reader)
    }

    /// The header: every leading line that starts with `#`, each ending in `\n`.
    /// Call once, right after [`TabixReader::open`].
    pub(crate) fn read_header(&mut self) -> Result<Vec<u8>, String> {
        let mut header = Vec::new();
        loop {
            // SAFETY: file and line are owned and valid; htslib grows `line` as needed.
            let status = unsafe { hts::hts_getline(self.file, b'\n' as c_int, &mut self.line) };
            if status == -1 {
                break;
            }
            if status < -1 {
                return Err(
                    "the header could not be read (truncated or corrupt compressed data)"
                        .to_string(),
                );
            }
            let line = self.current_line();
            if line.first() != Some(&b'#') {
                // The first record: tabix numbers sequences in the order they first appear,
                // so an index of this file names its CHROM first (see `check_index`).
                let chromosome = line.split(|&b| b == b'\t').next().unwrap_or_default();
                self.first_chromosome = Some(chromosome.to_vec());
                break;
            }
            header.extend_from_slice(line);
            header.push(b'\n');
        }
        Ok(header)
    }

    /// Names of the sequences the index has records for, in index order (tid order).
    pub(crate) fn sequence_names(&self) -> Vec<Vec<u8>> {
        let mut count: c_int = 0;
        // SAFETY: index is valid; the returned array (not its strings) is ours to free.
        let names = unsafe { hts::tbx_seqnames(self.index, &mut count) };
        if names.is_null() {
            return Vec::new();
        }
        let list = (0..usize::try_from(count).unwrap_or(0))
            // SAFETY: `count` entries, each a NUL-terminated string owned by the index.
            .map(|i| unsafe { CStr::from_ptr(*names.add(i)) }.to_bytes().to_vec())
            .collect();
        // SAFETY: allocated by htslib with malloc.
        unsafe { libc::free(names as *mut c_void) };
        list
    }

    /// The index's id for a sequence name, if it has one.
    pub(crate) fn sequence_id(&self, name: &[u8]) -> Option<i32> {
        let name = CString::new(name).ok()?;
        // SAFETY: valid index and string.
        let id = unsafe { hts::tbx_name2id(self.index, name.as_ptr()) };
        (id >= 0).then_some(id)
    }

    /// Positions the reader on the records of `sequence_id` that overlap the 0-based,
    /// half-open interval `[start, end)`. The first time a sequence is read, the block the
    /// index points at is checked to be a BGZF block of this file (a stale or foreign
    /// index would otherwise make htslib fail obscurely or read garbage).
    pub(crate) fn fetch(
        &mut self,
        sequence_id: i32,
        start: i64,
        end: i64,
    ) -> Result<(), FetchError> {
        if !self.query(sequence_id, start, end) {
            return Err(FetchError::Query(format!(
                "htslib could not query sequence {sequence_id} at {start}-{end}"
            )));
        }
        let slot = usize::try_from(sequence_id).unwrap_or(0);
        if !self.verified.get(slot).copied().unwrap_or(false) {
            if let Some(offset) = self.chunks().first().map(|chunk| chunk.u >> 16) {
                if !self.is_block_start(offset) {
                    self.drop_iterator();
                    return Err(FetchError::IndexMismatch { offset });
                }
                if self.verified.len() <= slot {
                    self.verified.resize(slot + 1, false);
                }
                self.verified[slot] = true;
            }
        }
        Ok(())
    }

    /// Checks that the index belongs to this file, before any query relies on it (call
    /// after [`TabixReader::read_header`]): the first record's CHROM must be the index's
    /// first sequence, every chunk of every sequence must lie within the file, and each
    /// sequence's first chunk must start at a BGZF block. An index copied from another VCF (or this one's before
    /// it was rewritten) fails here; otherwise it would silently answer "no records" for
    /// windows where it lists none.
    pub(crate) fn check_index(&mut self) -> Result<(), FetchError> {
        let names = self.sequence_names();
        if let (Some(first), Some(indexed)) = (&self.first_chromosome, names.first()) {
            if first != indexed {
                return Err(FetchError::IndexNamesOther {
                    first_record: String::from_utf8_lossy(first).into_owned(),
                    indexed_first: String::from_utf8_lossy(indexed).into_owned(),
                });
            }
        }
        let sequences = names.len();
        // The end of the last sequence's last chunk: the block holding the end of the
        // file's last record (sequences are numbered in file order).
        let mut covered = None;
        for sequence_id in 0..sequences {
            let Ok(sequence_id) = i32::try_from(sequence_id) else {
                break;
            };
            // Each sequence's first bin (its first records, and the chunks of the bins
            // above it); the last sequence whole (htslib clamps the end to its largest bin).
            // Reading every sequence whole would cost ~8 ms for a genome-wide index.
            let last = sequence_id as usize + 1 == sequences;
            let end = if last { 1 << 44 } else { 1 << 14 };
            let chunks = self.chunk_offsets(sequence_id, end);
            let beyond = chunks
                .iter()
                .map(|&(start, end)| start.max(end))
                .find(|&offset| offset > self.data_size);
            if let Some(offset) = beyond {
                if self.ends_with_eof_block() {
                    return Err(FetchError::IndexMismatch { offset });
                }
                // The file was cut short (no end-of-file block): the records before the cut
                // still answer, and a query that reaches the cut fails as corrupt data.
                continue;
            }
            if let Some(&(offset, _)) = chunks.first() {
                if !self.is_block_start(offset) {
                    return Err(FetchError::IndexMismatch { offset });
                }
            }
            if last {
                covered = chunks.iter().map(|&(_, end)| end).max();
            }
        }
        // An index of this file reaches its last data block: after that block come at most
        // bgzip's end-of-file block and nothing else.
        if let Some(covered) = covered {
            let slack = (crate::bgzf::MAX_BLOCK_SIZE + crate::bgzf::EOF_BLOCK_SIZE) as u64;
            if covered.saturating_add(slack) < self.data_size {
                return Err(FetchError::IndexShort { covered });
            }
        }
        Ok(())
    }

    /// Replaces the current iterator with one over the records of `sequence_id` that
    /// overlap `[start, end)`; `false` when htslib could not build one.
    fn query(&mut self, sequence_id: i32, start: i64, end: i64) -> bool {
        self.drop_iterator();
        // SAFETY: valid index; a null iterator is handled.
        let iterator = unsafe {
            hts::hts_itr_query(
                (*self.index).idx,
                sequence_id,
                start,
                end,
                Some(hts::tbx_readrec),
            )
        };
        if iterator.is_null() {
            return false;
        }
        self.iterator = iterator;
        true
    }

    /// The compressed offsets (start, end) of the current iterator's chunks, in file
    /// order; none without an iterator.
    fn chunks(&self) -> &[hts::hts_pair64_max_t] {
        if self.iterator.is_null() {
            return &[];
        }
        // SAFETY: the iterator is valid and owned by `self`, which the borrow keeps from
        // replacing or destroying it; `off` holds `n_off` chunks when non-null.
        unsafe {
            let count = usize::try_from((*self.iterator).n_off).unwrap_or(0);
            if count == 0 || (*self.iterator).off.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts((*self.iterator).off, count)
            }
        }
    }

    /// The (start, end) compressed offsets of the chunks the index lists for positions
    /// `0..end` of sequence `sequence_id`.
    fn chunk_offsets(&mut self, sequence_id: i32, end: i64) -> Vec<(u64, u64)> {
        if !self.query(sequence_id, 0, end) {
            return Vec::new();
        }
        let offsets = self
            .chunks()
            .iter()
            .map(|chunk| (chunk.u >> 16, chunk.v >> 16))
            .collect();
        self.drop_iterator();
        offsets
    }

    /// Whether the file ends with bgzip's end-of-file block (a file cut short does not).
    fn ends_with_eof_block(&self) -> bool {
        let size = crate::bgzf::EOF_BLOCK_SIZE as u64;
        let mut tail = [0u8; crate::bgzf::EOF_BLOCK_SIZE];
        self.data_size >= size
            && std::os::unix::fs::FileExt::read_exact_at(
                &self.data,
                &mut tail,
                self.data_size - size,
            )
            .is_ok()
            && tail == crate::bgzf::EOF_BLOCK
    }

    /// Whether a BGZF block of this file starts at `offset`.
    fn is_block_start(&self, offset: u64) -> bool {
        let mut header = [0u8; crate::bgzf::HEADER_SIZE];
        offset < self.data_size
            && std::os::unix::fs::FileExt::read_exact_at(&self.data, &mut header, offset).is_ok()
            && crate::bgzf::block_size(&header).is_some()
    }

    /// The next record line of the current fetch, without its newline; `None` at the end.
    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        if self.iterator.is_null() {
            return Ok(None);
        }
        // SAFETY: all handles are valid and owned; tbx_readrec writes into `line`.
        let status = unsafe {
            hts::hts_itr_next(
                hts::hts_get_bgzfp(self.file),
                self.iterator,
                &mut self.line as *mut hts::kstring_t as *mut c_void,
                self.index as *mut c_void,
            )
        };
        match status {
            -1 => Ok(None),
            s if s < -1 => {
                self.drop_iterator();
                Err("reading a record failed: the compressed data is truncated or corrupt, or the index does not match the file".to_string())
            }
            _ => Ok(Some(self.current_line())),
        }
    }

    fn current_line(&self) -> &[u8] {
        if self.line.s.is_null() {
            return &[];
        }
        // SAFETY: htslib keeps `l` bytes valid at `s` until the next read into `line`,
        // and the returned borrow ends before any `&mut self` call.
        unsafe { std::slice::from_raw_parts(self.line.s as *const u8, self.line.l) }
    }

    fn drop_iterator(&mut self) {
        if !self.iterator.is_null() {
            // SAFETY: created by hts_itr_query and not yet destroyed.
            unsafe { hts::hts_itr_destroy(self.iterator) };
            self.iterator = ptr::null_mut();
        }
    }
}

impl Drop for TabixReader {
    fn drop(&mut self) {
        self.drop_iterator();
        // SAFETY: each handle is owned, valid or null, and released once.
        unsafe {
            if !self.index.is_null() {
                hts::tbx_destroy(self.index);
            }
            if !self.file.is_null() {
                hts::hts_close(self.file);
            }
            if !self.line.s.is_null() {
                libc::free(self.line.s as *mut c_void);
            }
        }
    }
}

/// Writes a BGZF (bgzip) file through htslib, as `bgzip` does.
pub(crate) struct BgzfWriter {
    handle: *mut hts::BGZF,
}

// SAFETY: the handle is owned exclusively and only used through `&mut self`.
unsafe impl Send for BgzfWriter {}

impl BgzfWriter {
    pub(crate) fn create(path: &Path) -> Result<BgzfWriter, String> {
        quiet_htslib();
        let path_c = c_path(path)?;
        // SAFETY: valid strings; a null handle is handled.
        let handle = unsafe { hts::bgzf_open(path_c.as_ptr(), c"w".as_ptr()) };
        if handle.is_null() {
            return Err(format!("cannot create {}", path.display()));
        }
        Ok(BgzfWriter { handle })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), String> {
        // SAFETY: the handle is valid and `bytes` is readable for its length.
        let written =
            unsafe { hts::bgzf_write(self.handle, bytes.as_ptr() as *const c_void, bytes.len()) };
        if written < 0 || written as usize != bytes.len() {
            return Err("writing compressed data failed".to_string());
        }
        Ok(())
    }

    /// Flushes, writes the end-of-file block and closes.
    pub(crate) fn finish(mut self) -> Result<(), String> {
        let handle = std::mem::replace(&mut self.handle, ptr::null_mut());
        // SAFETY: the handle is valid and closed exactly once.
        if unsafe { hts::bgzf_close(handle) } != 0 {
            return Err("closing the compressed file failed".to_string());
        }
        Ok(())
    }
}

impl Drop for BgzfWriter {
    fn drop(&mut self) {
        if !self.handle.is_null() {
            // SAFETY: not yet closed.
            unsafe { hts::bgzf_close(self.handle) };
        }
    }
}

/// Builds `VCF.tbi` (or `VCF.csi` with `csi`) for a bgzipped, sorted VCF, as
/// `tabix -p vcf` (`-C`) does.
pub(crate) fn build_vcf_index(vcf: &Path, csi: bool) -> Result<(), String> {
    quiet_htslib();
    let vcf_c = c_path(vcf)?;
    let min_shift = if csi { 14 } else { 0 };
    // SAFETY: valid path; a null index name lets htslib pick FILE.tbi / FILE.csi; the
    // configuration is htslib's own static VCF one.
    let status = unsafe {
        hts::tbx_index_build3(
            vcf_c.as_ptr(),
            ptr::null(),
            min_shift,
            1,
            &hts::tbx_conf_vcf,
        )
    };
    if status != 0 {
        return Err(format!(
            "indexing {} failed: is it bgzipped and sorted by position?",
            vcf.display()
        ));
    }
    Ok(())
}
