//! Reading merge history (`--merged`): NCBI's own `refsnp-merged.json` (one RefSNP
//! object a line, as published in `snp/latest_release/JSON/`, usually bzip2-compressed)
//! or a TSV `old_rs<TAB>current_rs`. Either may be plain, gzipped or bzip2-compressed;
//! the format is told by the first line, the compression by the first bytes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::{input_error, io_error, MAX_LINE};
use crate::error::Error;
use crate::lines::{read_line_limited, LineRead};
use crate::types::Rsid;

/// One line of `refsnp-merged.json`: the fields vcfq reads, the others ignored.
/// `merged_snapshot_data.merged_into` lists the RefSNPs this one was merged into (the
/// first is taken, as NCBI's own tools do); `dbsnp1_merges` lists older rsIDs that were
/// merged into this one.
#[derive(Deserialize)]
struct RefsnpMerged {
    refsnp_id: RsNumber,
    #[serde(default)]
    merged_snapshot_data: Option<MergedSnapshot>,
    #[serde(default)]
    dbsnp1_merges: Vec<Dbsnp1Merge>,
}

#[derive(Deserialize)]
struct MergedSnapshot {
    #[serde(default)]
    merged_into: Vec<RsNumber>,
}

#[derive(Deserialize)]
struct Dbsnp1Merge {
    merged_rsid: RsNumber,
}

/// An rs number as NCBI writes it: a string of digits (`"1234"`), or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum RsNumber {
    Text(String),
    Number(u64),
}

impl RsNumber {
    fn get(&self) -> Option<u64> {
        match self {
            RsNumber::Text(text) => rs_number(text.as_bytes()),
            RsNumber::Number(number) => Rsid::from_number(*number).map(Rsid::number),
        }
    }
}

/// `1234`, `rs1234` or `RS1234` as a valid rs number.
fn rs_number(field: &[u8]) -> Option<u64> {
    let digits = field
        .strip_prefix(b"rs")
        .or_else(|| field.strip_prefix(b"RS"))
        .unwrap_or(field);
    Rsid::parse_vcf_token(&[b"rs", digits].concat()).map(Rsid::number)
}

/// Reads the merge history at `path`: old rs number -> the rs number it was merged into.
pub(super) fn read_merges(path: &Path) -> Result<HashMap<u64, u64>, Error> {
    let file = File::open(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => input_error(path, "does not exist"),
        _ => io_error("opening", path, error),
    })?;
    let mut raw = BufReader::with_capacity(1 << 20, file);
    let start = raw
        .fill_buf()
        .map_err(|error| io_error("reading", path, error))?;
    let mut input: Box<dyn BufRead> = if start.starts_with(b"BZh") {
        Box::new(BufReader::with_capacity(
            1 << 20,
            bzip2::read::MultiBzDecoder::new(raw),
        ))
    } else if crate::bgzf::is_gzip(start) {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    };
    let mut merges = HashMap::new();
    let mut line = Vec::new();
    let mut json: Option<bool> = None;
    for number in 1u64.. {
        let read = read_line_limited(&mut input, &mut line, MAX_LINE).map_err(|error| {
            input_error(
                path,
                format!("cannot be decompressed or read ({error}): is the file complete?"),
            )
        })?;
        match read {
            LineRead::End => break,
            LineRead::TooLong => {
                return Err(input_error(
                    path,
                    format!(
                        "line {number} is longer than {} MiB: it is not a merge history",
                        MAX_LINE >> 20
                    ),
                ))
            }
            LineRead::Line => {}
        }
        let text = line.trim_ascii();
        if text.is_empty() || text.starts_with(b"#") {
            continue;
        }
        let is_json = *json.get_or_insert(text.starts_with(b"{"));
        let result = if is_json {
            json_line(text, &mut merges)
        } else {
            tsv_line(text, number, &mut merges)
        };
        result.map_err(|message| input_error(path, format!("line {number}: {message}")))?;
    }
    Ok(merges)
}

