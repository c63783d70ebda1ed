//! Every record of a test VCF comes back from a point query at its POS. The expected
//! values come from a plain-text parse of the decompressed file here, not from vcfq.

use std::io::Read;

use serde_json::{json, Map, Value};
use vcfq::{Request, ResponseOptions, Sample, SampleOptions};

use crate::util::testdata;

fn decompress(relative: &str) -> String {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(testdata(relative)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The API record for a VCF line, by the contract's rules, from the text alone.
fn expected_record(line: &str) -> Value {
    let columns: Vec<&str> = line.split('\t').collect();
    let rsid = columns[2].split(';').find(|token| {
        token.len() > 2 && token.starts_with("rs") && token[2..].bytes().all(|b| b.is_ascii_digit())
    });
    let alt: Vec<&str> = if columns[4] == "." {
        Vec::new()
    } else {
        columns[4].split(',').collect()
    };
    let genotype = match (columns.get(8), columns.get(9)) {
        (Some(format), Some(sample)) => {
            let map: Map<String, Value> = format
                .split(':')
                .zip(sample.split(':'))
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            Value::Object(map)
        }
        _ => Value::Null,
    };
    let quality = if columns[5] == "." {
        Value::Null
    } else {
        json!(columns[5].parse::<f64>().unwrap())
    };
    let mut info = Map::new();
    if columns[7] != "." {
        for entry in columns[7].split(';').filter(|entry| !entry.is_empty()) {
            match entry.split_once('=') {
                Some((key, value)) => info.insert(key.to_string(), json!(value)),
                None => info.insert(entry.to_string(), json!(true)),
            };
        }
    }
    json!({
        "chromosome": columns[0],
        "position": columns[1].parse::<u64>().unwrap(),
        "rsid": rsid,
        "ref": columns[3],
        "alt": alt,
        "genotype": genotype,
        "quality": quality,
        "info": info,
    })
}

fn check_every_record(relative: &str, expected_records: usize) {
    let text = decompress(relative);
    let mut groups: Vec<((String, String), Vec<&str>)> = Vec::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let mut columns = line.splitn(3, '\t');
        let key = (
            columns.next().unwrap().to_string(),
            columns.next().unwrap().to_string(),
        );
        match groups.last_mut() {
            Some((last, lines)) if *last == key => lines.push(line),
            _ => groups.push((key, vec![line])),
        }
    }
    let total: usize = groups.iter().map(|(_, lines)| lines.len()).sum();
    assert_eq!(total, expected_records, "{relative}");

    let sample = Sample::open(testdata(relative), &SampleOptions::default()).unwrap();
    let options = ResponseOptions::default();
    for ((chromosome, position), lines) in &groups {
        let request =
            Request::parse(&format!("chromosome={chromosome}&position={position}")).unwrap();
        let body = sample.respond(&request, &options).unwrap();
        let actual: Value = serde_json::from_slice(&body).unwrap();
        let expected: Vec<Value> = lines.iter().map(|line| expected_record(line)).collect();
        assert_eq!(
            actual["meta"]["count"],
            json!(lines.len()),
            "{chromosome}:{position}"
        );
        assert_eq!(
            actual["results"],
            Value::Array(expected),
            "{chromosome}:{position}"
        );
    }
}

#[test]
fn every_1000_genomes_record_comes_back() {
    check_every_record("NA12878.pgx-extract.vcf.gz", 2665);
}

#[test]
fn every_pharmcat_position_comes_back() {
    check_every_record("pharmcat/pharmcat_positions.vcf.gz", 1202);
}

#[test]
fn every_edge_record_comes_back() {
    check_every_record("edge/edge.vcf.gz", 26);
}
