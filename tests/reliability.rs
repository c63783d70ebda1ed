//! The defects adversarial testing found (a hang, unbounded memory, silent wrong answers,
//! a non-atomic map replace, a server that stopped at 250 samples), each reproduced here
//! as it was found and bounded in time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::util::{leftovers, run, run_bounded, vcfq};

const DEADLINE: Duration = Duration::from_secs(120);

/// A dbSNP-like plain-text source of `rows` rows on chr1 (RefSeq names), with
/// `bad_line` put in place of the rows whose 1-based numbers `bad_rows` lists.
pub fn dbsnp_source(path: &Path, rows: u64, bad_rows: &[u64], bad_line: &str) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"##fileformat=VCFv4.0\n##dbSNP_BUILD_ID=156\n##reference=GRCh38.p14\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n").unwrap();
    for row in 1..=rows {
        if bad_rows.contains(&row) {
            writeln!(out, "{bad_line}").unwrap();
        } else {
            writeln!(
                out,
                "NC_000001.11\t{}\trs{}\tA\tG,T\t.\t.\tRS={};dbSNPBuildID=156;VC=SNV",
                1000 + row * 3,
                row * 7 + 1,
                row * 7 + 1
            )
            .unwrap();
        }
    }
    out.flush().unwrap();
}

fn build(source: &Path, out: &Path, extra: &[&str]) -> crate::util::Finished {
    let mut command = vcfq();
    command
        .args(["dbsnp", "build"])
        .arg(source)
        .arg("--out")
        .arg(out)
        .args(extra);
    run_bounded(&mut command, DEADLINE)
}

#[test]
fn a_build_with_bad_rows_in_several_chunks_stops_at_once_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("dbsnp.vcf");
    // About 80 bytes a row: 500,000 rows are 40 MB, five 8 MiB chunks. Bad rows in the
    // second and third chunks, more chunks unread after them.
    dbsnp_source(&source, 500_000, &[120_000, 230_000], "NC_000001.11");
    let out = dir.path().join("map");
    for threads in ["2", "1"] {
        let finished = build(&source, &out, &["--threads", threads]);
        assert_eq!(finished.code, 2, "--threads {threads}: {}", finished.stderr);
        assert!(
            finished
                .stderr
                .contains("line 120004: the line has no POS column")
                || finished
                    .stderr
                    .contains("line 230004: the line has no POS column"),
            "{}",
            finished.stderr
        );
        assert!(!out.exists());
        assert_eq!(leftovers(dir.path(), ".map."), Vec::<String>::new());
    }
    // One bad row, one parser thread.
    dbsnp_source(&source, 300_000, &[150_000], "NC_000001.11\tx");
    let finished = build(&source, &out, &["--threads", "1"]);
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("line 150004: POS \"x\""),
        "{}",
        finished.stderr
    );
    assert_eq!(leftovers(dir.path(), ".map."), Vec::<String>::new());
}

#[test]
fn random_bytes_and_endless_lines_are_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let random = dir.path().join("random.bin");
    // 24 MB of seeded random bytes (no gzip magic, so read as text).
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..24 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8 | 1
        })
        .collect();
    std::fs::write(&random, &bytes).unwrap();
    let out = dir.path().join("map");
    let finished = build(&random, &out, &[]);
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("random.bin: line "),
        "{}",
        finished.stderr
    );
    assert_eq!(leftovers(dir.path(), ".map."), Vec::<String>::new());

    // No line end at all: refused at the line-length limit, in a few tens of MB.
    for endless in [Path::new("/dev/zero"), &dir.path().join("zeros")] {
        if endless != Path::new("/dev/zero") {
            std::fs::write(endless, vec![0u8; 40 << 20]).unwrap();
        }
        let finished = build(endless, &out, &[]);
        assert_eq!(finished.code, 2, "{}", finished.stderr);
        assert!(
            finished
                .stderr
                .contains("line 1 is longer than 4 MiB without a line end"),
            "{}",
            finished.stderr
        );
        assert!(
            finished.peak_rss < 100 << 20,
            "{}: {} MB",
            endless.display(),
            finished.peak_rss >> 20
        );
    }
    // A long line past the header, after good rows.
    let source = dir.path().join("long.vcf");
    dbsnp_source(&source, 1000, &[500], &"A".repeat(5 << 20));
    let finished = build(&source, &out, &[]);
    assert_eq!(finished.code, 2, "{}", finished.stderr);
    assert!(
        finished.stderr.contains("line 504 is longer than 4 MiB"),
        "{}",
        finished.stderr
    );
}

