//! Every validation rule of `docs/parity.md` ("Requests") through the CLI: exit code 2,
//! a message that says what was wrong, and nothing on stdout.

use crate::util::{assert_fails, query, run, testdata};

fn apoe() -> std::path::PathBuf {
    testdata("apoe.vcf.gz")
}

fn rejects(args: &[&str], message: &str) {
    assert_fails(query(&apoe(), args), 2, message);
}

#[test]
fn exactly_one_mode() {
    rejects(&[], "no query given");
    rejects(&["limit=5"], "no query given");
    rejects(
        &["--chromosome", "chr19"],
        "incomplete point or range query",
    );
    rejects(
        &["--position", "5"],
        "incomplete point query: got position, missing chromosome",
    );
    rejects(
        &["--chromosome", "chr19", "--start-position", "5"],
        "missing end_position",
    );
    rejects(
        &["--chromosome", "chr19", "--end-position", "5"],
        "missing start_position",
    );
    rejects(
        &["--start-position", "1", "--end-position", "5"],
        "missing chromosome",
    );
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--position",
            "5",
            "--start-position",
            "1",
        ],
        "more than one query mode given (chromosome, position, start_position)",
    );
    rejects(
        &["--rsid", "rs429358", "--chromosome", "chr19"],
        "more than one query mode given (chromosome, rsid)",
    );
    rejects(
        &["--rsid", "rs429358", "--position", "5"],
        "more than one query mode",
    );
    rejects(
        &["chromosome=chr19&position=5", "--rsid", "rs1"],
        "more than one query mode",
    );
    // The message lists what is allowed.
    rejects(&[], "chromosome + position (point), chromosome + start_position + end_position (range), or rsid");
}

#[test]
fn chromosome_names() {
    rejects(
        &["--chromosome", "19", "--position", "5"],
        "invalid chromosome \"19\": did you mean \"chr19\"?",
    );
    rejects(
        &["--chromosome", "chr23", "--position", "5"],
        "invalid chromosome \"chr23\": chromosome must be one of chr1..chr22, chrX, chrY, chrM",
    );
    rejects(
        &["--chromosome", "chrMT", "--position", "5"],
        "did you mean \"chrM\"?",
    );
    rejects(
        &["--chromosome", "CHR19", "--position", "5"],
        "did you mean \"chr19\"?",
    );
    rejects(
        &["--chromosome", "", "--position", "5"],
        "invalid chromosome \"\"",
    );
    rejects(
        &["--chromosome", "chr1_KI270706v1_random", "--position", "5"],
        "invalid chromosome",
    );
}

#[test]
fn positions() {
    for bad in [
        "+5", "-5", "5.0", "1,000", "1_000", "", " 5", "5e3", "0x10", "0",
    ] {
        rejects(
            &["--chromosome", "chr19", "--position", bad],
            "must be a base-10 integer >= 1",
        );
    }
    rejects(
        &["--chromosome", "chr19", "--position", "58617617"],
        "invalid position 58617617: beyond the end of chr19 (GRCh38 length 58617616)",
    );
    rejects(
        &["--chromosome", "chrM", "--position", "16570"],
        "beyond the end of chrM",
    );
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--position",
            "99999999999999999999999999",
        ],
        "beyond the end of chr19",
    );
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "x",
            "--end-position",
            "5",
        ],
        "invalid start_position \"x\"",
    );
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "1",
            "--end-position",
            "58617617",
        ],
        "invalid end_position 58617617",
    );
}

#[test]
fn ranges() {
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "10",
            "--end-position",
            "9",
        ],
        "start_position 10 is greater than end_position 9",
    );
    rejects(
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "1",
            "--end-position",
            "100002",
        ],
        "end_position - start_position is 100001 bp; the maximum is 100000 bp",
    );
    let (code, stdout, _) = query(
        &apoe(),
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "1",
            "--end-position",
            "100001",
        ],
    );
    assert_eq!(
        (code, stdout.as_str()),
        (0, "{\"meta\":{\"count\":0},\"results\":[]}\n")
    );
}

