//! One VCF record line, split into the columns a response needs, borrowing the line's
//! own bytes (no copies, no number round-trips).

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
    let [chromosome, position, id, reference_bases, alternate_bases, quality, _filter, info] =
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
        info,
        format,
        sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