/// One `refsnp-merged.json` object. Its own merge (`merged_into`) wins over an older
/// record naming the same rsID in `dbsnp1_merges`.
fn json_line(text: &[u8], merges: &mut HashMap<u64, u64>) -> Result<(), String> {
    let record: RefsnpMerged = serde_json::from_slice(text).map_err(|error| {
        format!("not a refsnp-merged.json object ({error}); expected {{\"refsnp_id\":\"…\",\"merged_snapshot_data\":{{\"merged_into\":[\"…\"]}},…}}")
    })?;
    let id = record
        .refsnp_id
        .get()
        .ok_or("refsnp_id is not an rs number")?;
    if let Some(snapshot) = &record.merged_snapshot_data {
        if let Some(into) = snapshot.merged_into.first() {
            let into = into
                .get()
                .ok_or("merged_into holds something not an rs number")?;
            merges.insert(id, into);
        }
    }
    for old in &record.dbsnp1_merges {
        let old = old
            .merged_rsid
            .get()
            .ok_or("dbsnp1_merges holds a merged_rsid not an rs number")?;
        merges.entry(old).or_insert(id);
    }
    Ok(())
}

/// One `old_rs<TAB>current_rs` line; the first line may be a header.
fn tsv_line(text: &[u8], number: u64, merges: &mut HashMap<u64, u64>) -> Result<(), String> {
    let mut fields = text.split(|&b| b == b'\t');
    let (old, current) = (
        fields.next().unwrap_or_default(),
        fields.next().unwrap_or_default(),
    );
    match (rs_number(old.trim_ascii()), rs_number(current.trim_ascii())) {
        (Some(old), Some(current)) => {
            merges.insert(old, current);
            Ok(())
        }
        _ if number == 1 => Ok(()), // a header line
        _ => Err(format!(
            "expected `old_rs<TAB>current_rs` (or NCBI's refsnp-merged.json), got {:?}",
            String::from_utf8_lossy(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(bytes: &[u8]) -> Result<HashMap<u64, u64>, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("merged");
        std::fs::write(&path, bytes).unwrap();
        read_merges(&path)
    }

    #[test]
    fn ncbi_json_lines() {
        let text = br#"{"refsnp_id":"9000","create_date":"2000-09-19T17:02Z","last_update_date":"2002-05-01T00:00Z","last_update_build_id":"105","dbsnp1_merges":[{"merged_rsid":"8000","revision":"105","merge_date":"2002-05-01T00:00Z"}],"merged_snapshot_data":{"proxy_time":"2002-05-01T00:00Z","proxy_build_id":"105","merged_into":["9001"]}}
{"refsnp_id":"9001","dbsnp1_merges":[],"merged_snapshot_data":{"merged_into":[429358]}}
{"refsnp_id":"8000","merged_snapshot_data":{"merged_into":["7000"]}}
"#;
        let merges = read(text).unwrap();
        assert_eq!(merges[&9000], 9001);
        assert_eq!(merges[&9001], 429_358);
        // Its own record wins over the older merge naming it.
        assert_eq!(merges[&8000], 7000);
        // bzip2 and gzip as published.
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(text).unwrap();
        assert_eq!(read(&bz.finish().unwrap()).unwrap(), merges);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        assert_eq!(read(&gz.finish().unwrap()).unwrap(), merges);
    }

    #[test]
    fn bad_merge_files_say_which_line() {
        let error = read(b"{\"refsnp_id\":\"1\"}\n{\"refsnp_id\":\"x\"}\n").unwrap_err();
        assert!(error.to_string().contains("line 2: refsnp_id"), "{error}");
        let error = read(b"{\"refsnp_id\":\"1\"}\n{oops\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("line 2: not a refsnp-merged.json"),
            "{error}"
        );
        let error = read(b"old\tnew\nrs1\trs2\nrs3\n").unwrap_err();
        assert!(error.to_string().contains("line 3: expected"), "{error}");
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&b"{\"refsnp_id\":\"1\"}\n".repeat(10_000))
            .unwrap();
        let mut cut = bz.finish().unwrap();
        cut.truncate(cut.len() / 2);
        let error = read(&cut).unwrap_err();
        assert!(
            error.to_string().contains("is the file complete"),
            "{error}"
        );
    }
}
