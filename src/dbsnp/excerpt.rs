//! A map's excerpt: a small map that answers a given set of rsIDs exactly as the whole
//! map does. Spark's driver makes one for a cohort's rsID panel, so that the workers
//! need a few kilobytes instead of the full map on shared storage.
//!
//! For each requested rsID that resolves: the merge (when it was retired), every locus
//! of its current rsID, and every allele dbSNP gives at each of those positions (for
//! any rsID), since a sample record there takes its `rsid` field from them. Other
//! positions are not in the excerpt; an rsID not asked for that has an allele at one of
//! those positions resolves in the excerpt to those positions only. The excerpt's
//! `meta.json` names its own source, not the map's dbSNP build.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ingest::{build_map, BuildOptions, BuildSummary};
use super::RsidMap;
use crate::error::{Error, ErrorKind};
use crate::types::Rsid;

/// Removes the excerpt's temporary source files however the build ends.
struct TemporaryFiles(Vec<PathBuf>);

impl Drop for TemporaryFiles {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl RsidMap {
    /// Builds into `out` a map that answers `rsids` (their resolution, merges included,
    /// and the `rsid` field of any record at their loci) exactly as this one does.
    pub fn excerpt(&self, rsids: &[Rsid], out: &Path) -> Result<BuildSummary, Error> {
        // Never over the map itself (a build replaces what is at `out`).
        if out.exists() && crate::files::same_dir(out, &self.opened.dir) {
            return Err(ErrorKind::Io {
                context: format!("writing an excerpt to {}", out.display()),
                source: std::io::Error::other(
                    "that is the map being excerpted: give another directory",
                ),
            }
            .into());
        }
        let name = out.file_name().ok_or_else(|| {
            Error::from(ErrorKind::Io {
                context: format!("writing an excerpt to {}", out.display()),
                source: std::io::Error::other("not a directory name"),
            })
        })?;
        let temporary = |suffix: &str| {
            let mut file = std::ffi::OsString::from(".");
            file.push(name);
            file.push(format!(".excerpt-{}.{suffix}", std::process::id()));
            out.with_file_name(file)
        };
        let source = temporary("vcf");
        let merged = temporary("merged.tsv");
        let _cleanup = TemporaryFiles(vec![source.clone(), merged.clone()]);
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |error| {
                Error::from(ErrorKind::Io {
                    context: format!("writing {path}"),
                    source: error,
                })
            }
        };
        let mut rows = BufWriter::new(File::create(&source).map_err(io(&source))?);
        let mut merges = BufWriter::new(File::create(&merged).map_err(io(&merged))?);
        writeln!(
            rows,
            "##fileformat=VCFv4.2\n##source=vcfq excerpt of {}\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
            self.dir().display()
        )
        .map_err(io(&source))?;
        writeln!(merges, "old_rs\tcurrent_rs").map_err(io(&merged))?;
        let mut positions_done = std::collections::HashSet::new();
        for &rsid in rsids {
            let Some((current, loci)) = self.resolve(rsid)? else {
                continue;
            };
            if current != rsid {
                writeln!(merges, "{rsid}\t{current}").map_err(io(&merged))?;
            }
            for locus in loci {
                let position = locus.position.get();
                // The locus itself (a row whose ALT is `.` gives a locus and no allele).
                writeln!(
                    rows,
                    "{}\t{position}\t{current}\tN\t.\t.\t.\t.",
                    locus.chromosome.name
                )
                .map_err(io(&source))?;
                if !positions_done.insert((locus.chromosome.ordinal(), position)) {
                    continue;
                }
                for allele in self.alleles_at(locus.chromosome, position)? {
                    rows.write_all(
                        format!("{}\t{position}\trs{}\t", locus.chromosome.name, allele.rs)
                            .as_bytes(),
                    )
                    .and_then(|()| rows.write_all(&allele.reference))
                    .and_then(|()| rows.write_all(b"\t"))
                    .and_then(|()| rows.write_all(&allele.alternate))
                    .and_then(|()| rows.write_all(b"\t.\t.\t.\n"))
                    .map_err(io(&source))?;
                }
            }
        }
        rows.into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(io(&source))?;
        merges
            .into_inner()
            .map_err(|error| error.into_error())
            .and_then(|file| file.sync_all())
            .map_err(io(&merged))?;
        let mut options = BuildOptions::new(&source, out);
        options.merged = Some(merged.clone());
        options.threads = 1;
        options.memory_bytes = options
            .memory_bytes
            .min(256 << 20)
            .max(super::minimum_memory_bytes(1));
        build_map(&options, &mut |_| {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_answers_its_rsids_as_the_map_does() {
        let dir = tempfile::tempdir().unwrap();
        let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dbsnp");
        let mut options = BuildOptions::new(testdata.join("crafted.vcf"), dir.path().join("map"));
        options.merged = Some(testdata.join("crafted-merged.tsv"));
        build_map(&options, &mut |_| {}).unwrap();
        let map = RsidMap::open(dir.path().join("map")).unwrap();
        let wanted: Vec<Rsid> = ["rs429358", "rs7412", "rs9000", "rs500", "rs999999999"]
            .iter()
            .map(|text| Rsid::parse_request_token(text).unwrap())
            .collect();
        map.excerpt(&wanted, &dir.path().join("excerpt")).unwrap();
        let excerpt = RsidMap::open(dir.path().join("excerpt")).unwrap();
        for &rsid in &wanted {
            let resolved = map.resolve(rsid).unwrap();
            assert_eq!(excerpt.resolve(rsid).unwrap(), resolved, "{rsid}");
            for locus in resolved.map(|(_, loci)| loci).unwrap_or_default() {
                assert_eq!(
                    excerpt
                        .alleles_at(locus.chromosome, locus.position.get())
                        .unwrap(),
                    map.alleles_at(locus.chromosome, locus.position.get())
                        .unwrap()
                );
            }
        }
        // A merged rsID resolves through the chain to the current one's loci.
        assert!(excerpt.resolve(wanted[2]).unwrap().is_some());
        // Not requested: not in the excerpt.
        let other = Rsid::parse_request_token("rs1801133").unwrap();
        assert!(map.resolve(other).unwrap().is_some());
        assert_eq!(excerpt.resolve(other).unwrap(), None);
        // No temporary files are left beside it.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["excerpt", "map"]);
    }
}
