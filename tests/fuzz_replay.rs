//! Replays the fuzz targets' seed corpus (fuzz/corpus/TARGET) and every input a fuzzer
//! ever flagged (fuzz/regressions/TARGET) through the same entry points the cargo-fuzz
//! targets call, so a fixed crash stays fixed without cargo-fuzz installed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut found = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, bytes));
        }
    }
    assert!(!found.is_empty(), "no seeds for {target}");
    found
}

fn testdata(relative: &str) -> PathBuf {
    crate::util::testdata(relative)
}

#[test]
fn request_and_dbsnp_line() {
    for (_, bytes) in inputs("request") {
        vcfq::fuzzing::request(&bytes);
    }
    for (_, bytes) in inputs("dbsnp_line") {
        vcfq::fuzzing::dbsnp_line(&bytes);
    }
}

#[test]
fn dbsnp_map() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = vcfq::fuzzing::MapFixture::new(
        dir.path(),
        &testdata("dbsnp/crafted.vcf"),
        Some(&testdata("dbsnp/crafted-merged.tsv")),
    );
    for (_, bytes) in inputs("dbsnp_map") {
        fixture.open_damaged(&bytes);
    }
}

#[test]
fn vcf_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut options =
        vcfq::dbsnp::BuildOptions::new(testdata("dbsnp/crafted.vcf"), dir.path().join("map"));
    options.threads = 1;
    vcfq::dbsnp::build_map(&options, &mut |_| {}).unwrap();
    let map = Arc::new(vcfq::RsidMap::open(dir.path().join("map")).unwrap());
    for (_, bytes) in inputs("vcf_records") {
        vcfq::fuzzing::vcf_records(dir.path(), &bytes, Some(&map));
    }
}

#[test]
fn http() {
    let dir = tempfile::tempdir().unwrap();
    let store = vcfq::store::Store::new(dir.path().join("store"));
    let id = vcfq::store::SampleId::parse("3fa85f64-5717-4562-b3fc-2c963f66afa6").unwrap();
    store.add(&id, &testdata("apoe.vcf.gz"), None).unwrap();
    let fixture = vcfq::fuzzing::HttpFixture::new(store.dir(), None);
    for (path, bytes) in inputs("http") {
        let answer = fixture.exchange(&bytes);
        assert!(!answer.is_empty(), "{}: no answer", path.display());
    }
}
