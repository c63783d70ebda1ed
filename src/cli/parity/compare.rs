//! `vcfq parity`: compare a saved hosted-API response with vcfq's answer to the same
//! request, byte for byte, and where they differ say which record and key, with both
//! values as written (numbers keep their text: `50.0` and `50` differ).

use std::fmt;

/// A JSON value that keeps object key order and the text of numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(value) => write!(f, "{value}"),
            Json::Number(text) => f.write_str(text),
            Json::String(text) => write!(f, "{}", serde_json::to_string(text).unwrap_or_default()),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(entries) => {
                f.write_str("{")?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(
                        f,
                        "{}:{value}",
                        serde_json::to_string(key).unwrap_or_default()
                    )?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Parses JSON text; `Err` says where it stopped making sense.
pub fn parse_json(text: &[u8]) -> Result<Json, String> {
    let mut parser = Parser {
        text,
        at: 0,
        depth: 0,
    };
    let value = parser.value()?;
    parser.space();
    if parser.at != text.len() {
        return Err(format!(
            "unexpected text after the JSON value at byte {}",
            parser.at
        ));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn space(&mut self) {
        while matches!(self.text.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn error<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at byte {}", self.at))
    }

    fn literal(&mut self, word: &[u8], value: Json) -> Result<Json, String> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            self.error("invalid literal")
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.space();
        self.depth += 1;
        if self.depth > 256 {
            return self.error("nesting too deep");
        }
        let value = match self.text.get(self.at) {
            None => self.error("unexpected end"),
            Some(b'n') => self.literal(b"null", Json::Null),
            Some(b't') => self.literal(b"true", Json::Bool(true)),
            Some(b'f') => self.literal(b"false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'[') => self.sequence(b']', Parser::value).map(Json::Array),
            Some(b'{') => self
                .sequence(b'}', |parser| {
                    parser.space();
                    if parser.text.get(parser.at) != Some(&b'"') {
                        return parser.error("expected a key");
                    }
                    let key = parser.string()?;
                    parser.space();
                    if parser.text.get(parser.at) != Some(&b':') {
                        return parser.error("expected :");
                    }
                    parser.at += 1;
                    Ok((key, parser.value()?))
                })
                .map(Json::Object),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while matches!(
                    self.text.get(self.at),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.at += 1;
                }
                Ok(Json::Number(
                    String::from_utf8_lossy(&self.text[start..self.at]).into_owned(),
                ))
            }
            Some(_) => self.error("unexpected character"),
        };
        self.depth -= 1;
        value
    }

    /// The items of an array or object after its opening bracket, up to `close`.
    fn sequence<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.at += 1;
        let mut items = Vec::new();
        self.space();
        if self.text.get(self.at) == Some(&close) {
            self.at += 1;
            return Ok(items);
        }
        loop {
            items.push(item(self)?);
            self.space();
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                Some(&byte) if byte == close => {
                    self.at += 1;
                    return Ok(items);
                }
                _ => return self.error(&format!("expected , or {}", close as char)),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        // Find the closing quote, then let serde_json decode the escapes.
        let start = self.at;
        self.at += 1;
        loop {
            match self.text.get(self.at) {
                None => return self.error("unterminated string"),
                Some(b'\\') => self.at += 2,
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(_) => self.at += 1,
            }
        }
        serde_json::from_slice(&self.text[start..self.at])
            .map_err(|error| format!("invalid string at byte {start}: {error}"))
    }
}

/// One difference between the local and the hosted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Where: `meta.count`, `results[2] (chr19:44908684).quality`, ...
    pub path: String,
    pub local: String,
    pub hosted: String,
}

/// The differences between two response bodies; empty when they are the same bytes.
/// A body that is not JSON is compared as text.
pub fn compare(local: &[u8], hosted: &[u8]) -> Vec<Difference> {
    let trim = |body: &[u8]| -> Vec<u8> { body.strip_suffix(b"\n").unwrap_or(body).to_vec() };
    let (local, hosted) = (trim(local), trim(hosted));
    if local == hosted {
        return Vec::new();
    }
    let (Ok(local_json), Ok(hosted_json)) = (parse_json(&local), parse_json(&hosted)) else {
        return vec![Difference {
            path: "body".to_string(),
            local: String::from_utf8_lossy(&local).into_owned(),
            hosted: String::from_utf8_lossy(&hosted).into_owned(),
        }];
    };
    let mut differences = Vec::new();
    diff(&mut differences, String::new(), &local_json, &hosted_json);
    if differences.is_empty() {
        differences.push(Difference {
            path: "body".to_string(),
            local: "compact JSON".to_string(),
            hosted: "the same values, laid out differently (white space)".to_string(),
        });
    }
    differences
}

fn label(path: &str, index: usize, record: &Json) -> String {
    let place = match record {
        Json::Object(entries) => {
            let get = |key: &str| entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            match (get("chromosome"), get("position")) {
                (Some(Json::String(chromosome)), Some(Json::Number(position))) => {
                    format!(" ({chromosome}:{position})")
                }
                _ => String::new(),
            }
        }
        _ => String::new(),
    };
    format!("{path}[{index}]{place}")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn diff(out: &mut Vec<Difference>, path: String, local: &Json, hosted: &Json) {
    match (local, hosted) {
        (Json::Object(ours), Json::Object(theirs)) => {
            let our_keys: Vec<&str> = ours.iter().map(|(k, _)| k.as_str()).collect();
            let their_keys: Vec<&str> = theirs.iter().map(|(k, _)| k.as_str()).collect();
            for (key, value) in ours {
                match theirs.iter().find(|(k, _)| k == key) {
                    Some((_, other)) => diff(out, join(&path, key), value, other),
                    None => out.push(Difference {
                        path: join(&path, key),
                        local: value.to_string(),
                        hosted: "(absent)".to_string(),
                    }),
                }
            }
            for (key, value) in theirs {
                if !ours.iter().any(|(k, _)| k == key) {
                    out.push(Difference {
                        path: join(&path, key),
                        local: "(absent)".to_string(),
                        hosted: value.to_string(),
                    });
                }
            }
            let common_ours: Vec<&&str> =
                our_keys.iter().filter(|k| their_keys.contains(k)).collect();
            let common_theirs: Vec<&&str> =
                their_keys.iter().filter(|k| our_keys.contains(k)).collect();
            if common_ours != common_theirs {
                out.push(Difference {
                    path: join(&path, "(key order)"),
                    local: our_keys.join(","),
                    hosted: their_keys.join(","),
                });
            }
        }
        (Json::Array(ours), Json::Array(theirs)) => {
            for (index, (a, b)) in ours.iter().zip(theirs).enumerate() {
                diff(out, label(&path, index, b), a, b);
            }
            if ours.len() != theirs.len() {
                out.push(Difference {
                    path: format!("{path} (length)"),
                    local: ours.len().to_string(),
                    hosted: theirs.len().to_string(),
                });
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path,
            local: a.to_string(),
            hosted: b.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_bytes() {
        assert!(compare(b"{\"a\":1}\n", b"{\"a\":1}").is_empty());
    }

    #[test]
    fn field_level_differences() {
        let local = br#"{"meta":{"count":1},"results":[{"chromosome":"chr19","position":5,"quality":50.0,"info":{"A":"1","B":true}}]}"#;
        let hosted = br#"{"meta":{"count":2},"results":[{"chromosome":"chr19","position":5,"quality":50,"info":{"B":true,"A":"1"}},{"x":1}]}"#;
        let differences = compare(local, hosted);
        let paths: Vec<&str> = differences.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "meta.count",
                "results[0] (chr19:5).quality",
                "results[0] (chr19:5).info.(key order)",
                "results (length)"
            ]
        );
        assert_eq!(differences[1].local, "50.0");
        assert_eq!(differences[1].hosted, "50");
    }

    #[test]
    fn layout_only_and_non_json() {
        let differences = compare(b"{\"a\":[1,2]}", b"{ \"a\": [1, 2] }");
        assert_eq!(differences.len(), 1);
        assert!(differences[0].hosted.contains("white space"));
        assert_eq!(compare(b"{\"a\":1}", b"<html>").len(), 1);
    }

    #[test]
    fn nested_values_round_trip() {
        let text = r#"{"a":[],"b":{},"c":[1,{"d":null,"e":true}],"f":-1.5e+16}"#;
        assert_eq!(parse_json(text.as_bytes()).unwrap().to_string(), text);
        assert_eq!(
            parse_json(b" [ 1 , 2 ] ").unwrap(),
            Json::Array(vec![Json::Number("1".into()), Json::Number("2".into())])
        );
        for bad in [
            &b"[1 2]"[..],
            b"{\"a\" 1}",
            b"{1:2}",
            b"[1,]",
            b"{\"a\":1",
            b"[] x",
        ] {
            assert!(parse_json(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn strings_decode_escapes() {
        assert_eq!(
            parse_json(br#""a\"b\u00e9""#).unwrap(),
            Json::String("a\"bé".into())
        );
        assert!(parse_json(b"{\"a\":").is_err());
        assert!(
            parse_json(&[b'['; 1000]).is_err(),
            "deep nesting is refused, not a stack overflow"
        );
    }
}
