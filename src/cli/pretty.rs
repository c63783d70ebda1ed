//! `--pretty`: indents a compact response for people, keeping every token's bytes
//! (numbers stay `1e-05`, strings stay as escaped). Parity always uses the compact form.

/// Re-indents compact JSON with two spaces, as Python's `json.dumps(indent=2)` lays it out.
pub fn indent(compact: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(compact.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    for (i, &byte) in compact.iter().enumerate() {
        if in_string {
            out.push(byte);
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                let closes_next = matches!(compact.get(i + 1), Some(b'}' | b']'));
                depth += 1;
                if !closes_next {
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if !matches!(compact.get(i.wrapping_sub(1)), Some(b'{' | b'[')) {
                    newline(&mut out, depth);
                }
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_and_keeps_tokens() {
        let compact =
            br#"{"meta":{"count":1},"results":[{"a":"x,\"{y}:","b":[],"c":{},"q":1e-05}]}"#;
        let expected = "{\n  \"meta\": {\n    \"count\": 1\n  },\n  \"results\": [\n    {\n      \"a\": \"x,\\\"{y}:\",\n      \"b\": [],\n      \"c\": {},\n      \"q\": 1e-05\n    }\n  ]\n}";
        assert_eq!(String::from_utf8(indent(compact)).unwrap(), expected);
    }
}
