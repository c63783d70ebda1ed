//! The dbSNP map: building from real and crafted dbSNP VCFs, rsID queries, the `rsid`
//! field, merge history, and damaged maps.

use std::path::{Path, PathBuf};

use vcfq::dbsnp::{build_map, BuildOptions};
use vcfq::{ErrorClass, Request, ResponseOptions, Rsid, RsidMap, Sample, SampleOptions};

use crate::util::{assert_fails, query, query_json, run, testdata, vcfq};

/// Builds a map from `source` (under testdata/) with the CLI into a temporary directory.
pub(crate) fn build(source: &str, extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map");
    let source = testdata(source);
    let mut args = vec![
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let refs = args;
    let (code, stdout, stderr) = run(&refs);
    assert_eq!(code, 0, "build failed: {stderr}");
    assert!(stdout.starts_with("dbSNP map written to"), "{stdout}");
    (dir, out)
}

fn rs(number: u64) -> Rsid {
    Rsid::from_number(number).unwrap()
}

fn loci(map: &RsidMap, number: u64) -> Vec<(String, u64)> {
    match map.resolve(rs(number)).unwrap() {
        Some((_, loci)) => loci
            .iter()
            .map(|locus| (locus.chromosome.name.to_string(), locus.position.get()))
            .collect(),
        None => Vec::new(),
    }
}

fn crafted_sample() -> PathBuf {
    testdata("dbsnp/crafted-sample.vcf.gz")
}

fn rsid_query(map: &Path, rsids: &str) -> serde_json::Value {
    query_json(
        &crafted_sample(),
        &["--dbsnp", map.to_str().unwrap(), "--rsid", rsids],
    )
}

fn positions(body: &serde_json::Value) -> Vec<(String, u64)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["chromosome"].as_str().unwrap().to_string(),
                r["position"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn real_dbsnp_excerpt_with_bare_contig_names() {
    let (_dir, out) = build("dbsnp/chr17-sample.vcf.gz", &[]);
    let map = RsidMap::open(&out).unwrap();
    let meta = map.metadata();
    assert_eq!(meta.dbsnp_build.as_deref(), Some("151"));
    assert_eq!(meta.reference.as_deref(), Some("GRCh38.p7"));
    assert_eq!(meta.counts.rows_read, 1000);
    assert_eq!(meta.counts.rsids, 1000);
    assert_eq!(
        loci(&map, 1_170_181_519),
        vec![("chr17".to_string(), 62_984)]
    );
    // A multi-allelic row gives one allele key per ALT.
    for alt in [&b"A"[..], b"C", b"T"] {
        assert_eq!(
            map.rsids_for_allele(
                vcfq::Contig::from_canonical_name("chr17").unwrap(),
                62_984,
                b"G",
                alt
            )
            .unwrap(),
            vec![rs(1_170_181_519)]
        );
    }
    assert!(map
        .rsids_for_allele(
            vcfq::Contig::from_canonical_name("chr17").unwrap(),
            62_984,
            b"G",
            b"G"
        )
        .unwrap()
        .is_empty());
    assert_eq!(map.check().unwrap().rsids, 1000);
    let (code, stdout, _) = run(&["dbsnp", "check", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("ok: 4 files"), "{stdout}");
    let (code, stdout, _) = run(&["dbsnp", "info", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    let info: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(info["format"], "vcfq-dbsnp-map");
    assert_eq!(info["counts"]["rsids"], 1000);
}

#[test]
fn rs_numbers_from_info_when_the_id_is_blank() {
    let (_dir, out) = build("dbsnp/chr4-sample-corrupted-ids.vcf.gz", &[]);
    let map = RsidMap::open(&out).unwrap();
    assert_eq!(loci(&map, 538_736_078), vec![("chr4".to_string(), 134_106)]);
    assert_eq!(map.metadata().counts.rows_without_rsid, 0);
}

#[test]
fn refseq_names_and_same_position_alleles() {
    let (_dir, out) = build("dbsnp/ncbi_b151_refseq_names.vcf", &[]);
    let map = RsidMap::open(&out).unwrap();
    let chr1 = vcfq::Contig::from_canonical_name("chr1").unwrap();
    assert_eq!(loci(&map, 775_809_821), vec![("chr1".to_string(), 10_019)]);
    assert_eq!(
        map.rsids_for_allele(chr1, 10_051, b"A", b"G").unwrap(),
        vec![rs(1_052_373_574)]
    );
    assert_eq!(
        map.rsids_for_allele(chr1, 10_051, b"A", b"AC").unwrap(),
        vec![rs(1_326_880_612)]
    );
    assert_eq!(
        map.rsid_for_record(chr1, 10_108, b"C", [&b"CT"[..]])
            .unwrap(),
        Some(rs(1_322_538_365))
    );
}

#[test]
fn overlapping_deletion_and_snv_keep_their_own_loci() {
    let (_dir, out) = build("dbsnp/overlap.vcf.gz", &[]);
    let map = RsidMap::open(&out).unwrap();
    assert_eq!(
        loci(&map, 967_556_605),
        vec![("chr16".to_string(), 89_957_776)]
    );
    assert_eq!(
        loci(&map, 8_051_733),
        vec![("chr16".to_string(), 89_957_798)]
    );
}

#[test]
fn grch37_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (source, message) in [
        (
            "dbsnp/multiple_id.vcf.gz",
            "is not on GRCh38: its ##contig 1 has length 249250621",
        ),
        ("dbsnp/grch37-reference.vcf", "##reference=GRCh37.p13"),
    ] {
        let out = dir.path().join("map");
        assert_fails(
            run(&[
                "dbsnp",
                "build",
                testdata(source).to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ]),
            2,
            message,
        );
        assert!(!out.exists(), "no map after a refused build");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "no temporary files left"
        );
    }
}

#[test]
fn pharmcat_positions_as_dbsnp_against_1000_genomes() {
    // NA12878's ID column says 10:94781859:G:A; dbSNP (here PharmCAT's rsIDs) says rs4244285.
    let (_dir, out) = build("pharmcat/pharmcat_positions.vcf", &[]);
    let sample = testdata("NA12878.pgx-extract.vcf.gz");
    let dbsnp = out.to_str().unwrap();
    let body = query_json(&sample, &["--dbsnp", dbsnp, "--rsid", "rs4244285"]);
    assert_eq!(body["meta"]["count"], 1);
    assert_eq!(body["results"][0]["position"], 94_781_859);
    assert_eq!(body["results"][0]["rsid"], "rs4244285");
    assert_eq!(
        body["results"][0]["genotype"]["GT"], "1|0",
        "NA12878 carries CYP2C19*2 on one haplotype"
    );
    // The rsid field is filled in point and range queries too.
    let point = query_json(
        &sample,
        &[
            "--dbsnp",
            dbsnp,
            "--chromosome",
            "chr10",
            "--position",
            "94781859",
        ],
    );
    assert_eq!(point["results"][0]["rsid"], "rs4244285");
    let without = query_json(
        &sample,
        &["--chromosome", "chr10", "--position", "94781859"],
    );
    assert_eq!(without["results"][0]["rsid"], serde_json::Value::Null);
    // The environment variable works as --dbsnp does.
    let output = vcfq()
        .args([
            "query",
            "--vcf",
            sample.to_str().unwrap(),
            "--rsid",
            "rs4244285",
        ])
        .env("VCFQ_DBSNP", dbsnp)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap(),
        body
    );
}

#[test]
fn the_docs_three_rsid_example() {
    let (_dir, out) = build("dbsnp/crafted.vcf", &[]);
    let body = rsid_query(&out, "rs429358,rs7412,rs1801133");
    assert_eq!(
        positions(&body),
        vec![
            ("chr19".to_string(), 44_908_684),
            ("chr19".to_string(), 44_908_822),
            ("chr1".to_string(), 11_796_321)
        ],
        "request order"
    );
    let rsids: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rsid"].as_str().unwrap())
        .collect();
    assert_eq!(rsids, vec!["rs429358", "rs7412", "rs1801133"]);
    // Byte for byte, the first record is the docs' example.
    let (_, stdout, _) = query(
        &crafted_sample(),
        &["--dbsnp", out.to_str().unwrap(), "rsid=rs429358"],
    );
    assert_eq!(
        stdout,
        "{\"meta\":{\"count\":1},\"results\":[{\"chromosome\":\"chr19\",\"position\":44908684,\"rsid\":\"rs429358\",\"ref\":\"T\",\"alt\":[\"C\"],\"genotype\":{\"GT\":\"0|1\",\"DS\":\"1\",\"GP\":\"0,1,0\"},\"quality\":null,\"info\":{\"RAF\":\"0.15\"}}]}\n"
    );
}

#[test]
fn crafted_cases() {
    let (_dir, out) = build("dbsnp/crafted.vcf", &[]);
    let map = RsidMap::open(&out).unwrap();
    // One rsID at two loci (a third, on a scaffold, is skipped): both, in file order.
    assert_eq!(loci(&map, 100).len(), 2);
    assert_eq!(
        positions(&rsid_query(&out, "rs100")),
        vec![("chr1".to_string(), 500), ("chr19".to_string(), 1000)]
    );
    // Two rsIDs at one position with different ALTs: only the matching one.
    assert_eq!(
        positions(&rsid_query(&out, "rs201")),
        vec![("chr19".to_string(), 2000)]
    );
    assert_eq!(rsid_query(&out, "rs202")["meta"]["count"], 0);
    // An rsID only on a scaffold does not resolve: left out, the request succeeds.
    assert_eq!(rsid_query(&out, "rs300")["meta"]["count"], 0);
    assert_eq!(
        map.metadata().counts.skipped_contigs.get("NT_187361.1"),
        Some(&1)
    );
    assert_eq!(
        map.metadata().counts.skipped_contigs.get("NW_025791820.1"),
        Some(&1)
    );
    // Duplicates and RS-case in the request: each record once.
    let body = rsid_query(&out, "RS429358,rs429358, Rs7412 ,rs999999999");
    assert_eq!(body["meta"]["count"], 2);
    // Two rsIDs for the same allele: the record appears once, at its first place; its rsid
    // field is the smallest rsID dbSNP gives for the allele.
    let body = rsid_query(&out, "rs501,rs500");
    assert_eq!(positions(&body), vec![("chr19".to_string(), 5001)]);
    assert_eq!(body["results"][0]["rsid"], "rs500");
    // A multi-ID dbSNP row: both rsIDs resolve; only the record with a shared ALT matches.
    assert_eq!(
        positions(&rsid_query(&out, "rs302")),
        vec![("chr19".to_string(), 3000)]
    );
    assert_eq!(
        rsid_query(&out, "rs302")["results"][0]["alt"],
        serde_json::json!(["GT"])
    );
    // The ID column naming the rsID matches even when the alleles differ from dbSNP's.
    assert_eq!(
        rsid_query(&out, "rs600")["results"][0]["alt"],
        serde_json::json!(["TAA"])
    );
    // Paging over an rsID result.
    let paged = query_json(
        &crafted_sample(),
        &[
            "--dbsnp",
            out.to_str().unwrap(),
            "rsid=rs429358,rs7412,rs1801133&limit=1&offset=1",
        ],
    );
    assert_eq!(paged["meta"]["count"], 3);
    assert_eq!(positions(&paged), vec![("chr19".to_string(), 44_908_822)]);
}

#[test]
fn merge_history() {
    let (_dir, out) = build(
        "dbsnp/crafted.vcf",
        &[
            "--merged",
            testdata("dbsnp/crafted-merged.tsv").to_str().unwrap(),
        ],
    );
    let map = RsidMap::open(&out).unwrap();
    assert_eq!(
        map.metadata().counts.merged,
        2,
        "rs9000 and rs9001 resolve; dead ends and cycles do not"
    );
    assert_eq!(
        map.resolve(rs(9000)).unwrap().map(|(current, _)| current),
        Some(rs(429_358))
    );
    assert_eq!(map.resolve(rs(9100)).unwrap(), None);
    assert_eq!(map.resolve(rs(9200)).unwrap(), None);
    assert_eq!(
        loci(&map, 7412),
        vec![("chr19".to_string(), 44_908_822)],
        "a current rsID is not redirected"
    );
    let body = rsid_query(&out, "rs9000");
    assert_eq!(positions(&body), vec![("chr19".to_string(), 44_908_684)]);
    assert_eq!(body["results"][0]["rsid"], "rs429358");
}

#[test]
fn external_sort_gives_the_same_map() {
    // A 1 MiB budget makes the sorter spill runs; the map must be byte-identical.
    let dir = tempfile::tempdir().unwrap();
    let in_memory = dir.path().join("in-memory");
    let spilled = dir.path().join("spilled");
    let source = testdata("dbsnp/chr17-sample.vcf.gz");
    let summary = build_map(&BuildOptions::new(&source, &in_memory), &mut |_| {}).unwrap();
    assert_eq!(summary.spilled_bytes, 0);
    let mut options = BuildOptions::new(&source, &spilled);
    options.memory_bytes = 1;
    options.threads = 3;
    let summary = build_map(&options, &mut |_| {}).unwrap();
    assert!(summary.spilled_bytes > 0, "the small budget should spill");
    for file in ["rsids.fst", "rsids.bin", "alleles.fst", "alleles.bin"] {
        assert_eq!(
            std::fs::read(in_memory.join(file)).unwrap(),
            std::fs::read(spilled.join(file)).unwrap(),
            "{file}"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "only the two maps remain: {leftovers:?}"
    );
}

#[test]
fn an_interrupted_build_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map");
    let options = BuildOptions::new(testdata("dbsnp/chr17-sample.vcf.gz"), &out);
    options
        .interrupted
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let error = build_map(&options, &mut |_| {}).unwrap_err();
    assert!(matches!(error.kind(), vcfq::ErrorKind::Interrupted));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no map and no temporary directory"
    );
}

#[test]
fn rebuilding_replaces_a_map_but_not_other_directories() {
    let (dir, out) = build("dbsnp/overlap.vcf.gz", &[]);
    let (code, _, stderr) = run(&[
        "dbsnp",
        "build",
        testdata("dbsnp/chr17-sample.vcf.gz").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(RsidMap::open(&out).unwrap().metadata().counts.rsids, 1000);
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    assert_fails(
        run(&[
            "dbsnp",
            "build",
            testdata("dbsnp/overlap.vcf.gz").to_str().unwrap(),
            "--out",
            other.to_str().unwrap(),
        ]),
        2,
        "exists and is not a vcfq dbSNP map",
    );
    assert_eq!(
        std::fs::read_to_string(other.join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn damaged_maps_are_clear_errors() {
    let (_dir, out) = build("dbsnp/chr17-sample.vcf.gz", &[]);
    let sample = testdata("NA12878.pgx-extract.vcf.gz");
    let point = |map: &Path| {
        query(
            &sample,
            &[
                "--dbsnp",
                map.to_str().unwrap(),
                "--chromosome",
                "chr1",
                "--position",
                "11796321",
            ],
        )
    };

    // Missing, and a directory that is not a map.
    assert_fails(
        point(&out.join("nope")),
        1,
        "does not exist: build a map with `vcfq dbsnp build",
    );
    assert_fails(
        point(out.parent().unwrap()),
        1,
        "is not a dbSNP map (it has no meta.json)",
    );

    // Truncated.
    let copy = |name: &str| {
        let target = out.parent().unwrap().join(name);
        std::fs::create_dir(&target).unwrap();
        for entry in std::fs::read_dir(&out).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
        }
        target
    };
    let truncated = copy("truncated");
    let length = std::fs::metadata(truncated.join("alleles.fst"))
        .unwrap()
        .len();
    std::fs::File::options()
        .write(true)
        .open(truncated.join("alleles.fst"))
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    assert_fails(point(&truncated), 1, "alleles.fst is");
    assert_fails(
        run(&["dbsnp", "check", truncated.to_str().unwrap()]),
        1,
        "truncated or replaced",
    );

    // Bytes flipped in place: `check` finds it through the checksums.
    let flipped = copy("flipped");
    let mut bytes = std::fs::read(flipped.join("rsids.fst")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(flipped.join("rsids.fst"), &bytes).unwrap();
    assert_fails(
        run(&["dbsnp", "check", flipped.to_str().unwrap()]),
        1,
        "does not match its checksum",
    );

    // Foreign or damaged metadata, another format version, a zeroed fst.
    let foreign = copy("foreign");
    std::fs::write(foreign.join("meta.json"), "{\"hello\": 1}").unwrap();
    assert_fails(point(&foreign), 1, "is not a vcfq dbSNP map's metadata");
    let version = copy("version");
    let meta = std::fs::read_to_string(version.join("meta.json"))
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    std::fs::write(version.join("meta.json"), meta).unwrap();
    assert_fails(point(&version), 1, "format version 99");
    let zeroed = copy("zeroed");
    let length = std::fs::metadata(zeroed.join("rsids.fst")).unwrap().len() as usize;
    std::fs::write(zeroed.join("rsids.fst"), vec![0u8; length]).unwrap();
    assert_fails(point(&zeroed), 1, "rsids.fst is not a valid fst map");

    // The library says the same, as an internal error.
    let error = RsidMap::open(&truncated).unwrap_err();
    assert_eq!(error.class(), ErrorClass::Internal);
}

#[test]
fn batch_with_a_map_and_library_annotation() {
    let (_dir, out) = build("dbsnp/crafted.vcf", &[]);
    let requests = "rsid=rs7412\nchromosome=chr19&position=44908822\nrsid=rs1,,rs2\n";
    let mut child = vcfq()
        .args([
            "batch",
            "--vcf",
            crafted_sample().to_str().unwrap(),
            "--dbsnp",
            out.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(requests.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0], lines[1],
        "the rsID and the point query find the same record, with its rsid"
    );
    assert!(lines[0].contains("\"rsid\":\"rs7412\""));
    assert!(lines[2].starts_with("{\"detail\":\"invalid rsid: empty entry"));

    let sample = Sample::open(crafted_sample(), &SampleOptions::default()).unwrap();
    let options = ResponseOptions {
        dbsnp: Some(std::sync::Arc::new(RsidMap::open(&out).unwrap())),
        ..ResponseOptions::default()
    };
    let body = sample
        .respond(
            &Request::parse("chromosome=chr1&start_position=1&end_position=100000").unwrap(),
            &options,
        )
        .unwrap();
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("\"position\":500,\"rsid\":\"rs100\""));
}

#[test]
fn merge_history_from_ncbi_json_is_the_tsv_s() {
    let (_dir, tsv) = build(
        "dbsnp/crafted.vcf",
        &[
            "--merged",
            testdata("dbsnp/crafted-merged.tsv").to_str().unwrap(),
        ],
    );
    let tsv = RsidMap::open(&tsv).unwrap();
    for merged in ["dbsnp/crafted-merged.json", "dbsnp/crafted-merged.json.bz2"] {
        let (_dir, out) = build(
            "dbsnp/crafted.vcf",
            &["--merged", testdata(merged).to_str().unwrap()],
        );
        let map = RsidMap::open(&out).unwrap();
        assert_eq!(map.metadata().counts.merged, 2, "{merged}");
        for number in [9000, 9001, 9100, 9101, 9200, 9201, 7412, 429_358] {
            assert_eq!(
                map.resolve(rs(number)).unwrap(),
                tsv.resolve(rs(number)).unwrap(),
                "{merged}: rs{number}"
            );
        }
        assert_eq!(
            map.resolve(rs(9000)).unwrap().map(|(current, _)| current),
            Some(rs(429_358))
        );
    }
    // A damaged merge file names the file and the line.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("refsnp-merged.json");
    std::fs::write(&bad, "{\"refsnp_id\":\"1\"}\n{\"refsnp_id\":\"1\",\"merged_snapshot_data\":{\"merged_into\":[\"x\"]}}\n").unwrap();
    let out = dir.path().join("map");
    assert_fails(
        run(&[
            "dbsnp",
            "build",
            testdata("dbsnp/crafted.vcf").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--merged",
            bad.to_str().unwrap(),
        ]),
        2,
        "refsnp-merged.json: line 2: merged_into",
    );
    assert!(!out.exists());
}

/// The map's answers for the rsIDs of both test sources, for comparing maps.
fn answers(map: &Path) -> Vec<String> {
    let map = RsidMap::open(map).unwrap();
    let mut answers = Vec::new();
    for number in [
        1170181519u64,
        1472219504,
        1375374455,
        100,
        201,
        302,
        429358,
        7412,
        600,
    ] {
        answers.push(format!("{number}: {:?}", loci(&map, number)));
    }
    answers
}

#[test]
fn several_sources_a_concatenated_stream_and_one_file_give_one_map() {
    let dir = tempfile::tempdir().unwrap();
    let chr17 = testdata("dbsnp/chr17-sample.vcf.gz");
    let crafted = testdata("dbsnp/crafted.vcf.gz");
    let build_with = |name: &str, sources: &[&Path], input: Option<Vec<u8>>| {
        let out = dir.path().join(name);
        let mut args: Vec<String> = vec!["dbsnp".into(), "build".into()];
        args.extend(
            sources
                .iter()
                .map(|path| path.to_str().unwrap().to_string()),
        );
        if input.is_some() {
            args.push("-".into());
        }
        args.extend(["--out".into(), out.to_str().unwrap().into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, _, stderr) = match input {
            Some(input) => crate::util::run_with_input(&args, &input),
            None => run(&args),
        };
        assert_eq!(code, 0, "{name}: {stderr}");
        out
    };
    let two_files = build_with("two-files", &[&chr17, &crafted], None);
    // `cat chr17.vcf.gz crafted.vcf.gz | vcfq dbsnp build -`: the second header is a
    // header, not rows.
    let mut concatenated = std::fs::read(&chr17).unwrap();
    concatenated.extend(std::fs::read(&crafted).unwrap());
    let piped = build_with("piped", &[], Some(concatenated));
    // The same text, plain, in one file.
    let text = dir.path().join("both.vcf");
    let mut plain = Vec::new();
    for source in [&chr17, &crafted] {
        let mut decoder = flate2::read::MultiGzDecoder::new(std::fs::File::open(source).unwrap());
        std::io::Read::read_to_end(&mut decoder, &mut plain).unwrap();
    }
    std::fs::write(&text, &plain).unwrap();
    let one_file = build_with("one-file", &[&text], None);

    let counts = |map: &Path| RsidMap::open(map).unwrap().metadata().counts.clone();
    let rows = plain
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .count() as u64;
    assert_eq!(counts(&one_file).text_bytes, plain.len() as u64);
    for map in [&two_files, &piped, &one_file] {
        assert_eq!(counts(map).rows_read, rows, "{}", map.display());
        assert_eq!(counts(map), counts(&one_file), "{}", map.display());
        assert_eq!(answers(map), answers(&one_file), "{}", map.display());
    }
    let meta = RsidMap::open(&two_files).unwrap().metadata().clone();
    assert_eq!(meta.source.paths.len(), 2);
    assert_eq!(
        meta.source.size,
        std::fs::metadata(&chr17).unwrap().len() + std::fs::metadata(&crafted).unwrap().len()
    );

    // A later file on another assembly is refused, as the first would be.
    let grch37 = std::fs::read(testdata("dbsnp/grch37-reference.vcf")).unwrap();
    let mut mixed = std::fs::read(&chr17).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gzip, &grch37).unwrap();
    mixed.extend(gzip.finish().unwrap());
    let out = dir.path().join("mixed");
    assert_fails(
        crate::util::run_with_input(
            &["dbsnp", "build", "-", "--out", out.to_str().unwrap()],
            &mixed,
        ),
        2,
        "vcfq needs the GRCh38 dbSNP release",
    );
    assert!(!out.exists());
    assert_fails(
        run(&["dbsnp", "build", "-", "-", "--out", out.to_str().unwrap()]),
        2,
        "standard input (`-`) can be given only once",
    );
}
