//! Writing bgzipped, tabix-indexed VCFs (what `bgzip` and `tabix -p vcf` do), through
//! htslib, for tools and benchmarks that make their own test files.

use std::path::Path;

use crate::error::Error;
use crate::tabix::{build_vcf_index, BgzfWriter};

/// Writes `text` (a whole VCF, header included, sorted by position) to `path` as BGZF and
/// indexes it: `path.tbi`, or `path.csi` when `csi` is set.
pub fn write_indexed_vcf(path: impl AsRef<Path>, text: &[u8], csi: bool) -> Result<(), Error> {
    let path = path.as_ref();
    let mut writer = BgzfWriter::create(path).map_err(|message| Error::corrupt(path, message))?;
    writer
        .write_all(text)
        .map_err(|message| Error::corrupt(path, message))?;
    writer
        .finish()
        .map_err(|message| Error::corrupt(path, message))?;
    index_vcf(path, csi)
}

/// A streaming BGZF writer; call [`VcfWriter::finish`] and then [`index_vcf`].
pub struct VcfWriter {
    inner: BgzfWriter,
    path: std::path::PathBuf,
}

impl VcfWriter {
    /// Creates (or truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<VcfWriter, Error> {
        let path = path.as_ref().to_path_buf();
        let inner = BgzfWriter::create(&path).map_err(|message| Error::corrupt(&path, message))?;
        Ok(VcfWriter { inner, path })
    }

    /// Compresses and writes `bytes`.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.inner
            .write_all(bytes)
            .map_err(|message| Error::corrupt(&self.path, message))
    }

    /// Flushes, writes BGZF's end-of-file block and closes the file.
    pub fn finish(self) -> Result<(), Error> {
        self.inner
            .finish()
            .map_err(|message| Error::corrupt(&self.path, message))
    }
}

/// Writes the position index `VCF.vcfqidx` beside a sample's VCF (after checking the
/// sample requirements): a memory-mapped map from positions to compressed blocks that lets
/// a query skip loading the tabix index (~25 ms for a genome-wide file) and read one block
/// for a point. The tabix index stays required; a position index that no longer matches
/// the VCF (size and modification time) is ignored.
pub fn write_position_index(vcf: impl AsRef<Path>) -> Result<crate::IndexSummary, Error> {
    let vcf = vcf.as_ref();
    crate::Sample::open(vcf, &crate::SampleOptions::default())?;
    crate::position_index::build(vcf).map_err(|message| Error::corrupt(vcf, message))
}

/// Indexes a bgzipped, position-sorted VCF: `path.tbi`, or `path.csi` when `csi` is set.
pub fn index_vcf(path: impl AsRef<Path>, csi: bool) -> Result<(), Error> {
    let path = path.as_ref();
    build_vcf_index(path, csi).map_err(|message| Error::corrupt(path, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Request, ResponseOptions, Sample, SampleOptions};

    #[test]
    fn written_files_open_as_samples() {
        let dir = tempfile::tempdir().unwrap();
        let text = b"##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\nchr19\t44908684\trs429358\tT\tC\t.\tPASS\tRAF=0.15\tGT:DS:GP\t0|1:1:0,1,0\n";
        for csi in [false, true] {
            let path = dir.path().join(format!("x{csi}.vcf.gz"));
            write_indexed_vcf(&path, text, csi).unwrap();
            let sample = Sample::open(&path, &SampleOptions::default()).unwrap();
            assert!(sample.index_path().to_string_lossy().ends_with(if csi {
                ".csi"
            } else {
                ".tbi"
            }));
            let body = sample
                .respond(
                    &Request::parse("chromosome=chr19&position=44908684").unwrap(),
                    &ResponseOptions::default(),
                )
                .unwrap();
            assert!(body.starts_with(b"{\"meta\":{\"count\":1}"));
        }
        assert!(index_vcf(dir.path().join("missing.vcf.gz"), false).is_err());
    }
}