#[test]
fn the_memory_budget_bounds_the_whole_build() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("dbsnp.vcf");
    // 600,000 rows: more than 64 MiB's sort buffers hold, so runs spill and merge.
    dbsnp_source(&source, 600_000, &[], "");
    let out = dir.path().join("map");
    let finished = build(&source, &out, &["--memory", "64M"]);
    assert_eq!(finished.code, 0, "{}", finished.stderr);
    assert!(
        finished.stdout.contains("rsIDs: 600000"),
        "{}",
        finished.stdout
    );
    let spilled: u64 = finished
        .stdout
        .split("temporary sort data: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|bytes| bytes.parse().ok())
        .unwrap();
    assert!(spilled > 0, "the test must make the sorters spill");
    assert!(
        finished.peak_rss <= 64 << 20,
        "peak RSS {} MB over the 64 MiB budget",
        finished.peak_rss >> 20
    );
    let finished = build(&source, &out, &["--memory", "16M"]);
    assert_eq!(finished.code, 2);
    assert!(
        finished
            .stderr
            .contains("\"16M\" is too little memory for a build; give at least 64M"),
        "{}",
        finished.stderr
    );
    let finished = build(&source, &out, &["--memory", "64M", "--threads", "64"]);
    assert_eq!(finished.code, 2);
    assert!(
        finished
            .stderr
            .contains("--memory 64 MiB is too little for 64 parser threads: give at least"),
        "{}",
        finished.stderr
    );
}

#[test]
fn a_source_from_a_pipe_is_read_once_and_its_progress_says_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("dbsnp.vcf");
    dbsnp_source(&source, 20_000, &[], "");
    let text = std::fs::read(&source).unwrap();
    let grch37 = String::from_utf8(text.clone())
        .unwrap()
        .replace("##reference=GRCh38.p14", "##reference=GRCh37.p13");
    let out = dir.path().join("map");
    for (input, expect_code) in [(text, 0), (grch37.into_bytes(), 2)] {
        let mut command = vcfq();
        command
            .args(["dbsnp", "build", "/dev/stdin", "--out"])
            .arg(&out)
            .stdin(Stdio::piped());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(expect_code), "{stderr}");
        if expect_code == 0 {
            assert!(stdout.contains("rows read: 20000 ("), "{stdout}");
            assert!(stderr.contains("MiB of the source read"), "{stderr}");
            assert!(!stderr.contains('%'), "{stderr}");
        } else {
            assert!(stderr.contains("##reference=GRCh37.p13"), "{stderr}");
        }
    }
    let _: PathBuf = out;
}

