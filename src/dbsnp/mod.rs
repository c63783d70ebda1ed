//! The dbSNP map: rsID -> loci and locus+allele -> rsID, built once from a dbSNP VCF
//! (`ingest`) into memory-mapped `fst` files, opened in O(1) and queried in microseconds.
//!
//! A map directory holds (layout in `format`):
//! - `rsids.fst` + `rsids.bin`: rsID -> loci (chromosome, POS);
//! - `alleles.fst` + `alleles.bin`: (chromosome, POS, REF, ALT) -> rsIDs;
//! - `merged.fst` (when built with merge history): retired rs -> current rs;
//! - `meta.json`: format and version, source, dbSNP build, counts, contig table, the size
//!   and CRC-32 of every file. It is written last, and the directory is renamed into
//!   place, so a half-written map never opens.

mod excerpt;
mod format;
pub(crate) mod ingest;
mod sort;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::types::Contig;
use crate::types::{Position, Rsid};
use format::{
    allele_bucket_key, bucket_body, decode_allele_entry, position_from_bucket, position_low_bits,
    rsid_bucket_key, rsid_entries, rsid_from_bucket, rsid_loci, TABLE_MAGIC,
};

pub use ingest::{
    build_map, minimum_memory_bytes, BuildOptions, BuildPhase, BuildProgress, BuildSummary,
    MIN_MEMORY_BYTES,
};

/// The format this version of vcfq writes and reads.
pub const FORMAT_NAME: &str = "vcfq-dbsnp-map";
/// The map format's version; a map of another version is refused with what to run.
pub const FORMAT_VERSION: u32 = 1;

pub(crate) const META_FILE: &str = "meta.json";
pub(crate) const RSIDS_FILE: &str = "rsids.fst";
pub(crate) const ALLELES_FILE: &str = "alleles.fst";
pub(crate) const RSIDS_TABLE: &str = "rsids.bin";
pub(crate) const ALLELES_TABLE: &str = "alleles.bin";
pub(crate) const MERGED_FILE: &str = "merged.fst";

/// A dbSNP locus: where an rsID is on GRCh38.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locus {
    /// The contig.
    pub chromosome: &'static Contig,
    /// The POS dbSNP gives.
    pub position: Position,
}

/// Where each contig starts in the concatenated genome (0-based), and the total length.
fn genome_offsets() -> &'static [u64; 26] {
    static OFFSETS: std::sync::OnceLock<[u64; 26]> = std::sync::OnceLock::new();
    OFFSETS.get_or_init(|| {
        let mut offsets = [0u64; 26];
        for (i, contig) in Contig::all().iter().enumerate() {
            offsets[i + 1] = offsets[i] + contig.length;
        }
        offsets
    })
}

impl Locus {
    /// A locus as one number: its 0-based offset in the concatenated GRCh38 primary
    /// contigs (3.1 billion: four bytes, where contig and POS apart would need five).
    pub(crate) fn pack(contig_ordinal: usize, position: u32) -> u64 {
        genome_offsets()[contig_ordinal] + u64::from(position) - 1
    }

    fn unpack(packed: u64) -> Option<Locus> {
        let offsets = genome_offsets();
        if packed >= offsets[25] {
            return None;
        }
        let ordinal = offsets.partition_point(|&start| start <= packed) - 1;
        let chromosome = Contig::all().get(ordinal)?;
        let position = Position::new(packed - offsets[ordinal] + 1)?;
        Some(Locus {
            chromosome,
            position,
        })
    }
}

/// An allele dbSNP gives at a position, and its rs number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allele {
    /// The rs number.
    pub rs: u64,
    /// REF.
    pub reference: Vec<u8>,
    /// One ALT.
    pub alternate: Vec<u8>,
}

/// The key of `merged.fst`: the rs number, big-endian.
pub(crate) fn rsid_key(rs: u64) -> [u8; 8] {
    rs.to_be_bytes()
}

