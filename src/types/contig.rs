//! The 25 primary GRCh38 contigs and the names they go by.
//!
//! Requests must use the canonical `chr` name; VCF files may use the canonical, bare
//! (`19`) or RefSeq (`NC_000019.10`) name, and output always says the canonical one.

/// One primary GRCh38 contig.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Contig {
    /// Canonical name used in requests and responses: `chr1`..`chr22`, `chrX`, `chrY`, `chrM`.
    pub name: &'static str,
    /// GRCh38 length in bases.
    pub length: u64,
    /// Name without the `chr` prefix (`19`, `X`, `M`).
    pub bare_name: &'static str,
    /// RefSeq accession of the GRCh38 sequence (`NC_000019.10`), as dbSNP names contigs.
    pub refseq_accession: &'static str,
    /// Further names seen in VCFs (`MT` for chrM).
    pub other_aliases: &'static [&'static str],
}

include!(concat!(env!("OUT_DIR"), "/contigs.rs"));

impl Contig {
    /// All 25 primary contigs, in karyotype order.
    pub fn all() -> &'static [Contig] {
        &GRCH38_CONTIGS
    }

    /// The contig whose canonical name is exactly `name` (case-sensitive), as requests need.
    pub fn from_canonical_name(name: &str) -> Option<&'static Contig> {
        GRCH38_CONTIGS.iter().find(|contig| contig.name == name)
    }

    /// The contig a VCF or dbSNP file means by `name`: canonical, bare, RefSeq or alias.
    pub fn from_any_name(name: &[u8]) -> Option<&'static Contig> {
        GRCH38_CONTIGS
            .iter()
            .find(|contig| contig.names().any(|n| n.as_bytes() == name))
    }

    /// The canonical contig a user probably meant by an invalid request name
    /// (`19` -> `chr19`, `Chr19` -> `chr19`, `chrMT` -> `chrM`), if any.
    pub fn suggestion_for(name: &str) -> Option<&'static Contig> {
        let folded = name.trim();
        let without_prefix = folded
            .get(..3)
            .filter(|prefix| prefix.eq_ignore_ascii_case("chr"))
            .map(|_| &folded[3..]);
        GRCH38_CONTIGS.iter().find(|contig| {
            contig.names().any(|n| {
                n.eq_ignore_ascii_case(folded)
                    || without_prefix.is_some_and(|rest| n.eq_ignore_ascii_case(rest))
            })
        })
    }

    /// Position of this contig in [`Contig::all`].
    pub fn ordinal(&self) -> usize {
        // Contigs only come from the static table (the type is non-exhaustive), so the
        // address says the row; the name search is a fallback that is never expected.
        let offset =
            (self as *const Contig as usize).wrapping_sub(GRCH38_CONTIGS.as_ptr() as usize);
        let index = offset / std::mem::size_of::<Contig>();
        if offset.is_multiple_of(std::mem::size_of::<Contig>()) && index < GRCH38_CONTIGS.len() {
            return index;
        }
        GRCH38_CONTIGS
            .iter()
            .position(|contig| contig.name == self.name)
            .unwrap_or(0)
    }

    fn names(&self) -> impl Iterator<Item = &'static str> {
        [self.name, self.bare_name, self.refseq_accession]
            .into_iter()
            .chain(self.other_aliases.iter().copied())
    }
}

/// Whether a header's `##reference` or `##assembly` value names an assembly other than
/// GRCh38 (GRCh37 and its 1000 Genomes and UCSC names, NCBI36): `human_g1k_v37.fasta`,
/// `hs37d5`, `hg19`, `b37`, `GRCh37.p13`.
pub(crate) fn names_another_assembly(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "grch37", "hg19", "b37", "hs37", "g1k_v37", "ncbi36", "hg18", "ncbi37",
    ]
    .iter()
    .any(|other| lower.contains(other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_grch38() {
        assert_eq!(Contig::all().len(), 25);
        let chr19 = Contig::from_canonical_name("chr19").unwrap();
        assert_eq!(chr19.length, 58_617_616);
        assert_eq!(chr19.refseq_accession, "NC_000019.10");
        assert_eq!(Contig::from_canonical_name("chrM").unwrap().length, 16_569);
        assert_eq!(
            Contig::from_canonical_name("chr1").unwrap().length,
            248_956_422
        );
        assert_eq!(
            Contig::from_canonical_name("chrX")
                .unwrap()
                .refseq_accession,
            "NC_000023.11"
        );
    }

    #[test]
    fn canonical_lookup_is_exact() {
        assert!(Contig::from_canonical_name("19").is_none());
        assert!(Contig::from_canonical_name("Chr19").is_none());
        assert!(Contig::from_canonical_name("chrMT").is_none());
        assert!(Contig::from_canonical_name("chr23").is_none());
    }

    #[test]
    fn vcf_names_resolve() {
        for name in ["chr19", "19", "NC_000019.10"] {
            assert_eq!(
                Contig::from_any_name(name.as_bytes()).unwrap().name,
                "chr19"
            );
        }
        for name in ["chrM", "M", "MT", "chrMT", "NC_012920.1"] {
            assert_eq!(Contig::from_any_name(name.as_bytes()).unwrap().name, "chrM");
        }
        assert!(Contig::from_any_name(b"chr19_KI270866v1_alt").is_none());
        assert!(Contig::from_any_name(b"NT_187361.1").is_none());
    }

    #[test]
    fn suggestions() {
        let suggest = |name: &str| Contig::suggestion_for(name).map(|c| c.name);
        assert_eq!(suggest("19"), Some("chr19"));
        assert_eq!(suggest("Chr19"), Some("chr19"));
        assert_eq!(suggest("CHRX"), Some("chrX"));
        assert_eq!(suggest("chrMT"), Some("chrM"));
        assert_eq!(suggest("MT"), Some("chrM"));
        assert_eq!(suggest("NC_000019.10"), Some("chr19"));
        assert_eq!(suggest("chr23"), None);
        assert_eq!(suggest(""), None);
    }

    #[test]
    fn other_assemblies_by_name() {
        for other in [
            "file:///ref/human_g1k_v37.fasta",
            "hs37d5",
            "hg19",
            "b37",
            "GRCh37.p13",
            "NCBI36",
        ] {
            assert!(names_another_assembly(other), "{other}");
        }
        for grch38 in [
            "GRCh38",
            "GRCh38.p14",
            "file:///ref/GRCh38_full_analysis_set_plus_decoy_hla.fa",
            "hg38",
            "GCF_000001405.40",
        ] {
            assert!(!names_another_assembly(grch38), "{grch38}");
        }
    }

    #[test]
    fn ordinal_is_table_position() {
        for (i, contig) in Contig::all().iter().enumerate() {
            assert_eq!(contig.ordinal(), i);
        }
    }
}