#[test]
fn rsid_lists() {
    rejects(&["--rsid", "rs1,,rs2"], "empty entry at position 2");
    rejects(&["--rsid", ""], "empty entry at position 1");
    rejects(&["--rsid", "rs01"], "invalid rsid \"rs01\"");
    rejects(&["--rsid", "rs"], "invalid rsid \"rs\"");
    rejects(&["--rsid", "rs1234567890123456789"], "1 to 18 digits");
    rejects(&["--rsid", "429358"], "invalid rsid \"429358\"");
    let fifty_one: Vec<String> = (1..=51).map(|n| format!("rs{n}")).collect();
    rejects(
        &["--rsid", &fifty_one.join(",")],
        "51 rsIDs given; the maximum is 50",
    );
    // Valid syntax, but no dbSNP map: a 400 that says how to give one.
    rejects(&["--rsid", "rs429358, RS7412"], "--dbsnp DIR");
    rejects(&["rsid=rs429358"], "VCFQ_DBSNP");
}

#[test]
fn typed_paging_flags_are_usage_errors() {
    for args in [
        ["--limit", "0"],
        ["--limit", "-1"],
        ["--limit", "x"],
        ["--offset", "-1"],
    ] {
        let mut all = vec!["--chromosome", "chr19", "--position", "44908684"];
        all.extend_from_slice(&args);
        let (code, stdout, stderr) = query(&apoe(), &all);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.contains("--limit") || stderr.contains("--offset"),
            "{stderr}"
        );
    }
}

#[test]
fn paging_in_a_query_string_follows_the_paginator() {
    // In a query string, an invalid limit is ignored (no limit) and an invalid offset is 0.
    let path = apoe();
    let all = query(
        &path,
        &["chromosome=chr19&start_position=44900000&end_position=44912000"],
    )
    .1;
    for ignored in ["limit=0", "limit=abc&offset=-3", "limit=-2", "offset=x"] {
        let (code, stdout, _) = query(
            &path,
            &[&format!(
                "chromosome=chr19&start_position=44900000&end_position=44912000&{ignored}"
            )],
        );
        assert_eq!(code, 0);
        assert_eq!(stdout, all, "{ignored}");
    }
}

#[test]
fn missing_vcf_is_not_found() {
    assert_fails(
        query(
            &testdata("no-such.vcf.gz"),
            &["--chromosome", "chr19", "--position", "1"],
        ),
        3,
        "VCF not found",
    );
}

#[test]
fn usage() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("query") && stdout.contains("batch"));
    let (code, _, _) = run(&["query"]);
    assert_eq!(code, 2, "--vcf is required");
    let (code, _, _) = run(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn flags_and_query_strings_agree() {
    let path = apoe();
    let by_flags = query(
        &path,
        &[
            "--chromosome",
            "chr19",
            "--start-position",
            "44905000",
            "--end-position",
            "44910000",
            "--limit",
            "2",
            "--offset",
            "1",
        ],
    );
    let by_string = query(
        &path,
        &["?chromosome=chr19&start_position=44905000&end_position=44910000&limit=2&offset=1"],
    );
    assert_eq!(by_flags, by_string);
    assert_eq!(by_flags.0, 0);
}

#[test]
fn pretty_is_the_same_json() {
    let path = apoe();
    let compact = query(&path, &["--chromosome", "chr19", "--position", "44908684"]).1;
    let pretty = query(
        &path,
        &[
            "--chromosome",
            "chr19",
            "--position",
            "44908684",
            "--pretty",
        ],
    )
    .1;
    assert!(pretty.contains("\n  \"meta\": {"));
    let a: serde_json::Value = serde_json::from_str(&compact).unwrap();
    let b: serde_json::Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(a, b);
}
