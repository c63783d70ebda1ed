//! Parsing a dbSNP VCF: its header (refused when it says it is not GRCh38) and its data
//! lines, as the map needs them.

use std::io::BufRead;
use std::path::Path;

use super::{input_error, io_error, MAX_LINE};
use crate::error::Error;
use crate::lines::{read_line_limited, LineRead};
use crate::types::{names_another_assembly, parse_digits, rsids_in_id_column, Contig, Rsid};
use crate::vcf::non_grch38_contig;

/// One data line of a dbSNP VCF, as the map needs it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DbsnpLine<'a> {
    /// A row on a primary contig.
    Row {
        contig: &'static Contig,
        position: u32,
        id: &'a [u8],
        info: &'a [u8],
        reference: &'a [u8],
        alternates: &'a [u8],
    },
    /// A row on another contig (scaffold, alt, patch), by name.
    OtherContig(&'a [u8]),
}

/// Remembers the last contig name resolved: dbSNP rows come grouped by contig.
#[derive(Default)]
pub(crate) struct ContigCache {
    name: Vec<u8>,
    contig: Option<&'static Contig>,
}

impl ContigCache {
    pub(crate) fn resolve(&mut self, name: &[u8]) -> Option<&'static Contig> {
        if self.name != name {
            self.name.clear();
            self.name.extend_from_slice(name);
            self.contig = Contig::from_any_name(name);
        }
        self.contig
    }
}

/// The longest contig name counted among the skipped contigs (GRCh38's longest is 23).
const MAX_CONTIG_NAME: usize = 255;

/// Parses a dbSNP data line. Errors say what is malformed.
pub(crate) fn parse_dbsnp_line<'a>(
    line: &'a [u8],
    contigs: &mut ContigCache,
) -> Result<DbsnpLine<'a>, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut columns = line.split(|&b| b == b'\t');
    let mut next = |name: &str| {
        columns
            .next()
            .ok_or_else(|| format!("the line has no {name} column"))
    };
    let chromosome = next("CHROM")?;
    let position_text = next("POS")?;
    let Some(contig) = contigs.resolve(chromosome) else {
        // Counted by name in the summary: a name no contig has is a damaged line.
        if chromosome.len() > MAX_CONTIG_NAME {
            return Err(format!(
                "CHROM is {} bytes long: the line is not a VCF record",
                chromosome.len()
            ));
        }
        return Ok(DbsnpLine::OtherContig(chromosome));
    };
    let position = parse_digits(position_text)
        .filter(|&position| position >= 1)
        .ok_or_else(|| {
            format!(
                "POS {:?} is not a positive integer",
                String::from_utf8_lossy(position_text)
            )
        })?;
    if position > contig.length {
        return Err(format!(
            "POS {position} is beyond the end of GRCh38 {} ({} bp): is this a GRCh38 dbSNP VCF?",
            contig.name, contig.length
        ));
    }
    let id = next("ID")?;
    let reference = next("REF")?;
    let alternates = next("ALT")?;
    let info = columns.nth(2).unwrap_or_default();
    if reference.is_empty() || reference.contains(&0) || alternates.contains(&0) {
        return Err("REF is empty or an allele holds a NUL byte".to_string());
    }
    Ok(DbsnpLine::Row {
        contig,
        position: position as u32,
        id,
        info,
        reference,
        alternates,
    })
}

/// The rs numbers of a row: every `rs<digits>` token of the ID column, or, when the ID
/// column has none (dbSNP releases that blank it), INFO `RS=<digits>`.
pub(crate) fn row_rs_numbers<'a>(id: &'a [u8], info: &'a [u8]) -> impl Iterator<Item = u64> + 'a {
    let from_id = rsids_in_id_column(id).map(Rsid::number);
    let mut from_info = None;
    if from_id.clone().next().is_none() {
        from_info = info
            .split(|&b| b == b';')
            .find_map(|entry| entry.strip_prefix(b"RS="))
            .and_then(Rsid::from_digits)
            .map(Rsid::number);
    }
    from_id.chain(from_info)
}

/// Header facts of the source.
#[derive(Default)]
pub(super) struct SourceHeader {
    /// `##dbSNP_BUILD_ID`.
    pub(super) dbsnp_build: Option<String>,
    /// `##reference`.
    pub(super) reference: Option<String>,
}

