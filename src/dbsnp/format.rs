//! The on-disk layout of a map's two tables. Each is an `fst` map from a bucket key to
//! the byte offset of the bucket in a side file (`*.bin`), whose entries hold the rest:
//!
//! - rsID table: bucket key = `rs >> 16` (6 bytes, big-endian); entries, sorted by rs
//!   then locus, are 6 bytes: the low 16 bits of rs (u16 LE) and the locus as a u32
//!   genome offset (LE). An rsID at several loci has several entries. Lookups binary-search.
//! - allele table: bucket key = contig ordinal and `POS >> 4` (4 bytes); entries, sorted
//!   by POS, REF, ALT, rs, start with a byte `(POS & 15) << 4 | code`. For a single-base
//!   REF and ALT that differ (A/C/G/T), `code = ref << 2 | alt` and the rs number follows
//!   as u32 LE: 5 bytes for most of dbSNP. `code` 0 (A>A) means explicit alleles and a u32
//!   rs; 5 (C>C), explicit alleles and a u64 rs. Explicit alleles are LEB128 length + bytes
//!   of REF, then of ALT.
//!
//! A bucket is a LEB128 body length and the body. A side file starts with an 8-byte magic.
//!
//! Keying the fst by bucket keeps every node small and the outputs monotonic, so the fst
//! is a small directory and the entries carry only the bits the key does not. A full-key
//! fst needs 10-12 bytes a key for random rs <-> locus mappings; this needs 5-7.

/// The first bytes of each side file.
pub(crate) const TABLE_MAGIC: &[u8; 8] = b"vcfqtab1";
const RSID_LOW_BITS: u32 = 16;
const POSITION_LOW_BITS: u32 = 4;
pub(crate) const RSID_ENTRY_SIZE: usize = 6;
/// Allele codes where REF equals ALT cannot be SNVs, so they flag the other layouts.
const EXPLICIT: u8 = 0;
const EXPLICIT_WIDE_RS: u8 = 5;
const BASES: [u8; 4] = *b"ACGT";
const BASE_SLICES: [&[u8]; 4] = [b"A", b"C", b"G", b"T"];

pub(crate) fn rsid_bucket_key(rs: u64) -> [u8; 6] {
    let bytes = (rs >> RSID_LOW_BITS).to_be_bytes();
    let mut key = [0u8; 6];
    key.copy_from_slice(&bytes[2..]);
    key
}

pub(crate) fn rsid_low_bits(rs: u64) -> u16 {
    (rs & ((1 << RSID_LOW_BITS) - 1)) as u16
}

/// The rs number an entry of bucket `key` stands for.
pub(crate) fn rsid_from_bucket(key: &[u8], low: u16) -> Option<u64> {
    let bytes: [u8; 6] = key.try_into().ok()?;
    let mut wide = [0u8; 8];
    wide[2..].copy_from_slice(&bytes);
    Some((u64::from_be_bytes(wide) << RSID_LOW_BITS) | u64::from(low))
}

pub(crate) fn encode_rsid_entry(out: &mut Vec<u8>, rs: u64, locus: u32) {
    out.extend_from_slice(&rsid_low_bits(rs).to_le_bytes());
    out.extend_from_slice(&locus.to_le_bytes());
}

/// The entries of an rsID bucket: (low 12 bits of rs, locus). `None` if malformed.
pub(crate) fn rsid_entries(body: &[u8]) -> Option<impl Iterator<Item = (u16, u32)> + '_> {
    body.len().is_multiple_of(RSID_ENTRY_SIZE).then(|| {
        body.chunks_exact(RSID_ENTRY_SIZE).map(|entry| {
            (
                u16::from_le_bytes([entry[0], entry[1]]),
                u32::from_le_bytes([entry[2], entry[3], entry[4], entry[5]]),
            )
        })
    })
}

pub(crate) fn allele_bucket_key(contig_ordinal: usize, position: u32) -> [u8; 4] {
    let bucket = (position >> POSITION_LOW_BITS).to_be_bytes();
    [contig_ordinal as u8, bucket[1], bucket[2], bucket[3]]
}

pub(crate) fn position_low_bits(position: u32) -> u8 {
    (position & ((1 << POSITION_LOW_BITS) - 1)) as u8
}

