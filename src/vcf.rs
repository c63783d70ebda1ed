//! Opening a sample's VCF: the sample requirements of `docs/parity.md` (bgzip, a fresh index
//! that opens and belongs to the file, GRCh38 contig lengths), checked with plain file
//! I/O before htslib sees anything, and the header facts a query needs.

use std::fs;
use std::io::{ErrorKind as IoErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use crate::error::{Error, ErrorKind};
use crate::types::Contig;
use std::sync::Arc;

use crate::bgzf;
use crate::position_index::{BlockReader, PositionIndex};
use crate::tabix::{FetchError, TabixReader};

/// What opening a VCF established.
pub(crate) struct OpenedVcf {
    pub index_path: PathBuf,
    /// For each primary contig (by [`Contig::ordinal`]), the index's ids of the sequence
    /// names that mean it (usually one: `chr19`, `19` or `NC_000019.10`).
    pub sequence_ids: Vec<Vec<(i32, Vec<u8>)>>,
    /// 0-based column of the chosen sample, `None` for a sites-only VCF.
    pub sample_column: Option<usize>,
    pub sample_name: Option<String>,
    /// The reader used for the checks, ready for a first query.
    pub reader: Reader,
    /// The position index, when there is one that matches the file.
    pub positions: Option<Arc<PositionIndex>>,
    /// Why a position index next to the file is not used.
    pub position_index_note: Option<String>,
}

const REINDEX: &str = "re-index it with `tabix -f -p vcf FILE` (or `bcftools index -f -t FILE`)";

/// Opens `path`, checking every sample requirement. `vcf_sample` picks the genotype column.
pub(crate) fn open_vcf(path: &Path, vcf_sample: Option<&str>) -> Result<OpenedVcf, Error> {
    let metadata = fs::metadata(path).map_err(|error| match error.kind() {
        IoErrorKind::NotFound => ErrorKind::VcfNotFound {
            path: path.to_path_buf(),
        }
        .into(),
        _ => Error::io(format!("reading {}", path.display()), error),
    })?;
    if !metadata.is_file() {
        return Err(Error::requirement(
            path,
            "is not a regular file; give the path of a bgzipped VCF",
        ));
    }
    check_bgzf(path)?;
    let index_path = find_fresh_index(path, &metadata)?;

    // The position index (when it matches the file) saves loading the tabix index and
    // holds the header; otherwise htslib reads both.
    let (positions, position_index_note) =
        match crate::position_index::open_or_explain(path, &metadata) {
            Ok(index) => (Some(Arc::new(index)), None),
            Err(note) => (None, note),
        };
    let mut sequence_ids: Vec<Vec<(i32, Vec<u8>)>> = vec![Vec::new(); Contig::all().len()];
    let (reader, samples) = match &positions {
        Some(index) => {
            let samples = check_header(path, index.header())?;
            for (id, name) in index.sequence_names().enumerate() {
                if let (Some(contig), Ok(id)) = (Contig::from_any_name(name), i32::try_from(id)) {
                    sequence_ids[contig.ordinal()].push((id, name.to_vec()));
                }
            }
            let reader = BlockReader::open(path, Arc::clone(index))
                .map_err(|message| Error::corrupt(path, message))?;
            (Reader::Blocks(reader), samples)
        }
        None => {
            let (reader, header) = open_checked_tabix(path, &index_path)?;
            let samples = check_header(path, &header)?;
            for name in reader.sequence_names() {
                let Some(contig) = Contig::from_any_name(&name) else {
                    continue;
                };
                let Some(id) = reader.sequence_id(&name) else {
                    continue;
                };
                sequence_ids[contig.ordinal()].push((id, name));
            }
            (Reader::Tabix(reader), samples)
        }
    };

    let (sample_column, sample_name) = match vcf_sample {
        Some(wanted) => {
            match samples.iter().position(|name| name == wanted) {
                Some(i) => (Some(9 + i), Some(wanted.to_string())),
                None => {
                    let listed: Vec<&str> = samples.iter().take(10).map(String::as_str).collect();
                    let more = if samples.len() > 10 {
                        format!(" and {} more", samples.len() - 10)
                    } else {
                        String::new()
                    };
                    let message = if samples.is_empty() {
                        format!("has no sample {wanted:?}: it is a sites-only VCF with no sample columns")
                    } else {
                        format!(
                            "has no sample {wanted:?}; its samples are: {}{more}",
                            listed.join(", ")
                        )
                    };
                    return Err(ErrorKind::UnknownVcfSample {
                        path: path.to_path_buf(),
                        message,
                    }
                    .into());
                }
            }
        }
        None => (samples.first().map(|_| 9), samples.first().cloned()),
    };
    Ok(OpenedVcf {
        index_path,
        sequence_ids,
        sample_column,
        sample_name,
        reader,
        positions,
        position_index_note,
    })
}

/// A record reader: htslib through the tabix index, or vcfq's own through the position
/// index. One thread at a time uses one.
pub(crate) enum Reader {
    Tabix(TabixReader),
    Blocks(BlockReader),
}

impl Reader {
    /// Opens another reader like this one.
    pub(crate) fn open(
        path: &Path,
        index_path: &Path,
        positions: Option<&Arc<PositionIndex>>,
    ) -> Result<Reader, Error> {
        match positions {
            Some(index) => BlockReader::open(path, Arc::clone(index)).map(Reader::Blocks),
            None => TabixReader::open(path, index_path).map(Reader::Tabix),
        }
        .map_err(|message| Error::corrupt(path, message))
    }

    /// Positions the reader on sequence `id`'s records from POS `start` (1-based) on;
    /// lines may follow that start earlier or end later, and the caller filters them.
    pub(crate) fn fetch(
        &mut self,
        path: &Path,
        index_path: &Path,
        id: i32,
        start: crate::types::Position,
        end: crate::types::Position,
    ) -> Result<(), Error> {
        match self {
            Reader::Tabix(reader) => {
                let (fetch_start, fetch_end) = crate::types::fetch_interval(start, end);
                reader
                    .fetch(id, fetch_start, fetch_end)
                    .map_err(|error| fetch_error(path, index_path, error))
            }
            Reader::Blocks(reader) => reader
                .fetch(
                    usize::try_from(id).unwrap_or(usize::MAX),
                    start.get(),
                    end.get(),
                )
                .map_err(|message| Error::corrupt(path, message)),
        }
    }

    pub(crate) fn next_line(&mut self) -> Result<Option<&[u8]>, String> {
        match self {
            Reader::Tabix(reader) => reader.next_line(),
            Reader::Blocks(reader) => reader.next_line(),
        }
    }
}

/// Opens `path` through its tabix/CSI index at `index_path`, reads the header, and checks
/// that the index belongs to the file (a requirement error otherwise).
pub(crate) fn open_checked_tabix(
    path: &Path,
    index_path: &Path,
) -> Result<(TabixReader, Vec<u8>), Error> {
    let mut reader = TabixReader::open(path, index_path)
        .map_err(|message| Error::requirement(path, format!("{message}; {REINDEX}")))?;
    let header = reader
        .read_header()
        .map_err(|message| Error::corrupt(path, message))?;
    reader
        .check_index()
        .map_err(|error| fetch_error(path, index_path, error))?;
    Ok((reader, header))
}

/// The error for a failed fetch or index check.
pub(crate) fn fetch_error(path: &Path, index_path: &Path, error: FetchError) -> Error {
    match error {
        FetchError::Query(message) => Error::corrupt(path, message),
        FetchError::IndexMismatch { offset } => index_mismatch(path, index_path, offset),
        FetchError::IndexShort { covered } => Error::requirement(
            path,
            format!(
                "its index {} does not match the file (it ends at byte {covered} of the {}-byte file): the index belongs to another file or an older version of this one; {REINDEX}",
                index_path.display(),
                fs::metadata(path).map_or(0, |metadata| metadata.len())
            ),
        ),
        FetchError::IndexNamesOther {
            first_record,
            indexed_first,
        } => Error::requirement(
            path,
            format!(
                "its index {} does not match the file (the file's first record is on {first_record:?}, the index's first sequence is {indexed_first:?}): the index belongs to another file; {REINDEX}",
                index_path.display()
            ),
        ),
    }
}

/// BGZF is gzip with an extra field `BC`; plain gzip cannot be indexed by tabix.
fn check_bgzf(path: &Path) -> Result<(), Error> {
    let mut head = [0u8; bgzf::HEADER_SIZE];
    let mut file = crate::files::open_regular(path)
        .map_err(|error| Error::io(format!("opening {}", path.display()), error))?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == IoErrorKind::Interrupted => {}
            Err(error) => return Err(Error::io(format!("reading {}", path.display()), error)),
        }
    }
    if !bgzf::is_gzip(&head[..filled]) {
        return Err(Error::requirement(
            path,
            "is not bgzip-compressed: compress it with `bgzip FILE` and index the result with `tabix -p vcf FILE.gz`",
        ));
    }
    if bgzf::block_size(&head[..filled]).is_none() {
        return Err(Error::requirement(
            path,
            "is gzip-compressed but not with bgzip (BGZF), so it cannot be indexed: recompress it with \
             `zcat FILE | bgzip -c > NEW.vcf.gz` and index that with `tabix -p vcf NEW.vcf.gz`",
        ));
    }
    Ok(())
}

