//! Record -> JSON bytes, exactly as the hosted (Python, Django REST framework) service
//! writes them: compact, UTF-8, keys in the documented order, every value the VCF's own
//! text, and floats in Python's `repr` form.

use crate::record::Record;

/// Which published record shape to answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Schema {
    /// The documentation page's shape (the default).
    #[default]
    Docs,
    /// The published OpenAPI schema's shape: `genotype_confidence` in each record and
    /// `next`/`previous` links in `meta`.
    Openapi,
}

/// Bytes that a JSON string cannot hold as they are, plus 0xE2, the lead byte of
/// U+2028 and U+2029, which Django REST framework escapes too.
const NEEDS_CARE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0xe2] = true;
    table
};

/// Whether every byte of `bytes` is printable ASCII other than `"` and `\`: text a JSON
/// string holds as it is (and valid UTF-8). Eight bytes at a time.
fn plain_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        // With every high bit clear, `word - 0x20..` borrows exactly at bytes < 0x20.
        if word & HIGHS != 0
            || word.wrapping_sub(ONES * 0x20) & !word & HIGHS != 0
            || has_zero_byte(word ^ (ONES * u64::from(b'"')))
            || has_zero_byte(word ^ (ONES * u64::from(b'\\')))
        {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&byte| (0x20..0x80).contains(&byte) && byte != b'"' && byte != b'\\')
}

/// Appends text that `plain_ascii` accepted as a JSON string.
fn write_plain_string(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Appends `text` as a JSON string the way `json.dumps(ensure_ascii=False)` does, plus
/// Django REST framework's escaping of U+2028 and U+2029.
pub(crate) fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    out.push(b'"');
    let mut clean_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if !NEEDS_CARE[usize::from(byte)] {
            i += 1;
            continue;
        }
        let (escape, width): (&[u8], usize) = match byte {
            b'"' => (b"\\\"", 1),
            b'\\' => (b"\\\\", 1),
            b'\n' => (b"\\n", 1),
            b'\r' => (b"\\r", 1),
            b'\t' => (b"\\t", 1),
            0x08 => (b"\\b", 1),
            0x0c => (b"\\f", 1),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            0xe2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xa8) => {
                (b"\\u2028", 3)
            }
            0xe2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xa9) => {
                (b"\\u2029", 3)
            }
            0xe2 => {
                i += 1;
                continue;
            }
            _ => (&[], 1),
        };
        out.extend_from_slice(&bytes[clean_from..i]);
        if escape.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 15)]);
        } else {
            out.extend_from_slice(escape);
        }
        i += width;
        clean_from = i;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// Appends an unsigned integer in decimal, without allocating.
fn write_integer(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a finite float as Python's `repr(float)` writes it: the shortest digits that
/// round-trip, fixed notation with `.0` for exponents -5 < e < 16, otherwise
/// `d.ddde+XX` with a signed, at least two-digit exponent (`1e-05`, `1.5e+16`).
pub(crate) fn write_python_float(out: &mut Vec<u8>, value: f64) {
    debug_assert!(value.is_finite());
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    // Rust's `{:e}` prints the shortest round-trip digits (`-1.5e16`, `1e-5`) but breaks
    // ties between two equally short candidates upwards; Python takes the one nearest the
    // exact value, ties to even. Re-rounding the exact value to that many digits does so.
    let shortest = format!("{value:e}");
    let significant = shortest
        .split('e')
        .next()
        .unwrap_or("")
        .bytes()
        .filter(u8::is_ascii_digit)
        .count();
    let scientific = format!(
        "{value:.precision$e}",
        precision = significant.saturating_sub(1)
    );
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if negative {
        out.push(b'-');
    }
    // Python's repr: decimal point position `decpt = exponent + 1`; fixed when -4 < decpt <= 16.
    let decimal_point = exponent + 1;
    if -4 < decimal_point && decimal_point <= 16 {
        if decimal_point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(
                b'0',
                decimal_point.unsigned_abs() as usize,
            ));
            out.extend_from_slice(&digits);
        } else {
            let point = decimal_point as usize;
            if point >= digits.len() {
                out.extend_from_slice(&digits);
                out.extend(std::iter::repeat_n(b'0', point - digits.len()));
                out.extend_from_slice(b".0");
            } else {
                out.extend_from_slice(&digits[..point]);
                out.push(b'.');
                out.extend_from_slice(&digits[point..]);
            }
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.extend_from_slice(
            format!(
                "e{}{:02}",
                if exponent < 0 { '-' } else { '+' },
                exponent.unsigned_abs()
            )
            .as_bytes(),
        );
    }
}