/// The POS an entry of bucket `key` stands for.
pub(crate) fn position_from_bucket(key: &[u8], low: u8) -> Option<(usize, u32)> {
    let [ordinal, a, b, c]: [u8; 4] = key.try_into().ok()?;
    Some((
        usize::from(ordinal),
        (u32::from_be_bytes([0, a, b, c]) << POSITION_LOW_BITS) | u32::from(low),
    ))
}

fn base_code(allele: &[u8]) -> Option<u8> {
    match allele {
        [base] => BASES.iter().position(|b| b == base).map(|code| code as u8),
        _ => None,
    }
}

fn write_varint(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub(crate) fn read_varint(body: &[u8], at: &mut usize) -> Option<usize> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *body.get(*at)?;
        *at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

pub(crate) fn encode_allele_entry(
    out: &mut Vec<u8>,
    position: u32,
    reference: &[u8],
    alternate: &[u8],
    rs: u64,
) {
    let low = position_low_bits(position) << 4;
    let wide = rs > u64::from(u32::MAX);
    match base_code(reference).zip(base_code(alternate)) {
        Some((reference, alternate)) if reference != alternate && !wide => {
            out.push(low | reference << 2 | alternate);
            out.extend_from_slice(&(rs as u32).to_le_bytes());
        }
        _ => {
            out.push(low | if wide { EXPLICIT_WIDE_RS } else { EXPLICIT });
            write_varint(out, reference.len());
            out.extend_from_slice(reference);
            write_varint(out, alternate.len());
            out.extend_from_slice(alternate);
            if wide {
                out.extend_from_slice(&rs.to_le_bytes());
            } else {
                out.extend_from_slice(&(rs as u32).to_le_bytes());
            }
        }
    }
}

/// One decoded allele entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlleleEntry<'a> {
    pub position_low: u8,
    pub reference: &'a [u8],
    pub alternate: &'a [u8],
    pub rs: u64,
}

