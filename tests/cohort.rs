//! `vcfq cohort`: every sample's embedded body is `vcfq query`'s for that sample; the
//! Arrow and Parquet tables rebuild the same bodies; broken samples are answered as
//! failures without stopping the others; an interrupted run leaves no output.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use vcfq::cohort::table::rebuild_bodies;
use vcfq::{Request, ResponseOptions, RsidMap, Schema};

use crate::util::{query, run, testdata, vcfq};

/// A cohort of real samples and broken ones, as a manifest in `dir`.
struct Cohort {
    _dir: tempfile::TempDir,
    manifest: PathBuf,
    map: PathBuf,
    /// (id, VCF) of every member.
    members: Vec<(String, PathBuf)>,
}

fn cohort() -> Cohort {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let map = root.join("map");
    let (code, _, stderr) = run(&[
        "dbsnp",
        "build",
        testdata("pharmcat/pharmcat_positions.vcf.gz")
            .to_str()
            .unwrap(),
        testdata("dbsnp/crafted.vcf").to_str().unwrap(),
        "--out",
        map.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut members: Vec<(String, PathBuf)> = vec![
        ("apoe".into(), testdata("apoe.vcf.gz")),
        ("na12878".into(), testdata("NA12878.pgx-extract.vcf.gz")),
        ("hg00096".into(), testdata("HG00096.chrX-extract.vcf.gz")),
        ("crafted".into(), testdata("dbsnp/crafted-sample.vcf.gz")),
        (
            "pharmcat".into(),
            testdata("pharmcat/pharmcat_positions.vcf.gz"),
        ),
        ("missing".into(), root.join("missing.vcf.gz")),
    ];
    // A VCF with another file's index beside it.
    let foreign = root.join("foreign.vcf.gz");
    std::fs::copy(testdata("NA12878.pgx-extract.vcf.gz"), &foreign).unwrap();
    std::fs::copy(testdata("apoe.vcf.gz.tbi"), root.join("foreign.vcf.gz.tbi")).unwrap();
    members.push(("foreign-index".into(), foreign));
    // A damaged first block (its header lines).
    let damaged = root.join("damaged.vcf.gz");
    let mut bytes = std::fs::read(testdata("NA12878.pgx-extract.vcf.gz")).unwrap();
    let at = 40;
    for byte in &mut bytes[at..at + 64] {
        *byte ^= 0x5a;
    }
    std::fs::write(&damaged, bytes).unwrap();
    std::fs::copy(
        testdata("NA12878.pgx-extract.vcf.gz.tbi"),
        root.join("damaged.vcf.gz.tbi"),
    )
    .unwrap();
    members.push(("damaged".into(), damaged));
    // A sample on GRCh37.
    let grch37 = root.join("grch37.vcf.gz");
    write_grch37_vcf(&grch37);
    members.push(("grch37".into(), grch37));
    // The same file again under another id, and one with a relative path.
    members.push(("apoe-again".into(), testdata("apoe.vcf.gz")));
    std::fs::copy(testdata("apoe.vcf.gz"), root.join("relative.vcf.gz")).unwrap();
    std::fs::copy(
        testdata("apoe.vcf.gz.tbi"),
        root.join("relative.vcf.gz.tbi"),
    )
    .unwrap();
    let manifest = root.join("manifest.tsv");
    let mut text = String::from("sample_id\tvcf_path\n# a comment\n");
    for (id, vcf) in &members {
        text.push_str(&format!("{id}\t{}\n", vcf.display()));
    }
    text.push_str("relative\trelative.vcf.gz\n");
    members.push(("relative".into(), root.join("relative.vcf.gz")));
    std::fs::write(&manifest, text).unwrap();
    Cohort {
        _dir: dir,
        manifest,
        map,
        members,
    }
}

/// Writes a small indexed VCF whose header says GRCh37.
fn write_grch37_vcf(path: &Path) {
    let text = "##fileformat=VCFv4.2\n##reference=file:///ref/human_g1k_v37.fasta\n##contig=<ID=19>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n19\t45411941\trs429358\tT\tC\t.\tPASS\t.\tGT\t0|1\n";
    vcfq::index::write_indexed_vcf(path, text.as_bytes(), false).unwrap();
}

/// The requests of the cohort tests: (flags, request).
fn requests() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        (vec![], "chr19:44905000-44910000"),
        (vec![], "chromosome=chr19&position=44908684"),
        (
            vec!["--schema", "openapi"],
            "chromosome=chr10&start_position=94760000&end_position=94860000&limit=3&offset=2",
        ),
        (
            vec![],
            "rsid=rs12248560,rs4244285,rs1050828,rs429358,rs7412,rs999999999,rs100",
        ),
        (
            vec!["--schema", "openapi"],
            "rsid=rs501,rs500,rs1801133,rs4244285&limit=2",
        ),
    ]
}

