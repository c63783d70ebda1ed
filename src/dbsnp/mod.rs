//! The dbSNP map: rsID -> loci and locus+allele -> rsID, built once from a dbSNP VCF
//! (`ingest`) into memory-mapped `fst` files, opened in O(1) and queried in microseconds.
//!
//! A map directory holds:
//! - `rsids.fst`: rs number (8 bytes, big-endian) -> one locus packed in a u64
//!   (`contig ordinal << 32 | POS`), or, with [`MULTI`] set, an index into `loci.bin`;
//! - `alleles.fst`: `[contig ordinal][POS u32 BE][REF] 0x00 [ALT]` -> rs number, or, with
//!   [`MULTI`] set, an index into `rsids.bin` (several rsIDs for one allele);
//! - `loci.bin`, `rsids.bin`: little-endian u64 lists, each `count` then the values;
//! - `merged.fst` (when built with merge history): retired rs -> current rs;
//! - `meta.json`: format and version, source, dbSNP build, counts, contig table, the size
//!   and CRC-32 of every file. It is written last, and the directory is renamed into
//!   place, so a half-written map never opens.

mod ingest;
mod sort;

use std::collections::BTreeMap;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde::{Deserialize, Serialize};

use crate::contig::Contig;
use crate::error::{Error, ErrorKind};
use crate::request::{Position, Rsid};

pub use ingest::{build_map, BuildOptions, BuildPhase, BuildProgress, BuildSummary};

/// The format this version of vcfq writes and reads.
pub const FORMAT_NAME: &str = "vcfq-dbsnp-map";
pub const FORMAT_VERSION: u32 = 1;
/// Set in a map value when it points into a side table instead of holding the answer.
pub(crate) const MULTI: u64 = 1 << 63;

pub(crate) const META_FILE: &str = "meta.json";
pub(crate) const RSIDS_FILE: &str = "rsids.fst";
pub(crate) const ALLELES_FILE: &str = "alleles.fst";
pub(crate) const LOCI_FILE: &str = "loci.bin";
pub(crate) const RSID_LISTS_FILE: &str = "rsids.bin";
pub(crate) const MERGED_FILE: &str = "merged.fst";

/// A dbSNP locus: where an rsID is on GRCh38.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locus {
    pub chromosome: &'static Contig,
    pub position: Position,
}

impl Locus {
    pub(crate) fn pack(contig_ordinal: usize, position: u32) -> u64 {
        ((contig_ordinal as u64) << 32) | u64::from(position)
    }

    fn unpack(packed: u64) -> Option<Locus> {
        let chromosome = Contig::all().get(usize::try_from(packed >> 32).ok()?)?;
        let position = Position::new(packed & 0xffff_ffff)?;
        (position.get() <= chromosome.length).then_some(Locus {
            chromosome,
            position,
        })
    }
}

/// The key of `alleles.fst`.
pub(crate) fn allele_key(
    out: &mut Vec<u8>,
    contig_ordinal: usize,
    position: u32,
    reference: &[u8],
    alternate: &[u8],
) {
    out.clear();
    out.push(contig_ordinal as u8);
    out.extend_from_slice(&position.to_be_bytes());
    out.extend_from_slice(reference);
    out.push(0);
    out.extend_from_slice(alternate);
}

/// What `meta.json` records about a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapMetadata {
    pub format: String,
    pub format_version: u32,
    /// The dbSNP VCF it was built from.
    pub source: SourceInfo,
    /// `##dbSNP_BUILD_ID` of the source, e.g. `151`.
    pub dbsnp_build: Option<String>,
    /// `##reference` of the source, e.g. `GRCh38.p7`.
    pub reference: Option<String>,
    pub counts: MapCounts,
    /// Canonical contig names by the ordinal used in keys.
    pub contigs: Vec<String>,
    pub built_at_unix_seconds: u64,
    pub build_seconds: f64,
    /// Size and CRC-32 of every data file, for `vcfq dbsnp check`.
    pub files: BTreeMap<String, FileInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub path: String,
    pub size: u64,
    pub merged_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Retired rsIDs that resolve to a current one.
    pub merged: u64,
    /// Rows skipped because their contig is not a primary GRCh38 contig, by contig name.
    pub skipped_contigs: BTreeMap<String, u64>,
    /// Rows on primary contigs without any rs number.
    pub rows_without_rsid: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    pub size: u64,
    pub crc32: u32,
}

