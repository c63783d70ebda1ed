//! One VCF record line, split into the columns a response needs, borrowing the line's
//! own bytes (no copies, no number round-trips); and [`Record`], the typed view of it
//! that the library hands out and the JSON writer reads.

use crate::types::{Contig, Rsid};

/// The columns of a record line. `format` and `sample` are `None` when the line has no
/// such column (a sites-only VCF, or a line cut short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordColumns<'a> {
    pub chromosome: &'a [u8],
    pub position: u64,
    pub id: &'a [u8],
    pub reference_bases: &'a [u8],
    pub alternate_bases: &'a [u8],
    pub quality: &'a [u8],
    pub filter: &'a [u8],
    pub info: &'a [u8],
    pub format: Option<&'a [u8]>,
    pub sample: Option<&'a [u8]>,
}

/// CHROM and POS only: enough to decide whether a line matches.
pub(crate) fn chromosome_and_position(line: &[u8]) -> Result<(&[u8], u64), String> {
    let mut columns = line.splitn(3, |&b| b == b'\t');
    let chromosome = columns.next().unwrap_or_default();
    let position = columns.next().ok_or("the line has no POS column")?;
    Ok((chromosome, parse_position(position)?))
}

fn parse_position(text: &[u8]) -> Result<u64, String> {
    crate::types::parse_digits(text).ok_or_else(|| {
        format!(
            "POS {:?} is not a positive integer",
            String::from_utf8_lossy(text)
        )
    })
}

/// Where the pieces of `bytes` split at `separator` lie, as `slice::split` would cut them.
/// A plain byte loop: VCF fields are short, so it beats both a SIMD search (call overhead)
/// and `str::split(char)` (its pattern search cost a tenth of a range query).
pub(crate) fn split_ranges(
    bytes: &[u8],
    separator: u8,
) -> impl Iterator<Item = std::ops::Range<usize>> + Clone + '_ {
    let mut start = Some(0);
    std::iter::from_fn(move || {
        let from = start?;
        match bytes[from..].iter().position(|&byte| byte == separator) {
            Some(at) => {
                start = Some(from + at + 1);
                Some(from..from + at)
            }
            None => {
                start = None;
                Some(from..bytes.len())
            }
        }
    })
}

/// A line's tab-separated columns. Columns (INFO above all) are long enough for a SIMD
/// search to pay.
fn tab_columns(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(line);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(b'\t', current) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Splits a record line. `sample_column` is the 0-based column of the chosen sample
/// (9 for the first), or `None` when the VCF has no sample columns.
pub(crate) fn split_record(
    line: &[u8],
    sample_column: Option<usize>,
) -> Result<RecordColumns<'_>, String> {
    let mut columns = tab_columns(line);
    let mut next = || columns.next();
    let mut required = [&[][..]; 8];
    for (index, slot) in required.iter_mut().enumerate() {
        *slot = next().ok_or_else(|| {
            format!("the line has {index} tab-separated columns; a VCF record has at least 8")
        })?;
    }
    let [chromosome, position, id, reference_bases, alternate_bases, quality, filter, info] =
        required;
    let format = next();
    // Continue the same scan to the chosen sample column (9 is the first).
    let sample = match sample_column {
        Some(column) if column >= 9 && format.is_some() => columns.nth(column - 9),
        _ => None,
    };
    Ok(RecordColumns {
        chromosome,
        position: parse_position(position)?,
        id,
        reference_bases,
        alternate_bases,
        quality,
        filter,
        info,
        format,
        sample,
    })
}