/// `vcfq cohort ARGS` with the manifest and the map; (code, stdout, stderr).
fn run_cohort(
    cohort: &Cohort,
    flags: &[&str],
    request: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "cohort",
        "--manifest",
        cohort.manifest.to_str().unwrap(),
        "--dbsnp",
        cohort.map.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    args.extend_from_slice(extra);
    args.push(request);
    run(&args)
}

/// `vcfq query`'s answer for one sample: Ok(body) or Err((status, message)).
fn single(
    cohort: &Cohort,
    vcf: &Path,
    flags: &[&str],
    request: &str,
) -> Result<String, (u16, String)> {
    let mut args = vec!["--dbsnp", cohort.map.to_str().unwrap()];
    args.extend_from_slice(flags);
    args.push(request);
    let (code, stdout, stderr) = query(vcf, &args);
    match code {
        0 => Ok(stdout.trim_end_matches('\n').to_string()),
        1..=3 => {
            let message = stderr
                .lines()
                .find_map(|line| {
                    line.strip_prefix("vcfq: ")
                        .filter(|line| !line.starts_with("note:"))
                })
                .unwrap_or_default()
                .to_string();
            Err((
                match code {
                    2 => 400,
                    3 => 404,
                    _ => 500,
                },
                message,
            ))
        }
        _ => panic!("vcfq query exited {code}: {stderr}"),
    }
}

#[test]
fn every_embedded_body_is_the_single_sample_answer() {
    let cohort = cohort();
    for (flags, request) in requests() {
        let (code, stdout, stderr) = run_cohort(&cohort, &flags, request, &[]);
        assert_eq!(code, 0, "{request}: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), cohort.members.len(), "{request}");
        let mut answered = 0;
        for ((id, vcf), line) in cohort.members.iter().zip(&lines) {
            let expected = match single(&cohort, vcf, &flags, request) {
                Ok(body) => {
                    answered += 1;
                    format!("{{\"sample_id\":\"{id}\",\"response\":{body}}}")
                }
                Err((status, detail)) => format!(
                    "{{\"sample_id\":\"{id}\",\"status\":{status},\"detail\":{}}}",
                    serde_json::to_string(&detail).unwrap()
                ),
            };
            assert_eq!(*line, expected, "{request}: sample {id}");
        }
        // The broken samples failed; every other one was answered.
        assert_eq!(answered, cohort.members.len() - 4, "{request}");
        assert!(
            stderr.contains(&format!(
                "{} samples: {answered} answered, 4 failed",
                cohort.members.len()
            )),
            "{stderr}"
        );
    }
}

fn read_arrow(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    arrow_ipc::reader::StreamReader::try_new(file, None)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn the_tables_rebuild_every_body_byte_for_byte() {
    let cohort = cohort();
    let dir = tempfile::tempdir().unwrap();
    let map = std::sync::Arc::new(RsidMap::open(&cohort.map).unwrap());
    for (flags, request) in requests() {
        let (code, ndjson, stderr) = run_cohort(&cohort, &flags, request, &[]);
        assert_eq!(code, 0, "{stderr}");
        let expected: Vec<(String, String)> = ndjson
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                let id = value["sample_id"].as_str().unwrap().to_string();
                let body = match line.split_once(",\"response\":") {
                    Some((_, body)) => body[..body.len() - 1].to_string(),
                    None => value["detail"].as_str().unwrap().to_string(),
                };
                (id, body)
            })
            .collect();
        let options = ResponseOptions {
            schema: if flags.contains(&"openapi") {
                Schema::Openapi
            } else {
                Schema::Docs
            },
            dbsnp: Some(map.clone()),
            ..ResponseOptions::default()
        };
        let parsed = Request::parse_region_or_query(request).unwrap();
        for (format, read) in [
            ("arrow", read_arrow as fn(&Path) -> Vec<RecordBatch>),
            ("parquet", read_parquet),
        ] {
            let out = dir.path().join(format!("cohort.{format}"));
            let (code, stdout, stderr) = run_cohort(
                &cohort,
                &flags,
                request,
                &["--format", format, "--out", out.to_str().unwrap()],
            );
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(stdout, "");
            let batches = read(&out);
            let rebuilt = rebuild_bodies(&batches, &parsed, &options).unwrap();
            let rebuilt: Vec<(String, String)> = rebuilt
                .into_iter()
                .map(|sample| (sample.sample_id, String::from_utf8(sample.body).unwrap()))
                .collect();
            assert_eq!(rebuilt, expected, "{format} {request}");
        }
    }
}

