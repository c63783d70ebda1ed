//! Entry points for the cargo-fuzz targets in `fuzz/` (and their regression tests). Not
//! part of the public API: each function drives one input path end to end and panics
//! only when vcfq itself broke an invariant (a wrong answer, invalid JSON, a lost
//! error), so the fuzzer reports exactly those.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::dbsnp::ingest::{parse_dbsnp_line, row_rs_numbers, ContigCache, DbsnpLine};
use crate::dbsnp::{build_map, BuildOptions};
use crate::querystring::{encode_sorted, parse_pairs, python_int};
use crate::request::{Query, Request, MAX_RANGE_SPAN, MAX_RSIDS};
use crate::response::ResponseOptions;
use crate::{Contig, Rsid, RsidMap, Sample, SampleOptions};

/// The request parser: arbitrary text as a query string.
pub fn request(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let pairs = parse_pairs(&text);
    // Re-encoding and re-parsing gives the same pairs (sorted by name, stable).
    let mut sorted = pairs.clone();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(parse_pairs(&encode_sorted(&pairs)), sorted, "{text:?}");
    for (_, value) in &pairs {
        let _ = python_int(value);
    }
    match Request::parse(&text) {
        Ok(request) => match &request.query {
            Query::Point {
                chromosome,
                position,
            } => assert!(position.get() >= 1 && position.get() <= chromosome.length),
            Query::Range {
                chromosome,
                start_position,
                end_position,
            } => {
                let (start, end) = (start_position.get(), end_position.get());
                assert!(start >= 1 && start <= end && end <= chromosome.length);
                assert!(end - start <= MAX_RANGE_SPAN);
            }
            Query::Rsid { rsids } => assert!(!rsids.is_empty() && rsids.len() <= MAX_RSIDS),
        },
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// The dbSNP ingest line parser on one arbitrary line.
pub fn dbsnp_line(data: &[u8]) {
    let mut contigs = ContigCache::default();
    match parse_dbsnp_line(data, &mut contigs) {
        Ok(DbsnpLine::Row {
            contig,
            position,
            id,
            info,
            reference,
            alternates,
        }) => {
            assert!(u64::from(position) >= 1 && u64::from(position) <= contig.length);
            assert!(!reference.is_empty());
            for rs in row_rs_numbers(id, info) {
                assert!(Rsid::from_number(rs).is_some(), "rs{rs} from {data:?}");
            }
            let _ = alternates;
        }
        Ok(DbsnpLine::OtherContig(name)) => assert!(Contig::from_any_name(name).is_none()),
        Err(message) => assert!(!message.is_empty()),
    }
}

/// A small real map (built once from the crafted dbSNP fixture) whose files the map
/// target damages before opening and querying.
pub struct MapFixture {
    pristine: Vec<(String, Vec<u8>)>,
    work: PathBuf,
}

impl MapFixture {
    /// Builds the fixture map in `dir` from `source` (a dbSNP VCF) and `merged` (merge TSV).
    pub fn new(dir: &Path, source: &Path, merged: Option<&Path>) -> MapFixture {
        let map = dir.join("map");
        let mut options = BuildOptions::new(source, &map);
        options.merged = merged.map(Path::to_path_buf);
        options.memory_bytes = 1 << 20;
        options.threads = 1;
        build_map(&options, &mut |_| {}).expect("building the fixture map");
        let mut pristine = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(&map)
            .expect("map directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .into_string()
                    .expect("name")
            })
            .collect();
        names.sort();
        for name in names {
            let bytes = std::fs::read(map.join(&name)).expect("map file");
            pristine.push((name, bytes));
        }
        let work = dir.join("work");
        MapFixture { pristine, work }
    }

    /// Applies `data` as a list of edits (file, truncate/overwrite/append, offset, bytes) to a
    /// copy of the map, opens it and queries it. Errors are fine; crashes and panics are not.
    pub fn open_damaged(&self, data: &[u8]) {
        let mut files = self.pristine.clone();
        let mut edits = data;
        while edits.len() >= 4 {
            let file = usize::from(edits[0]) % files.len();
            let op = edits[1] % 4;
            let length = usize::from(edits[2]);
            let bytes = &files[file].1;
            let offset = if bytes.is_empty() {
                0
            } else {
                (usize::from(edits[3]) * 257 + length) % bytes.len()
            };
            let payload_end = (4 + length).min(edits.len());
            let payload = &edits[4..payload_end];
            let bytes = &mut files[file].1;
            match op {
                0 => bytes.truncate(offset),
                1 => {
                    let end = (offset + payload.len()).min(bytes.len());
                    bytes[offset..end].copy_from_slice(&payload[..end - offset]);
                }
                2 => bytes.extend_from_slice(payload),
                _ => {
                    if let Some(byte) = bytes.get_mut(offset) {
                        *byte ^= edits[2] | 1;
                    }
                }
            }
            edits = &edits[payload_end..];
        }
        let _ = std::fs::remove_dir_all(&self.work);
        std::fs::create_dir_all(&self.work).expect("work directory");
        for (name, bytes) in &files {
            std::fs::write(self.work.join(name), bytes).expect("writing a map file");
        }
        let Ok(map) = RsidMap::open(&self.work) else {
            return;
        };
        let chr19 = Contig::from_any_name(b"chr19").expect("chr19");
        for rs in [100, 201, 301, 429358, 7412, 1801133, 999, 1] {
            if let Some(rsid) = Rsid::from_number(rs) {
                let _ = map.resolve(rsid);
            }
        }
        for position in [1000, 2000, 3000, 5001, 44908684] {
            let _ = map.rsid_for_record(chr19, position, b"A", [b"G".as_slice(), b"C", b"T"]);
        }
        let _ = map.check();
    }
}

/// The VCF record -> JSON path: `body` (arbitrary data lines) after a fixed GRCh38 header,
/// written as a bgzipped, indexed VCF in `dir`, opened and queried like a user would.
pub fn vcf_records(dir: &Path, body: &[u8], map: Option<&Arc<RsidMap>>) {
    let mut text = b"##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n##contig=<ID=chr19,length=58617616>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n".to_vec();
    text.extend_from_slice(body);
    let path = dir.join("fuzz.vcf.gz");
    let _ = std::fs::remove_file(dir.join("fuzz.vcf.gz.tbi"));
    // The last input's position index may match this file's size and (coarse) times.
    let _ = std::fs::remove_file(crate::position_index::index_path(&path));
    if crate::index::write_indexed_vcf(&path, &text, false).is_err() {
        return;
    }
    let Ok(sample) = Sample::open(&path, &SampleOptions::default()) else {
        return;
    };
    let options = ResponseOptions {
        dbsnp: map.cloned(),
        ..ResponseOptions::default()
    };
    // Ask for the first 64 records' positions (inputs over 4 KiB put them on both sides of
    // position-index checkpoints), a window around the first, and an rsID query.
    let mut requests = vec!["rsid=rs100,rs429358,rs201".to_string()];
    for (i, line) in body.split(|&b| b == b'\n').take(64).enumerate() {
        let mut columns = line.split(|&b| b == b'\t');
        let chromosome = String::from_utf8_lossy(columns.next().unwrap_or_default());
        let position = String::from_utf8_lossy(columns.next().unwrap_or_default());
        if let Ok(position) = position.trim().parse::<u64>() {
            requests.push(format!("chromosome={chromosome}&position={position}"));
            if i == 0 {
                requests.push(format!(
                    "chromosome={chromosome}&start_position={}&end_position={}&limit=3&offset=1",
                    position.saturating_sub(50_000).max(1),
                    position + 50_000
                ));
            }
        }
    }
    let requests: Vec<(String, Request)> = requests
        .into_iter()
        .filter_map(|query| Request::parse(&query).ok().map(|request| (query, request)))
        .collect();
    let mut answers = Vec::new();
    for (query, request) in &requests {
        let answer = sample.respond(request, &options);
        if let Ok(bytes) = &answer {
            let value: serde_json::Value = match serde_json::from_slice(bytes) {
                Ok(value) => value,
                Err(error) => panic!("{query}: invalid JSON ({error}): {bytes:?}"),
            };
            let count = value["meta"]["count"].as_u64().expect("meta.count");
            let shown = value["results"].as_array().expect("results").len() as u64;
            assert!(shown <= count, "{query}: {shown} records shown of {count}");
        }
        answers.push(answer.map_err(|error| error.class()));
    }
    // Differential: through the position index the answers are the same.
    let _ = std::fs::remove_file(crate::position_index::index_path(&path));
    if crate::position_index::build(&path).is_err() {
        return;
    }
    let Ok(sample) = Sample::open(&path, &SampleOptions::default()) else {
        panic!("the VCF opened through tabix but not through its position index");
    };
    assert!(sample.uses_position_index());
    for ((query, request), expected) in requests.iter().zip(&answers) {
        let answer = sample
            .respond(request, &options)
            .map_err(|error| error.class());
        assert_eq!(
            &answer, expected,
            "{query}: the position index answered differently"
        );
    }
}

pub use crate::server::fuzzing::HttpFixture;