/// Parses a VCF numeric text (QUAL, a GP value) as Python's `float()` would, keeping
/// finite values only.
pub(crate) fn parse_finite_float(text: &[u8]) -> Option<f64> {
    let value: f64 = std::str::from_utf8(text).ok()?.trim().parse().ok()?;
    value.is_finite().then_some(value)
}

/// Writes `{"key":value,...}` with the semantics of a Python dict built from the
/// entries: a repeated key stays at its first place and takes its last value. The common
/// case (no repeats) streams with no allocation: a 1024-bit filter of key hashes finds
/// candidate repeats among the first entries, confirmed against the earlier keys; past
/// `SMALL_DICT` entries a hash set takes over, so a line with 100,000 keys stays linear.
fn write_dict<'a, V: Copy, I: Iterator<Item = (&'a str, V)>>(
    out: &mut Vec<u8>,
    entries: impl Fn() -> I,
    write_key: fn(&mut Vec<u8>, &str),
    write_value: impl Fn(&mut Vec<u8>, V),
) {
    const SMALL_DICT: usize = 64;
    let start = out.len();
    out.push(b'{');
    let mut seen = [0u64; 16];
    let mut keys: Option<std::collections::HashSet<&'a str>> = None;
    for (index, (key, value)) in entries().enumerate() {
        let repeated = match &mut keys {
            Some(keys) => !keys.insert(key),
            None => {
                let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
                    (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
                });
                let bit = (hash % 1024) as usize;
                let repeated = seen[bit / 64] & (1 << (bit % 64)) != 0
                    && entries().take(index).any(|(earlier, _)| earlier == key);
                seen[bit / 64] |= 1 << (bit % 64);
                if !repeated && index + 1 == SMALL_DICT {
                    keys = Some(entries().take(index + 1).map(|(key, _)| key).collect());
                }
                repeated
            }
        };
        if repeated {
            out.truncate(start);
            return write_merged_dict(out, entries(), write_key, write_value);
        }
        write_entry(out, index, key, value, write_key, &write_value);
    }
    out.push(b'}');
}

/// `"key":value`, after a comma unless it is the first entry.
fn write_entry<V>(
    out: &mut Vec<u8>,
    index: usize,
    key: &str,
    value: V,
    write_key: fn(&mut Vec<u8>, &str),
    write_value: &impl Fn(&mut Vec<u8>, V),
) {
    if index > 0 {
        out.push(b',');
    }
    write_key(out, key);
    out.push(b':');
    write_value(out, value);
}

fn write_merged_dict<'a, V: Copy>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a str, V)>,
    write_key: fn(&mut Vec<u8>, &str),
    write_value: impl Fn(&mut Vec<u8>, V),
) {
    let mut merged: Vec<(&str, V)> = Vec::new();
    let mut places: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (key, value) in entries {
        match places.entry(key) {
            std::collections::hash_map::Entry::Occupied(place) => merged[*place.get()].1 = value,
            std::collections::hash_map::Entry::Vacant(place) => {
                place.insert(merged.len());
                merged.push((key, value));
            }
        }
    }
    out.push(b'{');
    for (index, (key, value)) in merged.into_iter().enumerate() {
        write_entry(out, index, key, value, write_key, &write_value);
    }
    out.push(b'}');
}