#[test]
fn rsid_rows_make_complete_pivots() {
    let cohort = cohort();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("panel.arrow");
    let (code, _, stderr) = run_cohort(
        &cohort,
        &[],
        "rsid=rs12248560,rs4244285,rs1050828,rs999999999",
        &["-f", "arrow", "-o", out.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    let batches = read_arrow(&out);
    let mut pairs = std::collections::BTreeSet::new();
    let mut failed = std::collections::BTreeSet::new();
    for batch in &batches {
        let column = |name: &str| batch.column_by_name(name).unwrap().clone();
        let ids = column("sample_id");
        let ids = ids
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        let rsids = column("query_rsid");
        let rsids = rsids
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .unwrap();
        let status = column("status");
        let status = status
            .as_any()
            .downcast_ref::<arrow_array::UInt16Array>()
            .unwrap();
        for row in 0..batch.num_rows() {
            if status.value(row) == 200 {
                pairs.insert((ids.value(row).to_string(), rsids.value(row).to_string()));
            } else {
                failed.insert(ids.value(row).to_string());
            }
        }
    }
    // Every answered sample has a row for each requested rsID the map resolves (rs999999999
    // is not in it), carried or not.
    let answered: Vec<&String> = cohort
        .members
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !failed.contains(*id))
        .collect();
    assert_eq!(answered.len(), cohort.members.len() - 4);
    for id in answered {
        for rsid in ["rs12248560", "rs4244285", "rs1050828"] {
            assert!(
                pairs.contains(&(id.clone(), rsid.to_string())),
                "{id} {rsid}"
            );
        }
        assert!(!pairs.contains(&(id.clone(), "rs999999999".to_string())));
    }
}

#[test]
fn fail_fast_and_bad_manifests_say_what_to_fix() {
    let cohort = cohort();
    let (code, stdout, stderr) = run_cohort(&cohort, &["--fail-fast"], "chr19:44908684", &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("sample missing: VCF not found") && stderr.contains("--fail-fast"),
        "{stderr}"
    );
    // What came before the failing sample was written.
    assert!(stdout.starts_with("{\"sample_id\":\"apoe\""), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    for (text, message) in [
        (
            "a\tx.vcf.gz\na\ty.vcf.gz\n",
            "line 2: sample id \"a\" is given twice",
        ),
        ("just-an-id\n", "line 1: expected `sample_id<TAB>vcf_path`"),
    ] {
        let manifest = dir.path().join("m.tsv");
        std::fs::write(&manifest, text).unwrap();
        crate::util::assert_fails(
            run(&[
                "cohort",
                "--manifest",
                manifest.to_str().unwrap(),
                "chr19:1",
            ]),
            2,
            message,
        );
    }
    crate::util::assert_fails(
        run(&["cohort", "--manifest", "/nonexistent/m.tsv", "chr19:1"]),
        2,
        "manifest /nonexistent/m.tsv: does not exist",
    );
    crate::util::assert_fails(
        run(&[
            "cohort",
            "--manifest",
            cohort.manifest.to_str().unwrap(),
            "-f",
            "parquet",
            "chr19:1",
        ]),
        2,
        "need --out FILE",
    );
}

#[test]
fn store_members_answer_as_vcfq_query_sample_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let ids = [
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "0b0c5a2e-4d4b-4f7e-9a53-8e7f6f2d9c11",
    ];
    for (id, vcf) in ids
        .iter()
        .zip(["apoe.vcf.gz", "NA12878.pgx-extract.vcf.gz"])
    {
        let (code, _, stderr) = crate::util::add_sample(&store, id, &testdata(vcf), &[]);
        assert_eq!(code, 0, "{stderr}");
    }
    let unknown = "11111111-2222-4333-8444-555555555555";
    let list = dir.path().join("ids.txt");
    std::fs::write(&list, format!("{}\n{unknown}\n{}\n", ids[1], ids[0])).unwrap();
    let request = "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2";
    let (code, stdout, stderr) = run(&[
        "cohort",
        "--store",
        store.to_str().unwrap(),
        "--samples",
        list.to_str().unwrap(),
        "--schema",
        "openapi",
        request,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, id) in [(lines[0], ids[1]), (lines[2], ids[0])] {
        let (_, expected, _) = run(&[
            "query",
            "--store",
            store.to_str().unwrap(),
            "--sample",
            id,
            "--schema",
            "openapi",
            request,
        ]);
        assert_eq!(
            line,
            format!(
                "{{\"sample_id\":\"{id}\",\"response\":{}}}",
                expected.trim_end()
            ),
        );
    }
    assert!(
        lines[1].starts_with(&format!("{{\"sample_id\":\"{unknown}\",\"status\":404,")),
        "{}",
        lines[1]
    );
    let (code, stdout, _) = run(&[
        "cohort",
        "--store",
        store.to_str().unwrap(),
        "--all",
        "chr19:44908684",
    ]);
    assert_eq!(code, 0);
    assert_eq!(stdout.lines().count(), 2);
}

#[test]
fn an_interrupted_cohort_leaves_no_output_and_open_files_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 3,000 members (the same real files again and again), run with 64 open files at most.
    let manifest = dir.path().join("big.tsv");
    let mut text = String::new();
    for i in 0..3000 {
        let vcf = if i % 2 == 0 {
            "apoe.vcf.gz"
        } else {
            "NA12878.pgx-extract.vcf.gz"
        };
        text.push_str(&format!("s{i}\t{}\n", testdata(vcf).display()));
    }
    std::fs::write(&manifest, text).unwrap();
    let out = dir.path().join("cohort.parquet");
    let limited = |command: &mut std::process::Command| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only setrlimit, which is async-signal-safe, runs in the child.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 64,
                    rlim_max: 64,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    };
    let mut command = vcfq();
    command.args([
        "cohort",
        "--manifest",
        manifest.to_str().unwrap(),
        "-f",
        "parquet",
        "-o",
        out.to_str().unwrap(),
        "chr19:44905000-44910000",
    ]);
    limited(&mut command);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("3000 samples: 3000 answered, 0 failed"),
        "{stderr}"
    );
    let rows: usize = read_parquet(&out).iter().map(RecordBatch::num_rows).sum();
    assert_eq!(rows, 1500 * 5 + 1500);

    // Interrupted: exit 130, no output, no temporary file.
    std::fs::remove_file(&out).unwrap();
    let mut command = vcfq();
    command
        .args([
            "cohort",
            "--manifest",
            manifest.to_str().unwrap(),
            "--threads",
            "1",
            "-f",
            "arrow",
            "-o",
            out.to_str().unwrap(),
            "chr19:44905000-44910000",
        ])
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted; no output was written"),
        "{stderr}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, vec!["big.tsv".to_string()]);
}