#[test]
fn ctrl_c_stops_a_build_at_once_and_removes_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("dbsnp.vcf");
    dbsnp_source(&source, 500_000, &[], "");
    let out = dir.path().join("map");
    let mut child = vcfq()
        .args(["dbsnp", "build"])
        .arg(&source)
        .arg("--out")
        .arg(&out)
        .args(["--threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the build is under way (its temporary directory exists), interrupt it.
    let started = std::time::Instant::now();
    while leftovers(dir.path(), ".map.building-").is_empty() {
        assert!(started.elapsed() < DEADLINE, "the build never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) with our own child's pid, not yet waited for; it only sends SIGINT.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let interrupted = std::time::Instant::now();
    let output = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            interrupted.elapsed() < Duration::from_secs(20),
            "the build did not stop within 20 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(leftovers(dir.path(), ".map."), Vec::<String>::new());
}

/// The rsIDs (as numbers) that `map`'s metadata says it was built from, by source file
/// name, and whether a known rsID of that source resolves.
fn map_source(map: &Path) -> Option<String> {
    let opened = vcfq::RsidMap::open(map).ok()?;
    let source = std::path::Path::new(&opened.metadata().source.path)
        .file_name()?
        .to_string_lossy()
        .into_owned();
    // Every map opened must answer: a half map would fail here.
    let probe = if source.starts_with("chr17") {
        1_170_181_519
    } else {
        4_244_285
    };
    let resolved = opened
        .resolve(vcfq::Rsid::from_number(probe).unwrap())
        .expect("a lookup in an opened map");
    assert!(resolved.is_some(), "rs{probe} in the {source} map");
    Some(source)
}

#[test]
fn a_map_replaced_while_killed_or_read_is_always_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map");
    let sources = [
        crate::util::testdata("dbsnp/chr17-sample.vcf.gz"),
        crate::util::testdata("pharmcat/pharmcat_positions.vcf"),
    ];
    let build = |source: &Path| {
        let finished = build(source, &out, &[]);
        assert_eq!(finished.code, 0, "{}", finished.stderr);
    };
    build(&sources[0]);
    // Builds killed at staggered moments: `out` holds the old map or the new one, never
    // none and never half of one.
    for round in 0..24u64 {
        let mut child = vcfq()
            .args(["dbsnp", "build"])
            .arg(&sources[(round % 2) as usize])
            .arg("--out")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(round * 4));
        let _ = child.kill();
        let _ = child.wait();
        let source = map_source(&out).expect("a whole map at --out after a kill");
        assert!(source == "chr17-sample.vcf.gz" || source == "pharmcat_positions.vcf");
    }
    // The next build sweeps what the killed ones left.
    build(&sources[1]);
    assert_eq!(map_source(&out).as_deref(), Some("pharmcat_positions.vcf"));
    assert_eq!(leftovers(dir.path(), ".map."), Vec::<String>::new());

    // Readers opening the map while it is rebuilt again and again never fail.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let opened = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        map_source(&out).expect("the map opens while it is being replaced");
                        opened.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for round in 0..12 {
            build(&sources[round % 2]);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for reader in readers {
            reader.join().unwrap();
        }
    });
    assert!(
        opened.into_inner() > 50,
        "the readers must have raced the builds"
    );
}