/// What `meta.json` records about a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapMetadata {
    /// `vcfq-dbsnp-map`.
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// The dbSNP VCF it was built from.
    pub source: SourceInfo,
    /// `##dbSNP_BUILD_ID` of the source, e.g. `151`.
    pub dbsnp_build: Option<String>,
    /// `##reference` of the source, e.g. `GRCh38.p7`.
    pub reference: Option<String>,
    /// What the build counted.
    pub counts: MapCounts,
    /// Canonical contig names by the ordinal used in keys.
    pub contigs: Vec<String>,
    /// When the map was written.
    pub built_at_unix_seconds: u64,
    /// How long the build took.
    pub build_seconds: f64,
    /// Of which reading and resolving the merge history (`--merged`) took.
    #[serde(default)]
    pub merged_seconds: f64,
    /// Size and CRC-32 of every data file, for `vcfq dbsnp check`.
    pub files: BTreeMap<String, FileInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// The files a map was built from.
pub struct SourceInfo {
    /// The dbSNP VCF's absolute path (the first one's, when several were read).
    pub path: String,
    /// Every source's absolute path, in the order read (empty in maps from before
    /// several sources were accepted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Its size in bytes.
    pub size: u64,
    /// The merge history's absolute path, if one was given.
    pub merged_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
/// What a build counted, in `meta.json` and the build's summary.
pub struct MapCounts {
    /// Data lines read from the source.
    pub rows_read: u64,
    /// Rows on primary contigs with at least one rs number.
    pub rows_used: u64,
    /// Distinct rsIDs with a locus.
    pub rsids: u64,
    /// Distinct (rsID, locus) pairs.
    pub loci: u64,
    /// rsIDs at more than one locus.
    pub multi_locus_rsids: u64,
    /// Distinct (locus, REF, ALT) keys.
    pub allele_keys: u64,
    /// Buckets (fst keys) of the rsID and allele tables.
    pub rsid_buckets: u64,
    /// Buckets of the allele table.
    pub allele_buckets: u64,
    /// Retired rsIDs that resolve to a current one.
    pub merged: u64,
    /// Rows skipped because their contig is not a primary GRCh38 contig, by contig name.
    pub skipped_contigs: BTreeMap<String, u64>,
    /// Rows on primary contigs without any rs number.
    pub rows_without_rsid: u64,
    /// Bytes of source text parsed (after inflating): what the build's throughput is
    /// measured against. 0 in maps from before it was counted.
    #[serde(default)]
    pub text_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// One file of a map, as `meta.json` records it for `vcfq dbsnp check`.
pub struct FileInfo {
    /// Its size in bytes.
    pub size: u64,
    /// The CRC-32 of its bytes.
    pub crc32: u32,
}

/// An opened dbSNP map. Opening maps the files (O(1)); lookups read them in place.
pub struct RsidMap {
    dir: PathBuf,
    metadata: MapMetadata,
    rsids: fst::Map<Mmap>,
    rsid_table: Mmap,
    alleles: fst::Map<Mmap>,
    allele_table: Mmap,
    merged: Option<fst::Map<Mmap>>,
    /// The directory as opened, and each mapped file with its identity when mapped: what
    /// [`RsidMap::unchanged`] compares with.
    opened: OpenedFiles,
}

/// The open directory of a map and its mapped files' identities, to tell whether they
/// changed since.
struct OpenedFiles {
    dir: std::fs::File,
    files: Vec<(&'static str, crate::files::FileIdentity)>,
}

impl std::fmt::Debug for RsidMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsidMap")
            .field("dir", &self.dir)
            .field("rsids", &self.metadata.counts.rsids)
            .finish()
    }
}

/// What `vcfq dbsnp check` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Files read whole and checked against their CRC-32.
    pub files_checked: usize,
    /// Bytes read.
    pub bytes_checked: u64,
    /// rsIDs found by walking the rsID table.
    pub rsids: u64,
    /// Allele keys found by walking the allele table.
    pub allele_keys: u64,
}

fn map_error(dir: &Path, message: impl Into<String>) -> Error {
    ErrorKind::DbsnpMap {
        path: dir.to_path_buf(),
        message: message.into(),
    }
    .into()
}

const REBUILD: &str = "rebuild it with `vcfq dbsnp build DBSNP_VCF --out DIR`";

