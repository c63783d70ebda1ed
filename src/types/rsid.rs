//! dbSNP reference SNP ids (`rs429358`), as requests, VCF ID columns and dbSNP rows
//! write them.

use std::fmt;

/// A dbSNP reference SNP id, `rs` followed by its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rsid(u64);

impl Rsid {
    /// The rs number.
    pub fn number(self) -> u64 {
        self.0
    }

    /// An rsID from its number; `None` for 0.
    pub fn from_number(number: u64) -> Option<Rsid> {
        (number >= 1).then_some(Rsid(number))
    }

    /// Parses a request token: `rs`/`RS`/`Rs` then 1 to 18 digits, no leading zero.
    pub fn parse_request_token(token: &str) -> Option<Rsid> {
        let prefix = token.get(..2)?;
        let digits = &token.as_bytes()[2..];
        if !prefix.eq_ignore_ascii_case("rs") || digits.starts_with(b"0") {
            return None;
        }
        Rsid::from_digits(digits)
    }

    /// Parses a VCF ID token exactly: lowercase `rs` then digits (`rs429358`).
    pub fn parse_vcf_token(token: &[u8]) -> Option<Rsid> {
        Rsid::from_digits(token.strip_prefix(b"rs")?)
    }

    /// An rsID from its number's ASCII digits (1 to 18 of them, so it always fits).
    pub(crate) fn from_digits(digits: &[u8]) -> Option<Rsid> {
        if digits.len() > 18 {
            return None;
        }
        super::parse_digits(digits).and_then(Rsid::from_number)
    }
}

impl fmt::Display for Rsid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rs{}", self.0)
    }
}

/// The rsIDs a VCF ID column names, in order: its `;`-separated tokens that are
/// `rs<digits>` (`rs1;x;rs2` gives rs1 and rs2; `16:31087868:C:G` gives none).
pub fn rsids_in_id_column(id_column: &[u8]) -> impl Iterator<Item = Rsid> + Clone + '_ {
    id_column
        .split(|&b| b == b';')
        .filter_map(Rsid::parse_vcf_token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcf_rsid_tokens() {
        assert_eq!(
            Rsid::parse_vcf_token(b"rs429358").map(Rsid::number),
            Some(429_358)
        );
        assert_eq!(Rsid::parse_vcf_token(b"RS429358"), None);
        assert_eq!(Rsid::parse_vcf_token(b"rs"), None);
        assert_eq!(Rsid::parse_vcf_token(b"rs12a"), None);
        assert_eq!(Rsid::parse_vcf_token(b"rs0"), None);
        assert_eq!(Rsid::parse_vcf_token(b"rs1234567890123456789"), None);
        assert_eq!(Rsid::parse_vcf_token(b"16:31087868:C:G"), None);
    }

    #[test]
    fn request_tokens() {
        assert_eq!(
            Rsid::parse_request_token("Rs7412").map(Rsid::number),
            Some(7412)
        );
        assert_eq!(
            Rsid::parse_request_token("rs123456789012345678").map(Rsid::number),
            Some(123_456_789_012_345_678)
        );
        // (The request tests refuse the other malformed tokens, through `Request::parse`.)
        for bad in ["rs+1", "é", "rs\u{0661}"] {
            assert_eq!(Rsid::parse_request_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn rsids_from_the_id_column() {
        let all = |id: &[u8]| {
            rsids_in_id_column(id)
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(all(b"rs429358"), ["rs429358"]);
        assert_eq!(
            all(b"chr1_97078987_G_T;x;rs114096998;rs5"),
            ["rs114096998", "rs5"]
        );
        assert!(all(b".").is_empty());
        assert!(all(b"16:31087868:C:G").is_empty());
    }
}
