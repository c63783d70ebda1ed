//! `--pretty`: indents a compact response for people, keeping every token's bytes
//! (numbers stay `1e-05`, strings stay as escaped). Parity always uses the compact form.

/// Re-indents compact JSON with two spaces, as Python's `json.dumps(indent=2)` lays it out.
pub fn indent(compact: &[u8]) -> Vec<u8> {
    vcfq::response::indent_json(compact, 2)
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
