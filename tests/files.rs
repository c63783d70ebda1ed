//! Sample requirements (`docs/parity.md`, "What a sample's VCF must be") and file
//! faults: each is a clear error with
//! the contract's exit code and nothing on stdout; valid variants are answered.

use std::time::{Duration, SystemTime};

use crate::util::{assert_fails, copy_to_temp, query, query_json, testdata};

const POINT: [&str; 4] = ["--chromosome", "chr19", "--position", "44908684"];

#[test]
fn csi_only_indexes_work() {
    let body = query_json(&testdata("edge/apoe-csi-only.vcf.gz"), &POINT);
    assert_eq!(body["results"][0]["rsid"], "rs429358");
    // The real PharmCAT uniallelic file, indexed only by a CSI.
    let pharmcat = query_json(
        &testdata("pharmcat/pharmcat_positions.uniallelic.vcf.bgz"),
        &["--chromosome", "chr10", "--position", "94781859"],
    );
    assert_eq!(pharmcat["meta"]["count"], 1);
    assert_eq!(pharmcat["results"][0]["rsid"], "rs4244285");
}

#[test]
fn missing_index() {
    let dir = copy_to_temp(&["apoe.vcf.gz"]);
    assert_fails(
        query(&dir.path().join("apoe.vcf.gz"), &POINT),
        2,
        "has no index: neither",
    );
    assert_fails(
        query(&dir.path().join("apoe.vcf.gz"), &POINT),
        2,
        "tabix -p vcf",
    );
}

#[test]
fn stale_index() {
    let dir = copy_to_temp(&["apoe.vcf.gz", "apoe.vcf.gz.tbi"]);
    let index = std::fs::File::options()
        .write(true)
        .open(dir.path().join("apoe.vcf.gz.tbi"))
        .unwrap();
    index
        .set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    assert_fails(
        query(&dir.path().join("apoe.vcf.gz"), &POINT),
        2,
        "is older than the VCF",
    );
}

#[test]
fn real_mismatched_csi_from_pharmcat() {
    // tabix itself fails on this pair with "Invalid BGZF header"; vcfq says why up front.
    assert_fails(
        query(
            &testdata("pharmcat/pharmcat_positions.vcf.bgz"),
            &["--chromosome", "chr10", "--position", "94781859"],
        ),
        2,
        "does not match the file",
    );
}

#[test]
fn index_of_another_file() {
    let dir = copy_to_temp(&["apoe.vcf.gz"]);
    std::fs::copy(
        testdata("NA12878.pgx-extract.vcf.gz.tbi"),
        dir.path().join("apoe.vcf.gz.tbi"),
    )
    .unwrap();
    assert_fails(
        query(
            &dir.path().join("apoe.vcf.gz"),
            &["--chromosome", "chr10", "--position", "94781859"],
        ),
        2,
        "does not match the file",
    );
}

#[test]
fn index_that_is_not_an_index() {
    let dir = copy_to_temp(&["apoe.vcf.gz"]);
    std::fs::write(
        dir.path().join("apoe.vcf.gz.tbi"),
        b"this is not a tabix index at all",
    )
    .unwrap();
    assert_fails(
        query(&dir.path().join("apoe.vcf.gz"), &POINT),
        2,
        "does not open as a tabix (.tbi) or CSI index",
    );
    std::fs::write(dir.path().join("apoe.vcf.gz.tbi"), b"").unwrap();
    assert_fails(
        query(&dir.path().join("apoe.vcf.gz"), &POINT),
        2,
        "does not open",
    );
}

#[test]
fn compression() {
    assert_fails(
        query(&testdata("edge/plain-gzip.vcf.gz"), &POINT),
        2,
        "gzip-compressed but not with bgzip (BGZF)",
    );
    assert_fails(
        query(&testdata("apoe.vcf"), &POINT),
        2,
        "is not bgzip-compressed",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.vcf.gz"), b"").unwrap();
    assert_fails(
        query(&dir.path().join("empty.vcf.gz"), &POINT),
        2,
        "is not bgzip-compressed",
    );
    assert_fails(query(dir.path(), &POINT), 2, "is not a regular file");
}

#[test]
fn grch38_lengths_only() {
    assert_fails(query(&testdata("edge/grch37_lengths.vcf.gz"), &POINT), 2, "is not on GRCh38: its ##contig 19 has length 59128983, but GRCh38 chr19 is 58617616 bp long");
}

#[test]
fn header_only() {
    let body = query_json(&testdata("edge/header_only.vcf.gz"), &POINT);
    assert_eq!(
        body,
        serde_json::json!({"meta": {"count": 0}, "results": []})
    );
}

#[test]
fn contig_naming_in_the_vcf() {
    // RefSeq accessions (NC_000019.10) answer as chr19; scaffolds are never reachable.
    let (code, stdout, _) = query(&testdata("edge/refseq_names.vcf.gz"), &POINT);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "{\"meta\":{\"count\":1},\"results\":[{\"chromosome\":\"chr19\",\"position\":44908684,\"rsid\":null,\"ref\":\"T\",\"alt\":[\"C\"],\"genotype\":{\"GT\":\"0|1\",\"DS\":\"1\",\"GP\":\"0,1,0\"},\"quality\":null,\"info\":{\"RAF\":\"0.15\"}}]}\n"
    );
    // Bare names (19) in a sites-only VCF: genotype is null.
    let (code, stdout, _) = query(
        &testdata("edge/sites_only_bare_names.vcf.gz"),
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "44908600",
            "--end-position",
            "44908900",
            "--schema",
            "openapi",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "{\"meta\":{\"count\":2,\"next\":null,\"previous\":null},\"results\":[{\"chromosome\":\"chr19\",\"position\":44908684,\"rsid\":null,\"ref\":\"T\",\"alt\":[\"C\"],\"genotype\":null,\"genotype_confidence\":null,\"quality\":null,\"info\":{\"RAF\":\"0.15\"}},{\"chromosome\":\"chr19\",\"position\":44908822,\"rsid\":\"rs7412\",\"ref\":\"C\",\"alt\":[\"T\"],\"genotype\":null,\"genotype_confidence\":null,\"quality\":12.0,\"info\":{\"RAF\":\"0.07\",\"DB\":true}}]}\n"
    );
}