/// `FILE.tbi`, else `FILE.csi` (htslib's order); it must not be older than the VCF.
/// Like htslib, times are compared in whole seconds.
fn find_fresh_index(path: &Path, vcf_metadata: &fs::Metadata) -> Result<PathBuf, Error> {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    let candidates = [with_suffix(".tbi"), with_suffix(".csi")];
    let Some((index_path, index_metadata)) = candidates.iter().find_map(|candidate| {
        fs::metadata(candidate)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| (candidate.clone(), m))
    }) else {
        return Err(Error::requirement(
            path,
            format!(
                "has no index: neither {} nor {} exists; create one with `tabix -p vcf FILE`",
                candidates[0].display(),
                candidates[1].display()
            ),
        ));
    };
    let seconds = |metadata: &fs::Metadata| {
        metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |age| age.as_secs())
    };
    if seconds(&index_metadata) < seconds(vcf_metadata) {
        return Err(Error::requirement(
            path,
            format!("its index {} is older than the VCF (the VCF changed after it was indexed); {REINDEX}", index_path.display()),
        ));
    }
    Ok(index_path)
}

/// The requirement error for an index that points outside this file's blocks.
pub(crate) fn index_mismatch(path: &Path, index_path: &Path, offset: u64) -> Error {
    let size = fs::metadata(path).map_or(0, |metadata| metadata.len());
    let place = if offset >= size {
        format!("past the end of the {size}-byte file")
    } else {
        "which is not the start of a compressed block".to_string()
    };
    Error::requirement(
        path,
        format!(
            "its index {} does not match the file (it points at byte {offset}, {place}): the index \
             belongs to another file or an older version of this one, or the file is truncated; {REINDEX}",
            index_path.display()
        ),
    )
}