#[test]
fn a_manifest_adds_all_samples_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let ids = [
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "0b0c5a2e-4d4b-4f7e-9a53-8e7f6f2d9c11",
        "11111111-2222-4333-8444-555555555555",
    ];
    let manifest = dir.path().join("m.tsv");
    let write_manifest = |lines: &[(&str, PathBuf)]| {
        let text: String = lines
            .iter()
            .map(|(id, vcf)| format!("{id}\t{}\n", vcf.display()))
            .collect();
        std::fs::write(&manifest, text).unwrap();
    };
    let grch37 = dir.path().join("grch37.vcf.gz");
    write_grch37_vcf(&grch37);
    let list = || run(&["sample", "list", "--store", store_arg]).1;
    let add = |extra: &[&str]| {
        let mut args = vec![
            "sample",
            "add",
            "-m",
            manifest.to_str().unwrap(),
            "--store",
            store_arg,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };

    // One sample fails its requirements: nothing is added, and the error names it.
    write_manifest(&[(ids[0], testdata("apoe.vcf.gz")), (ids[1], grch37.clone())]);
    let (code, _, stderr) = add(&["--no-position-index"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("is not on GRCh38"), "{stderr}");
    assert_eq!(list(), "");

    // All good: all added in one go.
    write_manifest(&[
        (ids[0], testdata("apoe.vcf.gz")),
        (ids[1], testdata("NA12878.pgx-extract.vcf.gz")),
    ]);
    let (code, stdout, stderr) = add(&["--threads", "2", "--no-position-index"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("added 2 samples"), "{stdout}");
    assert_eq!(list().lines().count(), 2);

    // One id the store has: none of the list is added.
    write_manifest(&[
        (ids[2], testdata("apoe.vcf.gz")),
        (ids[0], testdata("apoe.vcf.gz")),
    ]);
    let (code, _, stderr) = add(&[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("sample {} is already in the store", ids[0])),
        "{stderr}"
    );
    assert_eq!(list().lines().count(), 2);

    // Deferred checks: recorded at once; the requirements apply at first use.
    write_manifest(&[(ids[2], grch37.clone())]);
    let (code, stdout, stderr) = add(&["--defer-checks"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("checks deferred"), "{stdout}");
    assert!(list().contains(&format!(
        "{}\t{}",
        ids[2],
        std::fs::canonicalize(&grch37).unwrap().display()
    )));
    crate::util::assert_fails(
        run(&[
            "query",
            "--store",
            store_arg,
            "--sample",
            ids[2],
            "chr19:45411941",
        ]),
        2,
        "is not on GRCh38",
    );
    let (code, stdout, _) = run(&["sample", "check", ids[2], "--store", store_arg]);
    assert_ne!(code, 0);
    assert!(
        stdout.contains("FAILS") && stdout.contains("is not on GRCh38"),
        "{stdout}"
    );
    // A cohort over the whole store answers the good ones and reports the deferred one.
    let (code, stdout, stderr) = run(&["cohort", "--store", store_arg, "--all", "chr19:44908684"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("3 samples: 2 answered, 1 failed"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!("{{\"sample_id\":\"{}\",\"status\":400,", ids[2])),
        "{stdout}"
    );
}

#[test]
fn vcfq_index_writes_many_position_indexes_in_parallel() {
    let dir = crate::util::copy_to_temp(&[
        "apoe.vcf.gz",
        "apoe.vcf.gz.tbi",
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
        "HG00096.chrX-extract.vcf.gz",
        "HG00096.chrX-extract.vcf.gz.tbi",
    ]);
    let vcfs: Vec<String> = ["apoe", "NA12878.pgx-extract", "HG00096.chrX-extract"]
        .iter()
        .map(|name| {
            dir.path()
                .join(format!("{name}.vcf.gz"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["index", "--threads", "2"];
    args.extend(vcfs.iter().map(String::as_str));
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    // One line per VCF, in the order given.
    let written: Vec<&str> = stdout
        .lines()
        .map(|line| line.split(' ').nth(1).unwrap())
        .collect();
    let expected: Vec<String> = vcfs.iter().map(|vcf| format!("{vcf}.vcfqidx")).collect();
    assert_eq!(written, expected);
    for vcf in &vcfs {
        let sample = vcfq::Sample::open(vcf, &vcfq::SampleOptions::default()).unwrap();
        assert!(sample.uses_position_index(), "{vcf}");
    }
}