#[test]
fn an_index_that_belongs_to_another_vcf_is_refused_at_open() {
    let dir = crate::util::copy_to_temp(&[
        "apoe.vcf.gz",
        "apoe.vcf.gz.tbi",
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let copy = |from: &str, to: &str| {
        std::fs::copy(dir.path().join(from), dir.path().join(to)).unwrap();
    };
    // The extract's index on the APOE file (it points past the file's end), and the APOE
    // file's index on the extract (it ends 360 kB before the file does: it would answer
    // "no records" for every contig it does not list).
    copy("apoe.vcf.gz", "a.vcf.gz");
    copy("NA12878.pgx-extract.vcf.gz.tbi", "a.vcf.gz.tbi");
    copy("NA12878.pgx-extract.vcf.gz", "b.vcf.gz");
    copy("apoe.vcf.gz.tbi", "b.vcf.gz.tbi");
    for (vcf, query) in [
        (
            "a.vcf.gz",
            ["--chromosome", "chr19", "--position", "44908684"],
        ),
        (
            "b.vcf.gz",
            ["--chromosome", "chr10", "--position", "94781859"],
        ),
    ] {
        let path = dir.path().join(vcf);
        crate::util::assert_fails(
            crate::util::query(&path, &query),
            2,
            "does not match the file",
        );
        let store = dir.path().join(format!("store-{vcf}"));
        let (code, _, stderr) =
            crate::util::add_sample(&store, "3fa85f64-5717-4562-b3fc-2c963f66afa6", &path, &[]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("does not match the file"), "{stderr}");
    }
    // A sample read through its position index answers right with a foreign .tbi beside
    // it (the position index is exact), but `sample check` reports the index.
    copy("apoe.vcf.gz", "c.vcf.gz");
    copy("apoe.vcf.gz.tbi", "c.vcf.gz.tbi");
    let store = dir.path().join("store");
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let c = dir.path().join("c.vcf.gz");
    let (code, _, stderr) = crate::util::add_sample(&store, id, &c, &[]);
    assert_eq!(code, 0, "{stderr}");
    copy("NA12878.pgx-extract.vcf.gz.tbi", "c.vcf.gz.tbi");
    let body = crate::util::query_json(&c, &["--chromosome", "chr19", "--position", "44908684"]);
    assert_eq!(body["results"][0]["rsid"], "rs429358");
    let (code, stdout, _) =
        crate::util::run(&["sample", "check", id, "--store", store.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("FAILS") && stdout.contains("does not match the file"),
        "{stdout}"
    );
}

#[test]
fn a_batch_line_past_the_limit_is_one_failed_request_in_bounded_memory() {
    // A 64 MB request line, then a good one: one detail line, then the answer.
    let mut child = vcfq()
        .args(["batch", "--vcf"])
        .arg(crate::util::testdata("apoe.vcf.gz"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            stdin.write_all(&chunk).unwrap();
        }
        stdin
            .write_all(b"\nchromosome=chr19&position=44908684\n")
            .unwrap();
    });
    // The peak while it runs (VmHWM only grows; read it before the process ends).
    let mut peak = 0u64;
    while child.try_wait().unwrap().is_none() {
        peak = peak.max(crate::util::memory_of(pid, "VmHWM").unwrap_or(0));
        if writer.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    writer.join().unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout:.300}");
    assert_eq!(
        lines[0],
        r#"{"detail":"the request line is longer than 65536 bytes: a line holds one query string"}"#
    );
    assert!(lines[1].contains(r#""rsid":"rs429358""#), "{}", lines[1]);
    assert!(peak < 40 << 20, "peak RSS {} MB", peak >> 20);
}

#[test]
fn a_samples_json_store_is_migrated_once_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    // A store as vcfq wrote it before the database: two samples.
    let apoe = std::fs::canonicalize(crate::util::testdata("apoe.vcf.gz")).unwrap();
    let na12878 =
        std::fs::canonicalize(crate::util::testdata("NA12878.pgx-extract.vcf.gz")).unwrap();
    let entry = |id: &str, vcf: &std::path::Path, vcf_sample: serde_json::Value| {
        serde_json::json!({
            "id": id,
            "vcf": vcf,
            "index": format!("{}.tbi", vcf.display()),
            "size": std::fs::metadata(vcf).unwrap().len(),
            "modified_unix_seconds": 1_700_000_000u64,
            "index_modified_unix_seconds": 1_700_000_000u64,
            "contig_naming": "chr",
            "vcf_sample": vcf_sample,
            "added_unix_seconds": 1_700_000_001u64,
        })
    };
    let ids = [
        "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "0b0c5a2e-4d4b-4f7e-9a53-8e7f6f2d9c11",
    ];
    let legacy = serde_json::json!({
        "format": "vcfq-sample-store",
        "version": 1,
        "samples": {
            ids[0]: entry(ids[0], &apoe, serde_json::Value::Null),
            ids[1]: entry(ids[1], &na12878, "NA12878".into()),
        }
    });
    std::fs::write(store.join("samples.json"), legacy.to_string()).unwrap();
    // A migration killed half way left its temporary database; the next one starts over.
    std::fs::write(store.join(".samples.sqlite.migrating.4194301"), b"half").unwrap();
    let (code, stdout, stderr) = run(&["sample", "list", "--store", store.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(ids[0]) && stdout.contains(ids[1]),
        "{stdout}"
    );
    assert!(!store.join("samples.json").exists());
    assert!(store.join("samples.json.migrated").exists());
    assert!(!store.join(".samples.sqlite.migrating.4194301").exists());
    // Every field came across.
    let migrated = vcfq::store::Store::new(&store).list().unwrap();
    let second = &migrated[0];
    assert_eq!(second.id, ids[1]);
    assert_eq!(second.vcf, na12878);
    assert_eq!(second.vcf_sample.as_deref(), Some("NA12878"));
    assert_eq!(second.modified_unix_seconds, 1_700_000_000);
    assert_eq!(second.added_unix_seconds, 1_700_000_001);
    assert!(second.checked);
    // Queries by id answer from the database; the JSON file is never read again.
    std::fs::write(store.join("samples.json.migrated"), b"not json").unwrap();
    let (code, stdout, stderr) = run(&[
        "query",
        "--store",
        store.to_str().unwrap(),
        "--sample",
        ids[0],
        "chr19:44908684",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("rs429358"), "{stdout}");
}