/// One record of an answer, typed and borrowed from the VCF line: every text is the
/// VCF's own (nothing is re-formatted), and every accessor answers what the record's
/// JSON object shows. Made by [`crate::engine::Records::iter`].
///
/// The text columns (REF, ALT, INFO, FORMAT, the sample's column) are checked as UTF-8
/// and QUAL as a number when the record is made, so a record that exists can always be
/// written as JSON.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    contig: &'static Contig,
    position: u64,
    id: &'a [u8],
    reference: &'a str,
    alternates: &'a str,
    quality_text: &'a [u8],
    quality: Option<f64>,
    filter: &'a [u8],
    info: &'a str,
    format: Option<&'a str>,
    sample: Option<&'a str>,
    rsid: Option<Rsid>,
}

fn column_text<'a>(column: &'a [u8], name: &str) -> Result<&'a str, String> {
    std::str::from_utf8(column).map_err(|_| format!("the {name} column is not valid UTF-8"))
}

impl<'a> Record<'a> {
    /// Checks and types a split line; `rsid` is the record's already-resolved `rsid`
    /// field. The error says which column is malformed.
    #[inline(always)]
    pub(crate) fn new(
        contig: &'static Contig,
        columns: &RecordColumns<'a>,
        rsid: Option<Rsid>,
    ) -> Result<Record<'a>, String> {
        let reference = column_text(columns.reference_bases, "REF")?;
        let alternates = column_text(columns.alternate_bases, "ALT")?;
        let info = column_text(columns.info, "INFO")?;
        let format = columns
            .format
            .map(|format| column_text(format, "FORMAT"))
            .transpose()?;
        let sample = columns
            .sample
            .map(|sample| column_text(sample, "sample"))
            .transpose()?;
        let quality = match columns.quality {
            b"." => None,
            text => Some(crate::json::parse_finite_float(text).ok_or_else(|| {
                format!(
                    "QUAL {:?} is not a finite number or `.`",
                    String::from_utf8_lossy(text)
                )
            })?),
        };
        Ok(Record {
            contig,
            position: columns.position,
            id: columns.id,
            reference,
            alternates,
            quality_text: columns.quality,
            quality,
            filter: columns.filter,
            info,
            format,
            sample,
            rsid,
        })
    }

    /// The chromosome's GRCh38 name as the API writes it (`chr19`), whatever the VCF
    /// calls it (`19`, `NC_000019.10`).
    pub fn chromosome(&self) -> &'static str {
        self.contig.name
    }

    /// The chromosome as a [`Contig`].
    pub fn contig(&self) -> &'static Contig {
        self.contig
    }

    /// POS, 1-based.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The ID column as the VCF writes it (`rs429358`, `rs1;rs2`, `.`).
    pub fn id(&self) -> &'a [u8] {
        self.id
    }

    /// The `rsid` field: the ID column's first rsID, else the one the dbSNP map gives
    /// the record (`docs/parity.md`, "Requests"); `None` for JSON's `null`.
    pub fn rsid(&self) -> Option<Rsid> {
        self.rsid
    }

    /// REF.
    pub fn reference(&self) -> &'a str {
        self.reference
    }

    /// The ALT alleles in VCF order (none when ALT is `.`): the `alt` list.
    pub fn alternates(&self) -> impl Iterator<Item = &'a str> + Clone + use<'a> {
        let none = self.alternates == ".";
        split_text(self.alternates, b',').filter(move |_| !none)
    }

    /// QUAL as the API's `quality` (a finite number), `None` when QUAL is `.`.
    pub fn quality(&self) -> Option<f64> {
        self.quality
    }

    /// QUAL as the VCF writes it (`.`, `50`, `29.5`).
    pub fn quality_text(&self) -> &'a [u8] {
        self.quality_text
    }

    /// FILTER as the VCF writes it (`PASS`, `.`, `q10;s50`). Not part of the JSON.
    pub fn filter(&self) -> &'a [u8] {
        self.filter
    }

    /// The chosen sample's FORMAT fields as `(key, value)` in FORMAT order, values as
    /// the VCF writes them; `None` for JSON's `"genotype":null` (no FORMAT, FORMAT `.`,
    /// or no sample column). Keys the sample column stops short of are left out. A
    /// key FORMAT repeats appears each time (the JSON object keeps the last value).
    pub fn genotype(&self) -> Option<impl Iterator<Item = (&'a str, &'a str)> + Clone + use<'a>> {
        let format = self
            .format
            .filter(|format| !format.is_empty() && *format != ".")?;
        Some(split_text(format, b':').zip(split_text(self.sample?, b':')))
    }

    /// One FORMAT field's value for the chosen sample (`genotype_field("GT")` is
    /// `Some("0|1")`), as the JSON object has it.
    pub fn genotype_field(&self, key: &str) -> Option<&'a str> {
        self.genotype()?
            .filter(|(name, _)| *name == key)
            .last()
            .map(|(_, value)| value)
    }

    /// The `openapi` schema's `genotype_confidence`: the largest GP posterior.
    pub fn genotype_confidence(&self) -> Option<f64> {
        split_text(self.genotype_field("GP")?, b',')
            .filter_map(|value| crate::json::parse_finite_float(value.as_bytes()))
            .reduce(f64::max)
    }

    /// The INFO entries as `(key, value)` in INFO order; a flag has no value (JSON's
    /// `true`). A key INFO repeats appears each time (the JSON object keeps the last).
    pub fn info(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + Clone + use<'a> {
        let text = if self.info == "." { "" } else { self.info };
        split_text(text, b';')
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                // A byte search: `str::split_once(char)` costs more on these short keys.
                match entry.bytes().position(|byte| byte == b'=') {
                    Some(at) => (&entry[..at], Some(&entry[at + 1..])),
                    None => (entry, None),
                }
            })
    }

    /// One INFO entry, as the JSON object has it: `None` when absent, `Some(None)` for a
    /// flag, `Some(Some(value))` otherwise.
    pub fn info_field(&self, key: &str) -> Option<Option<&'a str>> {
        self.info()
            .filter(|(name, _)| *name == key)
            .last()
            .map(|(_, value)| value)
    }

    /// The ALT, INFO, FORMAT and sample columns as the VCF writes them (checked UTF-8),
    /// for the cohort table, which keeps them whole.
    #[cfg(feature = "table")]
    pub(crate) fn raw_columns(&self) -> (&'a str, &'a str, Option<&'a str>, Option<&'a str>) {
        (self.alternates, self.info, self.format, self.sample)
    }

    /// The REF, ALT, INFO, FORMAT and sample texts, for the JSON writer's escaping
    /// decision.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        [self.reference, self.alternates, self.info]
            .into_iter()
            .chain(self.format)
            .chain(self.sample)
    }
}