impl RsidMap {
    /// Opens the map in `dir`: reads `meta.json`, checks the format, version, contig table
    /// and file sizes, and maps the files. A missing, foreign, truncated or half-written map
    /// is an error that says so.
    ///
    /// Every file is opened relative to one handle on the directory, so all come from the
    /// same map even while `vcfq dbsnp build` swaps a new one into place; when the swap
    /// (and the removal of the old map) happened while this was opening, it opens the new
    /// map instead.
    pub fn open(dir: impl AsRef<Path>) -> Result<RsidMap, Error> {
        let dir = dir.as_ref();
        let mut attempts = 0;
        loop {
            let handle = match crate::files::open_dir(dir) {
                Ok(handle) => handle,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    return Err(map_error(
                        dir,
                        "does not exist: build a map with `vcfq dbsnp build DBSNP_VCF --out DIR`",
                    ))
                }
                Err(error) => return Err(map_error(dir, format!("cannot open it: {error}"))),
            };
            match RsidMap::open_in(dir, &handle) {
                Err(_) if attempts < 3 && !crate::files::same_dir(dir, &handle) => attempts += 1,
                result => return result,
            }
        }
    }

    /// Opens the map whose directory `handle` has open (at `dir`).
    fn open_in(dir: &Path, handle: &std::fs::File) -> Result<RsidMap, Error> {
        let meta_text = match crate::files::open_regular_at(handle, META_FILE).and_then(
            |mut file| {
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut file, &mut text).map(|_| text)
            },
        ) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(map_error(
                    dir,
                    "is not a dbSNP map (it has no meta.json): build a map with `vcfq dbsnp build DBSNP_VCF --out DIR`",
                ));
            }
            Err(error) => {
                return Err(map_error(
                    dir,
                    format!("cannot read {}: {error}", dir.join(META_FILE).display()),
                ))
            }
        };
        let metadata: MapMetadata = serde_json::from_slice(&meta_text).map_err(|error| {
            map_error(
                dir,
                format!("meta.json is not a vcfq dbSNP map's metadata ({error}); {REBUILD}"),
            )
        })?;
        if metadata.format != FORMAT_NAME {
            return Err(map_error(
                dir,
                format!(
                    "meta.json says format {:?}, not {FORMAT_NAME}; {REBUILD}",
                    metadata.format
                ),
            ));
        }
        if metadata.format_version != FORMAT_VERSION {
            return Err(map_error(
                dir,
                format!(
                    "the map has format version {}, this vcfq reads version {FORMAT_VERSION}; {REBUILD}",
                    metadata.format_version
                ),
            ));
        }
        let expected_contigs: Vec<&str> = Contig::all().iter().map(|contig| contig.name).collect();
        if metadata.contigs != expected_contigs {
            return Err(map_error(
                dir,
                format!("the map was built with a different contig table; {REBUILD}"),
            ));
        }
        let mapped = std::cell::RefCell::new(Vec::new());
        let map_file = |name: &'static str| -> Result<Mmap, Error> {
            let expected = metadata.files.get(name).ok_or_else(|| {
                map_error(dir, format!("meta.json does not list {name}; {REBUILD}"))
            })?;
            let file = crate::files::open_regular_at(handle, name).map_err(|error| {
                map_error(dir, format!("cannot open {name}: {error}; {REBUILD}"))
            })?;
            let file_metadata = file
                .metadata()
                .map_err(|error| map_error(dir, format!("cannot stat {name}: {error}")))?;
            let size = file_metadata.len();
            if size != expected.size {
                return Err(map_error(
                    dir,
                    format!("{name} is {size} bytes, meta.json says {} (truncated or replaced); {REBUILD}", expected.size),
                ));
            }
            // SAFETY: the mapping is read-only and its bytes are checked before use (sizes
            // here, checksums by `vcfq dbsnp check`). vcfq writes a map's files once and
            // replaces a map by renaming a new directory into place, never in place. The risk
            // left: another process truncating or rewriting a mapped file in place (`cp`
            // over it, `truncate`) makes reads of the lost pages raise SIGBUS; a long-lived
            // user (`vcfq serve`) calls `unchanged` before each use to narrow that to a
            // change between the check and the read (docs/robustness.md).
            let map = unsafe { Mmap::map(&file) }
                .map_err(|error| map_error(dir, format!("cannot map {name}: {error}")))?;
            mapped
                .borrow_mut()
                .push((name, crate::files::FileIdentity::of(&file_metadata)));
            Ok(map)
        };
        let fst_map = |name: &'static str| -> Result<fst::Map<Mmap>, Error> {
            fst::Map::new(map_file(name)?).map_err(|error| {
                map_error(
                    dir,
                    format!("{name} is not a valid fst map ({error}); {REBUILD}"),
                )
            })
        };
        let rsids = fst_map(RSIDS_FILE)?;
        let alleles = fst_map(ALLELES_FILE)?;
        let merged = if metadata.files.contains_key(MERGED_FILE) {
            Some(fst_map(MERGED_FILE)?)
        } else {
            None
        };
        let rsid_table = map_file(RSIDS_TABLE)?;
        let allele_table = map_file(ALLELES_TABLE)?;
        for (name, table) in [(RSIDS_TABLE, &rsid_table), (ALLELES_TABLE, &allele_table)] {
            if !table.starts_with(TABLE_MAGIC) {
                return Err(map_error(
                    dir,
                    format!("{name} does not start with the table magic; {REBUILD}"),
                ));
            }
        }
        if rsids.len() as u64 != metadata.counts.rsid_buckets
            || alleles.len() as u64 != metadata.counts.allele_buckets
        {
            return Err(map_error(
                dir,
                format!("the fst maps do not hold the counts meta.json records; {REBUILD}"),
            ));
        }
        let dir_handle = handle
            .try_clone()
            .map_err(|error| map_error(dir, format!("cannot keep the directory open: {error}")))?;
        Ok(RsidMap {
            dir: dir.to_path_buf(),
            metadata,
            rsids,
            rsid_table,
            alleles,
            allele_table,
            merged,
            opened: OpenedFiles {
                dir: dir_handle,
                files: mapped.into_inner(),
            },
        })
    }

    /// Whether the map on disk is still the one mapped: its directory not replaced (by
    /// `vcfq dbsnp build`'s rename, or any other), and no mapped file truncated, extended
    /// or rewritten in place, or replaced by another file renamed over it. A `stat` of the
    /// directory and of each file (about a microsecond in all); `vcfq serve` calls it before each request that uses the map and reopens the
    /// map when it fails. The error names what changed.
    pub fn unchanged(&self) -> Result<(), Error> {
        if !crate::files::same_dir(&self.dir, &self.opened.dir) {
            return Err(map_error(
                &self.dir,
                "was replaced by another directory while in use",
            ));
        }
        // Each file by its name in the directory (a file renamed over it has another
        // inode; one truncated or rewritten in place, another size or time).
        for (name, identity) in &self.opened.files {
            let now =
                crate::files::FileIdentity::of_path(&self.dir.join(name)).ok_or_else(|| {
                    map_error(&self.dir, format!("{name} is gone while in use; {REBUILD}"))
                })?;
            if now != *identity {
                return Err(map_error(
                    &self.dir,
                    format!(
                        "{name} changed while in use ({} bytes, {} when opened): a map's files must not be rewritten in place; build a new map into another directory and rename it into place",
                        now.size, identity.size
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Opens the map in `dir` when one is given (`--dbsnp`), shared for many queries.
    pub fn open_if_given(dir: Option<&Path>) -> Result<Option<std::sync::Arc<RsidMap>>, Error> {
        dir.map(|dir| RsidMap::open(dir).map(std::sync::Arc::new))
            .transpose()
    }

    /// The map's metadata.
    pub fn metadata(&self) -> &MapMetadata {
        &self.metadata
    }

    /// The map's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The current rsID for `rsid` (itself, or what it was merged into) and its loci.
    /// `None` when dbSNP (as built) does not know it on a primary contig.
    pub fn resolve(&self, rsid: Rsid) -> Result<Option<(Rsid, Vec<Locus>)>, Error> {
        self.guard(|| {
            let loci = self.loci(rsid.number())?;
            if !loci.is_empty() {
                return Ok(Some((rsid, loci)));
            }
            let merged = self
                .merged
                .as_ref()
                .and_then(|merged| merged.get(rsid_key(rsid.number())));
            let Some(current) = merged.and_then(Rsid::from_number) else {
                return Ok(None);
            };
            let loci = self.loci(current.number())?;
            Ok((!loci.is_empty()).then_some((current, loci)))
        })
    }

    fn loci(&self, rs: u64) -> Result<Vec<Locus>, Error> {
        let Some(offset) = self.rsids.get(rsid_bucket_key(rs)) else {
            return Ok(Vec::new());
        };
        let (body, _) =
            bucket_body(&self.rsid_table, offset).ok_or_else(|| self.corrupt(RSIDS_TABLE))?;
        rsid_loci(body, rs)
            .ok_or_else(|| self.corrupt(RSIDS_TABLE))?
            .map(|locus| Locus::unpack(u64::from(locus)).ok_or_else(|| self.corrupt(RSIDS_TABLE)))
            .collect()
    }

    /// Every rsID dbSNP gives for this exact allele, smallest first.
    pub fn rsids_for_allele(
        &self,
        chromosome: &Contig,
        position: u64,
        reference: &[u8],
        alternate: &[u8],
    ) -> Result<Vec<Rsid>, Error> {
        let mut found = Vec::new();
        self.each_allele_at(chromosome, position, |entry| {
            if entry.reference == reference && entry.alternate == alternate {
                found.push(Rsid::from_number(entry.rs).ok_or_else(|| self.corrupt(ALLELES_TABLE))?);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Every allele dbSNP gives at this position, in the map's order.
    pub fn alleles_at(&self, chromosome: &Contig, position: u64) -> Result<Vec<Allele>, Error> {
        let mut found = Vec::new();
        self.each_allele_at(chromosome, position, |entry| {
            found.push(Allele {
                rs: entry.rs,
                reference: entry.reference.to_vec(),
                alternate: entry.alternate.to_vec(),
            });
            Ok(())
        })?;
        Ok(found)
    }

    /// Hands `visit` each entry of the allele table at this position, in order.
    fn each_allele_at(
        &self,
        chromosome: &Contig,
        position: u64,
        mut visit: impl FnMut(&format::AlleleEntry<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let Ok(position) = u32::try_from(position) else {
            return Ok(());
        };
        self.guard(|| {
            let Some(offset) = self
                .alleles
                .get(allele_bucket_key(chromosome.ordinal(), position))
            else {
                return Ok(());
            };
            let (body, _) = bucket_body(&self.allele_table, offset)
                .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
            let wanted = position_low_bits(position);
            let mut at = 0;
            while at < body.len() {
                let entry = decode_allele_entry(body, &mut at)
                    .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
                if entry.position_low > wanted {
                    break;
                }
                if entry.position_low == wanted {
                    visit(&entry)?;
                }
            }
            Ok(())
        })
    }

    /// The `rsid` field for a record without an rsID in its ID column (`docs/parity.md`,
    /// "Requests";
    /// step 2): the rsID of the first ALT that has one (the smallest if dbSNP gives several).
    pub fn rsid_for_record<'a>(
        &self,
        chromosome: &Contig,
        position: u64,
        reference: &[u8],
        alternates: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Option<Rsid>, Error> {
        for alternate in alternates {
            if let Some(first) = self
                .rsids_for_allele(chromosome, position, reference, alternate)?
                .first()
            {
                return Ok(Some(*first));
            }
        }
        Ok(None)
    }

    /// Verifies every file fully: sizes and CRC-32s against meta.json, the fst checksums,
    /// that the buckets tile the side files exactly, and that every entry decodes, is in
    /// order and agrees with the counts.
    pub fn check(&self) -> Result<CheckReport, Error> {
        let mut bytes_checked = 0;
        for (name, info) in &self.metadata.files {
            let data = crate::files::read_regular(&self.dir.join(name))
                .map_err(|error| map_error(&self.dir, format!("cannot read {name}: {error}")))?;
            let crc = crate::bgzf::crc32(&data);
            if data.len() as u64 != info.size || crc != info.crc32 {
                return Err(map_error(&self.dir, format!("{name} does not match its checksum in meta.json: the file is damaged; {REBUILD}")));
            }
            bytes_checked += data.len() as u64;
        }
        for (name, map) in [
            (RSIDS_FILE, Some(&self.rsids)),
            (ALLELES_FILE, Some(&self.alleles)),
            (MERGED_FILE, self.merged.as_ref()),
        ] {
            if let Some(map) = map {
                map.as_fst()
                    .verify()
                    .map_err(|error| map_error(&self.dir, format!("{name}: {error}; {REBUILD}")))?;
            }
        }
        let (rsids, loci, allele_keys) = self.guard(|| {
            use fst::Streamer;
            // Buckets must follow one another exactly, from the magic to the end.
            let tiles = |name: &str, offset: u64, end: u64, next: &mut u64| {
                if offset != *next {
                    return Err(self.corrupt(name));
                }
                *next = end;
                Ok(())
            };
            let (mut rsids, mut loci, mut next) = (0u64, 0u64, TABLE_MAGIC.len() as u64);
            let mut stream = self.rsids.stream();
            while let Some((key, offset)) = stream.next() {
                let (body, end) = bucket_body(&self.rsid_table, offset)
                    .ok_or_else(|| self.corrupt(RSIDS_TABLE))?;
                tiles(RSIDS_TABLE, offset, end, &mut next)?;
                let mut previous: Option<(u16, u32)> = None;
                for (low, locus) in rsid_entries(body).ok_or_else(|| self.corrupt(RSIDS_TABLE))? {
                    rsid_from_bucket(key, low)
                        .and_then(Rsid::from_number)
                        .ok_or_else(|| self.corrupt(RSIDS_TABLE))?;
                    Locus::unpack(u64::from(locus)).ok_or_else(|| self.corrupt(RSIDS_TABLE))?;
                    if previous.is_some_and(|entry| entry >= (low, locus)) {
                        return Err(self.corrupt(RSIDS_TABLE));
                    }
                    if previous.map(|(previous_low, _)| previous_low) != Some(low) {
                        rsids += 1;
                    }
                    loci += 1;
                    previous = Some((low, locus));
                }
            }
            if next != self.rsid_table.len() as u64 {
                return Err(self.corrupt(RSIDS_TABLE));
            }
            let (mut allele_keys, mut next) = (0u64, TABLE_MAGIC.len() as u64);
            let mut stream = self.alleles.stream();
            while let Some((key, offset)) = stream.next() {
                let (body, end) = bucket_body(&self.allele_table, offset)
                    .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
                tiles(ALLELES_TABLE, offset, end, &mut next)?;
                let mut at = 0;
                let mut previous: Option<(u8, &[u8], &[u8])> = None;
                while at < body.len() {
                    let entry = decode_allele_entry(body, &mut at)
                        .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
                    let (ordinal, position) = position_from_bucket(key, entry.position_low)
                        .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
                    let contig = Contig::all()
                        .get(ordinal)
                        .ok_or_else(|| self.corrupt(ALLELES_TABLE))?;
                    if position == 0
                        || u64::from(position) > contig.length
                        || entry.rs == 0
                        || entry.reference.is_empty()
                        || entry.alternate.is_empty()
                    {
                        return Err(self.corrupt(ALLELES_TABLE));
                    }
                    let allele = (entry.position_low, entry.reference, entry.alternate);
                    if previous != Some(allele) {
                        allele_keys += 1;
                    }
                    previous = Some(allele);
                }
            }
            if next != self.allele_table.len() as u64 {
                return Err(self.corrupt(ALLELES_TABLE));
            }
            Ok((rsids, loci, allele_keys))
        })?;
        let counts = &self.metadata.counts;
        if (rsids, loci, allele_keys) != (counts.rsids, counts.loci, counts.allele_keys) {
            return Err(map_error(
                &self.dir,
                format!("the tables do not hold the counts meta.json records; {REBUILD}"),
            ));
        }
        Ok(CheckReport {
            files_checked: self.metadata.files.len(),
            bytes_checked,
            rsids,
            allele_keys,
        })
    }

    fn corrupt(&self, name: &str) -> Error {
        map_error(&self.dir, format!("{name} holds a value that does not decode: the map is corrupt; run `vcfq dbsnp check` and {REBUILD}"))
    }

    /// fst reads its bytes in place; a damaged file could make it index out of bounds.
    /// Turn such a panic into a corrupt-map error instead of a crash.
    fn guard<T>(&self, lookup: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        catch_unwind(AssertUnwindSafe(lookup)).unwrap_or_else(|_| {
            Err(map_error(
                &self.dir,
                format!(
                    "reading the map failed: it is corrupt; run `vcfq dbsnp check` and {REBUILD}"
                ),
            ))
        })
    }
}