/// For a `##contig` header line whose contig is a GRCh38 primary contig under any of its
/// names and whose length differs from GRCh38's, what is wrong; `None` otherwise.
pub(crate) fn non_grch38_contig(line: &[u8]) -> Option<String> {
    let fields = line.strip_prefix(b"##contig=<")?;
    let fields = fields.strip_suffix(b">").unwrap_or(fields);
    let value = |key: &[u8]| {
        fields.split(|&b| b == b',').find_map(|field| {
            field
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(b"="))
        })
    };
    let contig = Contig::from_any_name(value(b"ID")?)?;
    let length_text = String::from_utf8_lossy(value(b"length")?);
    (length_text.parse::<u64>().ok() != Some(contig.length)).then(|| {
        format!(
            "its ##contig {} has length {length_text}, but GRCh38 {} is {} bp long",
            String::from_utf8_lossy(value(b"ID").unwrap_or_default()),
            contig.name,
            contig.length
        )
    })
}

/// Checks `##contig` lengths against GRCh38 and returns the sample names.
fn check_header(path: &Path, header: &[u8]) -> Result<Vec<String>, Error> {
    let mut samples = None;
    let mut declared_other = None;
    for line in header.split(|&b| b == b'\n') {
        let declared = line
            .strip_prefix(b"##reference=")
            .map(|value| ("reference", value))
            .or_else(|| {
                line.strip_prefix(b"##assembly=")
                    .map(|value| ("assembly", value))
            });
        if let Some((key, value)) = declared {
            let value = String::from_utf8_lossy(value);
            if crate::types::names_another_assembly(&value) && declared_other.is_none() {
                declared_other = Some(format!("##{key}={value}"));
            }
        }
        if let Some(problem) = non_grch38_contig(line) {
            return Err(Error::requirement(
                path,
                format!("is not on GRCh38: {problem}; vcfq answers for GRCh38 samples only"),
            ));
        } else if let Some(columns) = line.strip_prefix(b"#CHROM") {
            let names: Vec<String> = columns
                .split(|&b| b == b'\t')
                .skip(9)
                .map(|name| String::from_utf8_lossy(name).into_owned())
                .collect();
            samples = Some(names);
        }
    }
    // A contig whose length is not GRCh38's says more (which contig, which length), so it
    // is reported first; then a header that names another assembly.
    if let Some(declared) = declared_other {
        return Err(Error::requirement(
            path,
            format!("is not on GRCh38: its header says {declared}; vcfq answers for GRCh38 samples only"),
        ));
    }
    samples
        .ok_or_else(|| Error::corrupt(path, "the header has no #CHROM line; it is not a valid VCF"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths_are_checked() {
        let ok = b"##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n##contig=<ID=chrUn_x,length=5>\n##contig=<ID=7>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n";
        assert_eq!(check_header(Path::new("x"), ok).unwrap(), vec!["S1", "S2"]);
        for contig in [
            "<ID=19,length=59128983>",
            "<ID=NC_000019.10,length=1>",
            "<ID=MT,length=16571>",
            "<ID=chr1,length=abc,assembly=b37>",
        ] {
            let header =
                format!("##contig={contig}\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n");
            let error = check_header(Path::new("x"), header.as_bytes()).unwrap_err();
            assert!(error.to_string().contains("is not on GRCh38"), "{error}");
        }
        for declared in [
            "##reference=file:///ref/human_g1k_v37.fasta",
            "##assembly=b37",
            "##reference=hg19",
        ] {
            let header = format!(
                "{declared}\n##contig=<ID=19>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
            );
            let error = check_header(Path::new("x"), header.as_bytes()).unwrap_err();
            assert!(
                error
                    .to_string()
                    .contains(&format!("is not on GRCh38: its header says {declared}")),
                "{error}"
            );
        }
        let grch38 = b"##reference=GRCh38_full_analysis_set_plus_decoy_hla.fa\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
        assert!(check_header(Path::new("x"), grch38).is_ok());
        let sites_only = b"##contig=<ID=19,length=58617616,assembly=GRCh38>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
        assert!(check_header(Path::new("x"), sites_only).unwrap().is_empty());
        assert!(check_header(Path::new("x"), b"##fileformat=VCFv4.2\n").is_err());
    }
}