/// Reads the header lines; refuses sources that say they are not on GRCh38.
pub(super) fn read_header(
    source: &Path,
    input: &mut impl BufRead,
    line_count: &mut u64,
    byte_count: &mut u64,
) -> Result<(SourceHeader, Vec<u8>), Error> {
    let mut header = SourceHeader::default();
    let mut line = Vec::new();
    loop {
        let read = read_line_limited(input, &mut line, MAX_LINE)
            .map_err(|error| io_error("reading", source, error))?;
        match read {
            LineRead::End => return Ok((header, Vec::new())),
            LineRead::TooLong => {
                return Err(input_error(
                    source,
                    format!(
                        "line {} is longer than {} MiB without a line end: it is not a dbSNP VCF (or the file is damaged)",
                        *line_count + 1,
                        MAX_LINE >> 20
                    ),
                ))
            }
            LineRead::Line => {}
        }
        if line.first() != Some(&b'#') {
            // The first data line goes to the parsers with the rest.
            return Ok((header, line));
        }
        *line_count += 1;
        *byte_count += line.len() as u64;
        check_header_line(source, &line)?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if let Some(build) = text.strip_prefix("##dbSNP_BUILD_ID=") {
            header.dbsnp_build = Some(build.to_string());
        } else if let Some(reference) = text.strip_prefix("##reference=") {
            header.reference = Some(reference.to_string());
        }
    }
}

/// Refuses a header line that says the source is not on GRCh38 (its `##reference`, or a
/// `##contig` length); used for the first header and for the headers of later files in
/// the same stream.
pub(super) fn check_header_line(source: &Path, line: &[u8]) -> Result<(), Error> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end();
    if let Some(reference) = text.strip_prefix("##reference=") {
        if names_another_assembly(reference) {
            return Err(input_error(
                source,
                format!("its header says ##reference={reference}: vcfq needs the GRCh38 dbSNP release (e.g. GCF_000001405.40 / GRCh38.p14)"),
            ));
        }
    } else if let Some(problem) = non_grch38_contig(text.as_bytes()) {
        return Err(input_error(source, format!("is not on GRCh38: {problem}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dbsnp_lines() {
        let line = b"17\t62984\trs1170181519\tG\tA,C,T\t.\t.\tRS=1170181519;RSPOS=62984;VC=SNV";
        let DbsnpLine::Row {
            contig,
            position,
            id,
            info,
            reference,
            alternates,
        } = parse_dbsnp_line(line, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (contig.name, position, reference, alternates),
            ("chr17", 62984, &b"G"[..], &b"A,C,T"[..])
        );
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![1_170_181_519]
        );
        let refseq = b"NC_000001.11\t10019\t.\tTA\tT\t.\t.\tRS=775809821;dbSNPBuildID=144";
        let DbsnpLine::Row {
            contig, id, info, ..
        } = parse_dbsnp_line(refseq, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(contig.name, "chr1");
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![775_809_821],
            "INFO RS when the ID is blank"
        );
        let both = b"chr1\t5\trs7;rs9\tA\tG\t.\t.\tRS=8";
        let DbsnpLine::Row { id, info, .. } =
            parse_dbsnp_line(both, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            row_rs_numbers(id, info).collect::<Vec<_>>(),
            vec![7, 9],
            "ID tokens win over INFO RS"
        );
        assert_eq!(
            parse_dbsnp_line(b"NT_187361.1\t5\trs1\tA\tG", &mut ContigCache::default()).unwrap(),
            DbsnpLine::OtherContig(b"NT_187361.1")
        );
        assert!(
            parse_dbsnp_line(b"chr1\tx\trs1\tA\tG", &mut ContigCache::default())
                .unwrap_err()
                .contains("POS")
        );
        assert!(
            parse_dbsnp_line(b"chrM\t16570\trs1\tA\tG", &mut ContigCache::default())
                .unwrap_err()
                .contains("beyond the end")
        );
        assert!(
            parse_dbsnp_line(b"chr1\t5\trs1", &mut ContigCache::default())
                .unwrap_err()
                .contains("no REF")
        );
        let none = b"chr1\t5\t.\tA\tG\t.\t.\tVC=SNV";
        let DbsnpLine::Row { id, info, .. } =
            parse_dbsnp_line(none, &mut ContigCache::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(row_rs_numbers(id, info).count(), 0);
    }
}
