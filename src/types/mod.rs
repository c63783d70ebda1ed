//! The domain types every layer shares: the 25 primary GRCh38 contigs, 1-based
//! positions, rsIDs, and the one parser for the digits VCF and dbSNP text writes them in.

mod contig;
mod position;
mod rsid;

pub(crate) use contig::names_another_assembly;
pub use contig::Contig;
pub(crate) use position::fetch_interval;
pub use position::Position;
pub use rsid::{rsids_in_id_column, Rsid};

/// ASCII digits as a number, as VCF writes POS and dbSNP writes rs numbers: no sign, no
/// spaces, no separators. `None` for anything else, for no digits, and on overflow.
pub fn parse_digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |value, &byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(parse_digits(b"0"), Some(0));
        assert_eq!(parse_digits(b"007"), Some(7));
        assert_eq!(parse_digits(b"44908684"), Some(44_908_684));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b" 1",
            b"1.0",
            b"1,000",
            b"1a",
        ] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }
}