/// Decodes the entry at `*at` and moves past it; `None` if the bytes are malformed.
pub(crate) fn decode_allele_entry<'a>(body: &'a [u8], at: &mut usize) -> Option<AlleleEntry<'a>> {
    let head = *body.get(*at)?;
    *at += 1;
    let code = head & 15;
    let explicit = code >> 2 == code & 3;
    if explicit && code != EXPLICIT && code != EXPLICIT_WIDE_RS {
        return None;
    }
    let (reference, alternate) = if explicit {
        let mut bytes = || -> Option<&'a [u8]> {
            let length = read_varint(body, at)?;
            let slice = body.get(*at..at.checked_add(length)?)?;
            *at += length;
            Some(slice)
        };
        (bytes()?, bytes()?)
    } else {
        (
            BASE_SLICES[usize::from(code >> 2)],
            BASE_SLICES[usize::from(code & 3)],
        )
    };
    let rs = if code == EXPLICIT_WIDE_RS {
        let bytes = body.get(*at..at.checked_add(8)?)?;
        *at += 8;
        u64::from_le_bytes(bytes.try_into().ok()?)
    } else {
        let bytes = body.get(*at..at.checked_add(4)?)?;
        *at += 4;
        u64::from(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    Some(AlleleEntry {
        position_low: head >> 4,
        reference,
        alternate,
        rs,
    })
}

/// Appends a bucket: its LEB128 body length, then the body.
pub(crate) fn write_bucket(out: &mut Vec<u8>, body: &[u8]) {
    write_varint(out, body.len());
    out.extend_from_slice(body);
}

/// The body of the bucket at `offset` in a side file, and the offset just past it;
/// `None` if it runs past the end.
pub(crate) fn bucket_body(table: &[u8], offset: u64) -> Option<(&[u8], u64)> {
    let mut at = usize::try_from(offset).ok()?;
    let length = read_varint(table, &mut at)?;
    let end = at.checked_add(length)?;
    Some((table.get(at..end)?, end as u64))
}

/// The locus entries of rs in an rsID bucket, found by binary search.
pub(crate) fn rsid_loci(body: &[u8], rs: u64) -> Option<impl Iterator<Item = u32> + '_> {
    if !body.len().is_multiple_of(RSID_ENTRY_SIZE) {
        return None;
    }
    let wanted = rsid_low_bits(rs);
    let count = body.len() / RSID_ENTRY_SIZE;
    let low_at = |index: usize| {
        u16::from_le_bytes([
            body[index * RSID_ENTRY_SIZE],
            body[index * RSID_ENTRY_SIZE + 1],
        ])
    };
    // The first entry whose low bits are >= wanted.
    let (mut lo, mut hi) = (0, count);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if low_at(mid) < wanted {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Some(
        body[lo * RSID_ENTRY_SIZE..]
            .chunks_exact(RSID_ENTRY_SIZE)
            .map_while(move |entry| {
                (u16::from_le_bytes([entry[0], entry[1]]) == wanted)
                    .then(|| u32::from_le_bytes([entry[2], entry[3], entry[4], entry[5]]))
            }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsid_keys_round_trip_and_sort() {
        for rs in [
            1u64,
            65_535,
            65_536,
            429_358,
            2_200_000_000,
            999_999_999_999_999_999,
        ] {
            let key = rsid_bucket_key(rs);
            assert_eq!(rsid_from_bucket(&key, rsid_low_bits(rs)), Some(rs));
        }
        assert!(rsid_bucket_key(65_535) < rsid_bucket_key(65_536));
        assert!(rsid_bucket_key(1 << 40) > rsid_bucket_key((1 << 40) - 1));
        let mut body = Vec::new();
        encode_rsid_entry(&mut body, 429_358, 3_000_000_000);
        encode_rsid_entry(&mut body, 429_358, 3_000_000_001);
        encode_rsid_entry(&mut body, 429_359, 7);
        assert_eq!(
            rsid_entries(&body).unwrap().next(),
            Some((rsid_low_bits(429_358), 3_000_000_000))
        );
        assert!(rsid_entries(&body[..5]).is_none());
        assert_eq!(
            rsid_loci(&body, 429_358).unwrap().collect::<Vec<_>>(),
            vec![3_000_000_000, 3_000_000_001]
        );
        assert_eq!(
            rsid_loci(&body, 429_359).unwrap().collect::<Vec<_>>(),
            vec![7]
        );
        assert_eq!(rsid_loci(&body, 429_357).unwrap().count(), 0);
        assert_eq!(rsid_loci(&body, 429_360).unwrap().count(), 0);
    }

    #[test]
    fn allele_entries_round_trip() {
        let mut body = Vec::new();
        let cases: [(u32, &[u8], &[u8], u64); 7] = [
            (44_908_684, b"T", b"C", 429_358),
            (44_908_684, b"A", b"A", 3),
            (44_908_684, b"C", b"T", u64::from(u32::MAX) + 1),
            (44_908_685, b"TCAGG", b"T", 7412),
            (44_908_686, b"N", b"<DEL>", 5),
            (44_908_687, b"A", b"G", 1 << 40),
            (44_908_688, b"A", &[b'A'; 300], 9),
        ];
        for (position, reference, alternate, rs) in cases {
            encode_allele_entry(&mut body, position, reference, alternate, rs);
        }
        let mut at = 0;
        for (position, reference, alternate, rs) in cases {
            let entry = decode_allele_entry(&body, &mut at).unwrap();
            assert_eq!(
                entry,
                AlleleEntry {
                    position_low: position_low_bits(position),
                    reference,
                    alternate,
                    rs
                }
            );
            let key = allele_bucket_key(18, position);
            assert_eq!(
                position_from_bucket(&key, entry.position_low),
                Some((18, position))
            );
        }
        assert_eq!(at, body.len());
        assert_eq!(decode_allele_entry(&body, &mut at), None, "past the end");
        assert!(
            decode_allele_entry(&body[..3], &mut 0).is_none(),
            "a cut entry"
        );
        assert!(
            decode_allele_entry(&[0x0a, 1, 2, 3, 4], &mut 0).is_none(),
            "G>G is no code"
        );
    }

    #[test]
    fn buckets_are_bounded() {
        let mut table = TABLE_MAGIC.to_vec();
        write_bucket(&mut table, b"abc");
        assert_eq!(bucket_body(&table, 8), Some((&b"abc"[..], 12)));
        assert_eq!(bucket_body(&table, 9), None);
        assert_eq!(bucket_body(&table, u64::MAX), None);
        table.pop();
        assert_eq!(bucket_body(&table, 8), None);
        let long = vec![7u8; 300];
        let mut table = Vec::new();
        write_bucket(&mut table, &long);
        assert_eq!(bucket_body(&table, 0), Some((&long[..], 302)));
    }
}