/// Appends one RECORD object: the typed record's fields in the documented order.
pub(crate) fn write_record(out: &mut Vec<u8>, record: &Record<'_>, schema: Schema) {
    // Nearly every record is plain ASCII throughout: then its strings need no escaping
    // and no per-byte scan.
    let plain = record.texts().all(|text| plain_ascii(text.as_bytes()));
    let write_text: fn(&mut Vec<u8>, &str) = if plain {
        write_plain_string
    } else {
        write_string
    };
    out.extend_from_slice(b"{\"chromosome\":");
    write_string(out, record.chromosome());
    out.extend_from_slice(b",\"position\":");
    write_integer(out, record.position());
    out.extend_from_slice(b",\"rsid\":");
    match record.rsid() {
        Some(rsid) => {
            out.extend_from_slice(b"\"rs");
            write_integer(out, rsid.number());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"ref\":");
    write_text(out, record.reference());
    out.extend_from_slice(b",\"alt\":[");
    for (i, allele) in record.alternates().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_text(out, allele);
    }
    out.extend_from_slice(b"],\"genotype\":");
    match record.genotype() {
        None => out.extend_from_slice(b"null"),
        Some(entries) => write_dict(out, || entries.clone(), write_text, write_text),
    }
    if schema == Schema::Openapi {
        out.extend_from_slice(b",\"genotype_confidence\":");
        match record.genotype_confidence() {
            Some(confidence) => write_python_float(out, confidence),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.extend_from_slice(b",\"quality\":");
    match record.quality() {
        Some(quality) => write_python_float(out, quality),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"info\":");
    write_dict(
        out,
        || record.info(),
        write_text,
        |out, value| match value {
            Some(value) => write_text(out, value),
            None => out.extend_from_slice(b"true"),
        },
    );
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::split_record;
    use crate::types::{Contig, Rsid};

    fn float(value: f64) -> String {
        let mut out = Vec::new();
        write_python_float(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_ascii_is_exactly_the_text_json_holds_as_it_is() {
        // Every byte value at every position of strings of 0 to 24 bytes: plain exactly
        // when writing it escapes nothing and it is ASCII.
        for length in 0..=24 {
            for at in 0..length.max(1) {
                for byte in 0..=255u8 {
                    let mut bytes = vec![b'a'; length];
                    if length > 0 {
                        bytes[at] = byte;
                    }
                    let expected = bytes
                        .iter()
                        .all(|&b| b.is_ascii() && !NEEDS_CARE[usize::from(b)]);
                    assert_eq!(plain_ascii(&bytes), expected, "{bytes:?}");
                    if expected {
                        let text = std::str::from_utf8(&bytes).unwrap();
                        let (mut plain, mut escaped) = (Vec::new(), Vec::new());
                        write_plain_string(&mut plain, text);
                        write_string(&mut escaped, text);
                        assert_eq!(plain, escaped);
                    }
                }
            }
        }
    }

    #[test]
    fn floats_like_python_repr() {
        // Expected values are what CPython 3 prints for repr(float(text)).
        let cases = [
            (50.0, "50.0"),
            (29.5, "29.5"),
            (99.99, "99.99"),
            (0.00001, "1e-05"),
            (0.0001, "0.0001"),
            (1e3, "1000.0"),
            (1.5e16, "1.5e+16"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789.125, "123456789.125"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-300, "1e-300"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-2.5, "-2.5"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.15, "0.15"),
            (123e-7, "1.23e-05"),
        ];
        for (value, expected) in cases {
            assert_eq!(float(value), expected, "{value:e}");
        }
        // A tie between two equally short candidates: Python takes the even one.
        let tie: f64 = "-888794700007997.25".parse().unwrap();
        assert_eq!(float(tie), "-888794700007997.2");
    }

    #[test]
    fn floats_match_cpython_table() {
        // 3,000 values with CPython's repr, from testdata/make-python-floats.py.
        let table = include_str!("../testdata/python_float_repr.tsv");
        let mut checked = 0;
        for line in table.lines().filter(|line| !line.starts_with('#')) {
            let (text, expected) = line.split_once('\t').unwrap();
            let value = parse_finite_float(text.as_bytes()).unwrap();
            assert_eq!(float(value), expected, "repr(float({text:?}))");
            checked += 1;
        }
        assert_eq!(checked, 3000);
    }

    #[test]
    fn integers() {
        for value in [0u64, 7, 10, 44_908_684, u64::MAX] {
            let mut out = Vec::new();
            write_integer(&mut out, value);
            assert_eq!(out, value.to_string().into_bytes());
        }
    }

    fn string(text: &[u8]) -> String {
        let mut out = Vec::new();
        write_string(&mut out, std::str::from_utf8(text).unwrap());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_like_python_json() {
        assert_eq!(string(b"plain"), "\"plain\"");
        assert_eq!(string(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            string(b"\x01\x1f\x7f\t\n\r\x08\x0c"),
            "\"\\u0001\\u001f\x7f\\t\\n\\r\\b\\f\""
        );
        assert_eq!(string("Zürich µ 日本".as_bytes()), "\"Zürich µ 日本\"");
        assert_eq!(
            string("a\u{2028}b\u{2029}".as_bytes()),
            "\"a\\u2028b\\u2029\""
        );
        assert_eq!(string("\u{2027}".as_bytes()), "\"\u{2027}\"");
        assert_eq!(
            string("€\u{2027}\u{2028}\u{2029}\u{2029}x".as_bytes()),
            "\"€\u{2027}\\u2028\\u2029\\u2029x\""
        );
    }

    fn render(line: &str, schema: Schema) -> String {
        let record = split_record(line.as_bytes(), Some(9)).unwrap();
        let contig = Contig::from_canonical_name("chr19").unwrap();
        let record = Record::new(contig, &record, Rsid::parse_vcf_token(record.id)).unwrap();
        let mut out = Vec::new();
        write_record(&mut out, &record, schema);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_docs_example() {
        let line = "chr19\t44908684\trs429358\tT\tC\t.\tPASS\tRAF=0.15\tGT:DS:GP\t0|1:1:0,1,0";
        assert_eq!(
            render(line, Schema::Docs),
            r#"{"chromosome":"chr19","position":44908684,"rsid":"rs429358","ref":"T","alt":["C"],"genotype":{"GT":"0|1","DS":"1","GP":"0,1,0"},"quality":null,"info":{"RAF":"0.15"}}"#
        );
        assert_eq!(
            render(line, Schema::Openapi),
            r#"{"chromosome":"chr19","position":44908684,"rsid":"rs429358","ref":"T","alt":["C"],"genotype":{"GT":"0|1","DS":"1","GP":"0,1,0"},"genotype_confidence":1.0,"quality":null,"info":{"RAF":"0.15"}}"#
        );
    }

    #[test]
    fn python_dict_semantics_for_repeated_keys() {
        let line = "19\t1\t.\tA\tG\t1e3\t.\tA=1;B;A=3;;C=\tGT:GT\t0|1:1|1";
        assert!(render(line, Schema::Docs).ends_with(
            r#""genotype":{"GT":"1|1"},"quality":1000.0,"info":{"A":"3","B":true,"C":""}}"#
        ));
        let many: Vec<String> = (0..40).map(|i| format!("K{i}={i}")).collect();
        let line = format!("19\t1\t.\tA\tG\t.\t.\t{};K3=x\tGT\t0", many.join(";"));
        let rendered = render(&line, Schema::Docs);
        assert!(
            rendered.contains(r#""K2":"2","K3":"x","K4":"4""#),
            "{rendered}"
        );
        // Past the small-dict limit the hash set finds repeats (before and after it).
        for repeat in ["K10", "K63", "K64", "K199"] {
            let many: Vec<String> = (0..200).map(|i| format!("K{i}={i}")).collect();
            let line = format!(
                "19\t1\t.\tA\tG\t.\t.\t{};{repeat}=x;Z\tGT\t0",
                many.join(";")
            );
            let rendered = render(&line, Schema::Docs);
            assert!(
                rendered.contains(&format!(r#""{repeat}":"x""#)),
                "{rendered}"
            );
            assert!(rendered.ends_with(r#""K199":"199","Z":true}}"#) || repeat == "K199");
            assert_eq!(rendered.matches(&format!(r#""{repeat}":"#)).count(), 1);
        }
    }

    #[test]
    fn genotype_confidence_edges() {
        let confidence = |format_and_sample: &str| {
            let line = format!("19\t1\t.\tA\tG\t.\t.\t.\t{format_and_sample}");
            let rendered = render(&line, Schema::Openapi);
            rendered
                .split("\"genotype_confidence\":")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(confidence("GT:GP\t0|0:0.9,0.05,0.05"), "0.9");
        assert_eq!(confidence("GT:GP\t0|0"), "null");
        assert_eq!(confidence("GT:GP\t0|0:."), "null");
        assert_eq!(confidence("GT:GP\t0|0:.,0.2,."), "0.2");
        assert_eq!(confidence("GT:DS\t0|0:0"), "null");
    }
}