/// `text.split(separator)` for an ASCII separator (so every piece is on character
/// boundaries), by byte search.
pub(crate) fn split_text(text: &str, separator: u8) -> impl Iterator<Item = &str> + Clone {
    split_ranges(text.as_bytes(), separator).map(move |range| &text[range])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::rsids_in_id_column;

    #[test]
    fn splits_a_full_line() {
        let line = b"chr19\t44908684\trs429358\tT\tC\t.\tPASS\tRAF=0.15\tGT:DS:GP\t0|1:1:0,1,0\t1|1:2:0,0,1";
        let record = split_record(line, Some(9)).unwrap();
        assert_eq!(record.chromosome, b"chr19");
        assert_eq!(record.position, 44_908_684);
        assert_eq!(record.format, Some(&b"GT:DS:GP"[..]));
        assert_eq!(record.sample, Some(&b"0|1:1:0,1,0"[..]));
        assert_eq!(
            split_record(line, Some(10)).unwrap().sample,
            Some(&b"1|1:2:0,0,1"[..])
        );
        assert_eq!(split_record(line, Some(11)).unwrap().sample, None);
    }

    #[test]
    fn sites_only_and_short_lines() {
        let record = split_record(b"19\t5\t.\tA\t.\t.\t.\t.", None).unwrap();
        assert_eq!(record.format, None);
        assert_eq!(record.sample, None);
        assert!(split_record(b"19\t5\t.\tA\t.\t.\t.", None)
            .unwrap_err()
            .contains("7 tab-separated columns"));
        assert!(split_record(b"19\tx\t.\tA\t.\t.\t.\t.", None).is_err());
    }

    fn typed(line: &str) -> Result<Record<'_>, String> {
        let contig = Contig::from_canonical_name("chr19").unwrap();
        let columns = split_record(line.as_bytes(), Some(9)).unwrap();
        Record::new(contig, &columns, rsids_in_id_column(columns.id).next())
    }

    #[test]
    fn typed_records() {
        let line = "19\t44908684\trs429358;x\tT\tC,<*>\t29.5\tq10;s50\tA=1;F;A=2;;B=\tGT:GP:GT\t0|1:0.1,0.9,0:1|1";
        let record = typed(line).unwrap();
        assert_eq!(record.chromosome(), "chr19");
        assert_eq!(record.position(), 44_908_684);
        assert_eq!(record.id(), b"rs429358;x");
        assert_eq!(record.rsid().unwrap().number(), 429_358);
        assert_eq!(record.reference(), "T");
        assert_eq!(record.alternates().collect::<Vec<_>>(), ["C", "<*>"]);
        assert_eq!(record.quality(), Some(29.5));
        assert_eq!(record.quality_text(), b"29.5");
        assert_eq!(record.filter(), b"q10;s50");
        assert_eq!(record.genotype().unwrap().count(), 3);
        assert_eq!(record.genotype_field("GT"), Some("1|1"));
        assert_eq!(record.genotype_field("DS"), None);
        assert_eq!(record.genotype_confidence(), Some(0.9));
        let info: Vec<_> = record.info().collect();
        assert_eq!(
            info,
            [
                ("A", Some("1")),
                ("F", None),
                ("A", Some("2")),
                ("B", Some(""))
            ]
        );
        assert_eq!(record.info_field("A"), Some(Some("2")));
        assert_eq!(record.info_field("F"), Some(None));
        assert_eq!(record.info_field("Z"), None);

        let bare = typed("19\t5\t.\tA\t.\t.\t.\t.\t.\t.").unwrap();
        assert_eq!(bare.alternates().count(), 0);
        assert_eq!(bare.quality(), None);
        assert!(bare.genotype().is_none());
        assert_eq!(bare.info().count(), 0);
        assert_eq!(bare.rsid(), None);
        // An empty ALT column is one empty allele, as JSON writes it.
        let empty = typed("19\t5\t.\tA\t\t.\t.\t.").unwrap();
        assert_eq!(empty.alternates().collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn typed_record_errors_name_the_column() {
        assert!(typed("19\t5\t.\tA\tG\tx\t.\t.")
            .unwrap_err()
            .contains("QUAL \"x\""));
        assert!(typed("19\t5\t.\tA\tG\tinf\t.\t.").is_err());
        let contig = Contig::from_canonical_name("chr19").unwrap();
        let bad = b"19\t5\t.\tA\tG\t.\t.\tA=\xff";
        let columns = split_record(bad, None).unwrap();
        assert!(Record::new(contig, &columns, None)
            .unwrap_err()
            .contains("INFO column is not valid UTF-8"));
    }

    #[test]
    fn positions() {
        assert_eq!(
            chromosome_and_position(b"chr1\t12\trest").unwrap(),
            (&b"chr1"[..], 12)
        );
        assert_eq!(
            chromosome_and_position(b"chr1\t18446744073709551615")
                .unwrap()
                .1,
            u64::MAX
        );
        assert!(chromosome_and_position(b"chr1\t18446744073709551616").is_err());
        assert!(chromosome_and_position(b"chr1\t-1").is_err());
        assert!(chromosome_and_position(b"chr1").is_err());
    }
}
