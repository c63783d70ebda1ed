//! Query strings, read and written the way the hosted (Python/Django) service does:
//! `parse_qsl(keep_blank_values=True)` to read, `urlencode(sorted(...), doseq=True)` to
//! write, and Python's `int()` for paging values. Link bytes depend on every detail here.

/// Splits a query string into decoded `(name, value)` pairs, in order, like Python's
/// `urllib.parse.parse_qsl(query, keep_blank_values=True)`: `&` separates fields, empty
/// fields are skipped, a field without `=` has an empty value, `+` is a space and
/// percent-escapes decode as UTF-8 with invalid bytes replaced by U+FFFD.
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|field| !field.is_empty())
        .map(|field| {
            let (name, value) = field.split_once('=').unwrap_or((field, ""));
            (unquote_plus(name), unquote_plus(value))
        })
        .collect()
}

/// Decodes `+` and `%XX` like Python's `unquote_plus(errors="replace")`.
pub fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' if i + 2 < bytes.len()
                && hex_value(bytes[i + 1]).is_some()
                && hex_value(bytes[i + 2]).is_some() =>
            {
                decoded.push(
                    hex_value(bytes[i + 1]).unwrap_or(0) * 16
                        + hex_value(bytes[i + 2]).unwrap_or(0),
                );
                i += 2;
            }
            other => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// Appends `text` escaped like Python's `quote_plus(text, safe="")`: ASCII letters,
/// digits and `_.-~` stay, a space becomes `+`, every other byte of the UTF-8 becomes `%XX`.
pub fn quote_plus_into(out: &mut String, text: &str) {
    for &byte in text.as_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 15)] as char);
            }
        }
    }
}

/// Encodes pairs like `urlencode(sorted(parse_qs(...).items()), doseq=True)`: names in
/// sorted order (by code point, as Python sorts strings), a name's values in their order.
pub fn encode_sorted(pairs: &[(String, String)]) -> String {
    // parse_qs groups values by name in first-seen order; a stable sort by name keeps
    // each name's values in their original order, as doseq writes them.
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut encoded = String::new();
    for (name, value) in sorted {
        if !encoded.is_empty() {
            encoded.push('&');
        }
        quote_plus_into(&mut encoded, name);
        encoded.push('=');
        quote_plus_into(&mut encoded, value);
    }
    encoded
}

/// The first code point of each run of ten Unicode decimal digits (general category Nd),
/// as Python 3.11's `unicodedata` (Unicode 14.0) has them: `int()` reads all of them.
const DECIMAL_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66,
    0xde6, 0xe50, 0xed0, 0xf20, 0x1040, 0x1090, 0x17e0, 0x1810, 0x1946, 0x19d0, 0x1a80, 0x1a90,
    0x1b50, 0x1bb0, 0x1c40, 0x1c50, 0xa620, 0xa8d0, 0xa900, 0xa9d0, 0xa9f0, 0xaa50, 0xabf0, 0xff10,
    0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450, 0x114d0, 0x11650,
    0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0, 0x16a60, 0x16ac0, 0x16b50,
    0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140, 0x1e2f0, 0x1e950, 0x1fbf0,
];

/// A decimal digit's value, in any script (`３`, `٣`, `3`).
fn decimal_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    let run = DECIMAL_ZEROS
        .partition_point(|&zero| zero <= code)
        .checked_sub(1)?;
    let value = code - DECIMAL_ZEROS[run];
    (value < 10).then_some(value as u8)
}

/// Parses an integer like Python's `int(text)`: surrounding white space allowed, one
/// optional sign, decimal digits of any script with single underscores between them.
/// `None` when Python would raise, and (a vcfq limit) when the value does not fit in an
/// `i128`.
pub fn python_int(text: &str) -> Option<i128> {
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    let (negative, digits) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut value: i128 = 0;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let digit = decimal_value(c)?;
        value = value.checked_mul(10)?.checked_add(i128::from(digit))?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_like_parse_qsl() {
        assert_eq!(
            parse_pairs("chromosome=chr19&position=44908684"),
            pairs(&[("chromosome", "chr19"), ("position", "44908684")])
        );
        assert_eq!(
            parse_pairs("a&&b=&c=1=2"),
            pairs(&[("a", ""), ("b", ""), ("c", "1=2")])
        );
        assert_eq!(
            parse_pairs("rsid=rs1%2Crs2+x"),
            pairs(&[("rsid", "rs1,rs2 x")])
        );
        assert_eq!(parse_pairs("x=%zz%4"), pairs(&[("x", "%zz%4")]));
        assert_eq!(parse_pairs("x=%C3%A9%ff"), pairs(&[("x", "é\u{fffd}")]));
        assert_eq!(parse_pairs(""), pairs(&[]));
        assert_eq!(parse_pairs("%"), pairs(&[("%", "")]));
        assert_eq!(parse_pairs("x=%4"), pairs(&[("x", "%4")]));
    }

    #[test]
    fn encodes_like_urlencode() {
        let encoded = encode_sorted(&pairs(&[
            ("rsid", "rs1,rs2"),
            ("limit", "1"),
            ("a b", "é~ /"),
        ]));
        assert_eq!(encoded, "a+b=%C3%A9~+%2F&limit=1&rsid=rs1%2Crs2");
        let repeated = encode_sorted(&pairs(&[("z", "2"), ("a", "x"), ("z", "1")]));
        assert_eq!(repeated, "a=x&z=2&z=1");
    }

    #[test]
    fn ints_like_python() {
        assert_eq!(python_int("10"), Some(10));
        assert_eq!(python_int(" +1_000 "), Some(1000));
        assert_eq!(python_int("-5"), Some(-5));
        assert_eq!(python_int("007"), Some(7));
        // Any script's decimal digits, as Python reads them.
        assert_eq!(python_int("\u{ff13}"), Some(3));
        assert_eq!(python_int("\u{663}\u{660}"), Some(30));
        assert_eq!(python_int("1\u{1d7d9}"), Some(11));
        assert_eq!(python_int("\u{2163}"), None); // a Roman numeral is not a decimal digit
        for bad in [
            "", " ", "1.5", "1e3", "_1", "1_", "1__0", "0x10", "1,000", "+", "--1",
        ] {
            assert_eq!(python_int(bad), None, "{bad:?}");
        }
    }
}