#[test]
fn multi_sample_vcfs() {
    let path = testdata("edge/multi_sample.vcf.gz");
    assert_eq!(
        query_json(&path, &POINT)["results"][0]["genotype"]["GT"],
        "0|0",
        "first sample by default"
    );
    assert_eq!(
        query_json(&path, &[&POINT[..], &["--vcf-sample", "CHILD"]].concat())["results"][0]
            ["genotype"]["GT"],
        "0|1"
    );
    assert_fails(
        query(&path, &[&POINT[..], &["--vcf-sample", "DAD"]].concat()),
        2,
        "has no sample \"DAD\"; its samples are: MOTHER, CHILD",
    );
    assert_fails(
        query(
            &testdata("edge/sites_only_bare_names.vcf.gz"),
            &[&POINT[..], &["--vcf-sample", "X"]].concat(),
        ),
        2,
        "sites-only VCF",
    );
}

#[test]
fn haploid_calls() {
    let body = query_json(
        &testdata("HG00096.chrX-extract.vcf.gz"),
        &["--chromosome", "chrX", "--position", "154530006"],
    );
    assert_eq!(
        body["results"][0]["genotype"],
        serde_json::json!({"GT": "0"})
    );
}

#[test]
fn malformed_records_are_internal_errors_with_no_output() {
    let path = testdata("edge/malformed.vcf.gz");
    assert_fails(
        query(&path, &["--chromosome", "chr19", "--position", "100"]),
        1,
        "malformed record at chr19:100: the INFO column is not valid UTF-8",
    );
    assert_fails(
        query(&path, &["--chromosome", "chr19", "--position", "200"]),
        1,
        "QUAL \"not_a_number\" is not a finite number",
    );
    assert_fails(
        query(&path, &["--chromosome", "chr19", "--position", "300"]),
        1,
        "QUAL \"nan\"",
    );
    // A range that holds a malformed record fails whole: never partial JSON.
    assert_fails(
        query(
            &path,
            &[
                "--chromosome",
                "chr19",
                "--start-position",
                "1",
                "--end-position",
                "1000",
            ],
        ),
        1,
        "malformed record",
    );
    // Records outside the page are counted but not rendered, so they cannot fail it.
    let (code, stdout, _) = query(
        &path,
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "1",
            "--end-position",
            "1000",
            "--offset",
            "3",
        ],
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "{\"meta\":{\"count\":3},\"results\":[]}\n")
    );
}

#[test]
fn truncated_file_is_an_internal_error() {
    let dir = copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let path = dir.path().join("NA12878.pgx-extract.vcf.gz");
    let length = std::fs::metadata(&path).unwrap().len();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(length - 3000)
        .unwrap();
    let index = std::fs::File::options()
        .write(true)
        .open(dir.path().join("NA12878.pgx-extract.vcf.gz.tbi"))
        .unwrap();
    index
        .set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    // The last records of the file (chrX, in this extract) sit in the cut-off tail.
    assert_fails(
        query(
            &path,
            &[
                "--chromosome",
                "chrX",
                "--start-position",
                "154540000",
                "--end-position",
                "154550000",
            ],
        ),
        1,
        "truncated or corrupt",
    );
    // Records before the cut are still answered.
    assert_eq!(
        query_json(&path, &["--chromosome", "chr1", "--position", "11796321"])["meta"]["count"],
        1
    );
}

#[test]
fn one_contig_under_two_names_answers_in_file_order() {
    let body = query_json(
        &testdata("edge/two_names.vcf.gz"),
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "1",
            "--end-position",
            "200",
        ],
    );
    let genotypes: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["genotype"]["GT"].as_str().unwrap())
        .collect();
    assert_eq!(
        genotypes,
        vec!["0|1", "1|1", "0|0"],
        "records named 19 first, then chr19, as in the file"
    );
    assert_eq!(
        query_json(
            &testdata("edge/two_names.vcf.gz"),
            &["--chromosome", "chr19", "--position", "100"]
        )["meta"]["count"],
        2
    );
}

#[test]
fn crlf_line_ends_are_not_part_of_values() {
    let (code, stdout, _) = query(
        &testdata("edge/crlf.vcf.gz"),
        &["--chromosome", "chr19", "--position", "100"],
    );
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "{\"meta\":{\"count\":1},\"results\":[{\"chromosome\":\"chr19\",\"position\":100,\"rsid\":\"rs5\",\"ref\":\"A\",\"alt\":[\"G\"],\"genotype\":{\"GT\":\"0|1\",\"DS\":\"1\"},\"quality\":50.0,\"info\":{\"AF\":\"0.5\"}}]}\n"
    );
}