/// An opened dbSNP map. Opening maps the files (O(1)); lookups read them in place.
pub struct RsidMap {
    dir: PathBuf,
    metadata: MapMetadata,
    rsids: fst::Map<Mmap>,
    alleles: fst::Map<Mmap>,
    merged: Option<fst::Map<Mmap>>,
    loci_lists: Mmap,
    rsid_lists: Mmap,
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
    pub files_checked: usize,
    pub bytes_checked: u64,
    pub rsids: u64,
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
    pub fn open(dir: impl AsRef<Path>) -> Result<RsidMap, Error> {
        let dir = dir.as_ref();
        let meta_path = dir.join(META_FILE);
        let meta_text = match std::fs::read(&meta_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let what = if dir.is_dir() {
                    "is not a dbSNP map (it has no meta.json)"
                } else {
                    "does not exist"
                };
                return Err(map_error(
                    dir,
                    format!("{what}: build a map with `vcfq dbsnp build DBSNP_VCF --out DIR`"),
                ));
            }
            Err(error) => {
                return Err(map_error(
                    dir,
                    format!("cannot read {}: {error}", meta_path.display()),
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
        let map_file = |name: &str| -> Result<Mmap, Error> {
            let path = dir.join(name);
            let expected = metadata.files.get(name).ok_or_else(|| {
                map_error(dir, format!("meta.json does not list {name}; {REBUILD}"))
            })?;
            let file = File::open(&path).map_err(|error| {
                map_error(dir, format!("cannot open {name}: {error}; {REBUILD}"))
            })?;
            let size = file
                .metadata()
                .map_err(|error| map_error(dir, format!("cannot stat {name}: {error}")))?
                .len();
            if size != expected.size {
                return Err(map_error(
                    dir,
                    format!("{name} is {size} bytes, meta.json says {} (truncated or replaced); {REBUILD}", expected.size),
                ));
            }
            // SAFETY: the map's files are written once and never modified in place (a rebuild
            // renames a new directory into place), so the mapping stays valid while open.
            unsafe { Mmap::map(&file) }
                .map_err(|error| map_error(dir, format!("cannot map {name}: {error}")))
        };
        let fst_map = |name: &str| -> Result<fst::Map<Mmap>, Error> {
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
        let loci_lists = map_file(LOCI_FILE)?;
        let rsid_lists = map_file(RSID_LISTS_FILE)?;
        if rsids.len() as u64 != metadata.counts.rsids
            || alleles.len() as u64 != metadata.counts.allele_keys
        {
            return Err(map_error(
                dir,
                format!("the fst maps do not hold the counts meta.json records; {REBUILD}"),
            ));
        }
        Ok(RsidMap {
            dir: dir.to_path_buf(),
            metadata,
            rsids,
            alleles,
            merged,
            loci_lists,
            rsid_lists,
        })
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
            let key = rsid.number().to_be_bytes();
            let (current, value) = match self.rsids.get(key) {
                Some(value) => (rsid, value),
                None => {
                    let Some(current) = self
                        .merged
                        .as_ref()
                        .and_then(|merged| merged.get(key))
                        .and_then(Rsid::from_number)
                    else {
                        return Ok(None);
                    };
                    match self.rsids.get(current.number().to_be_bytes()) {
                        Some(value) => (current, value),
                        None => return Ok(None),
                    }
                }
            };
            let packed = self.values(value, &self.loci_lists, LOCI_FILE)?;
            let loci = packed
                .into_iter()
                .map(|p| Locus::unpack(p).ok_or_else(|| self.corrupt(RSIDS_FILE)))
                .collect::<Result<_, _>>()?;
            Ok(Some((current, loci)))
        })
    }

    /// Every rsID dbSNP gives for this exact allele, smallest first.
    pub fn rsids_for_allele(
        &self,
        chromosome: &Contig,
        position: u64,
        reference: &[u8],
        alternate: &[u8],
    ) -> Result<Vec<Rsid>, Error> {
        let Ok(position) = u32::try_from(position) else {
            return Ok(Vec::new());
        };
        let mut key = Vec::with_capacity(8 + reference.len() + alternate.len());
        allele_key(
            &mut key,
            chromosome.ordinal(),
            position,
            reference,
            alternate,
        );
        self.guard(|| match self.alleles.get(&key) {
            None => Ok(Vec::new()),
            Some(value) => self
                .values(value, &self.rsid_lists, RSID_LISTS_FILE)?
                .into_iter()
                .map(|n| Rsid::from_number(n).ok_or_else(|| self.corrupt(ALLELES_FILE)))
                .collect(),
        })
    }

    /// The `rsid` field for a record without an rsID in its ID column (CONTRACT section 4,
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
    /// and that every value decodes to valid loci and rsIDs.
    pub fn check(&self) -> Result<CheckReport, Error> {
        let mut bytes_checked = 0;
        for (name, info) in &self.metadata.files {
            let data = std::fs::read(self.dir.join(name))
                .map_err(|error| map_error(&self.dir, format!("cannot read {name}: {error}")))?;
            let crc = crc32fast::hash(&data);
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
        self.guard(|| {
            use fst::Streamer;
            let mut stream = self.rsids.stream();
            while let Some((_, value)) = stream.next() {
                for packed in self.values(value, &self.loci_lists, LOCI_FILE)? {
                    Locus::unpack(packed).ok_or_else(|| self.corrupt(RSIDS_FILE))?;
                }
            }
            let mut stream = self.alleles.stream();
            while let Some((key, value)) = stream.next() {
                if key.len() < 7
                    || usize::from(key[0]) >= Contig::all().len()
                    || !key[5..].contains(&0)
                {
                    return Err(self.corrupt(ALLELES_FILE));
                }
                for rs in self.values(value, &self.rsid_lists, RSID_LISTS_FILE)? {
                    Rsid::from_number(rs).ok_or_else(|| self.corrupt(ALLELES_FILE))?;
                }
            }
            Ok(())
        })?;
        Ok(CheckReport {
            files_checked: self.metadata.files.len(),
            bytes_checked,
            rsids: self.rsids.len() as u64,
            allele_keys: self.alleles.len() as u64,
        })
    }

    /// A value is either the answer itself or, with [`MULTI`], the index of a
    /// `count, values...` list in a side table.
    fn values(&self, value: u64, table: &[u8], name: &str) -> Result<Vec<u64>, Error> {
        if value & MULTI == 0 {
            return Ok(vec![value]);
        }
        let read = |index: u64| -> Option<u64> {
            let start = usize::try_from(index).ok()?.checked_mul(8)?;
            let bytes = table.get(start..start.checked_add(8)?)?;
            Some(u64::from_le_bytes(bytes.try_into().ok()?))
        };
        let index = value & !MULTI;
        let count = read(index)
            .filter(|count| (2..=1 << 32).contains(count))
            .ok_or_else(|| self.corrupt(name))?;
        (1..=count)
            .map(|i| read(index + i).ok_or_else(|| self.corrupt(name)))
            .collect()
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
