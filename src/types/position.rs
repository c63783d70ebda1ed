//! 1-based positions, as VCF POS and the API's parameters are written.

use std::fmt;

/// A 1-based position on a contig, like VCF POS. Never 0, so a 0-based value cannot pass
/// for one; [`fetch_interval`] is the one conversion to htslib's 0-based coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(std::num::NonZeroU64);

impl Position {
    /// `None` for 0.
    pub fn new(one_based: u64) -> Option<Position> {
        std::num::NonZeroU64::new(one_based).map(Position)
    }

    /// The 1-based value.
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The 0-based, half-open interval `[start - 1, end)` that htslib's fetch takes for the
/// 1-based inclusive positions `start..=end`.
pub(crate) fn fetch_interval(start_position: Position, end_position: Position) -> (i64, i64) {
    let to_i64 = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    (to_i64(start_position.get() - 1), to_i64(end_position.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_interval_is_zero_based_half_open() {
        let one = Position::new(1).unwrap();
        assert_eq!(fetch_interval(one, one), (0, 1));
        let p = Position::new(44_908_684).unwrap();
        assert_eq!(fetch_interval(p, p), (44_908_683, 44_908_684));
        assert!(Position::new(0).is_none());
        assert_eq!(std::mem::size_of::<Option<Position>>(), 8);
    }
}
