//! What users of bcftools, tabix and samtools reach for: region syntax, short options,
//! `-` for standard input, shell completions and a man page, host names for `--bind`,
//! and `vcfq batch --fail-on-error` with its summary.

use std::process::Stdio;

use crate::util::{run, run_with_input, testdata, vcfq};

#[test]
fn regions_answer_as_the_flags_do() {
    let vcf = testdata("apoe.vcf.gz");
    let vcf = vcf.to_str().unwrap();
    for (region, flags) in [
        (
            "chr19:44908684",
            vec!["--chromosome", "chr19", "--position", "44908684"],
        ),
        (
            "chr19:44905000-44910000",
            vec![
                "--chromosome",
                "chr19",
                "--start-position",
                "44905000",
                "--end-position",
                "44910000",
            ],
        ),
        // Invalid regions fail with the flags' message and code.
        (
            "19:44908684",
            vec!["--chromosome", "19", "--position", "44908684"],
        ),
        ("chr19:0", vec!["--chromosome", "chr19", "--position", "0"]),
        (
            "chr19:44910000-44905000",
            vec![
                "--chromosome",
                "chr19",
                "--start-position",
                "44910000",
                "--end-position",
                "44905000",
            ],
        ),
        (
            "chr19:1,000",
            vec!["--chromosome", "chr19", "--position", "1,000"],
        ),
    ] {
        let by_region = run(&["query", "--vcf", vcf, region]);
        let mut with_flags = vec!["query", "--vcf", vcf];
        with_flags.extend(flags);
        assert_eq!(by_region, run(&with_flags), "{region}");
    }
    // Short options, as bcftools users type them.
    assert_eq!(
        run(&["query", "-v", vcf, "-c", "chr19", "-p", "44908684", "-l", "1"]),
        run(&[
            "query",
            "--vcf",
            vcf,
            "--chromosome",
            "chr19",
            "--position",
            "44908684",
            "--limit",
            "1"
        ])
    );
    // Regions in a batch, from standard input as `-`.
    let (code, stdout, stderr) = run_with_input(
        &["batch", "-v", vcf, "-i", "-"],
        b"chr19:44908684\nchromosome=chr19&position=44908684\nchr19:44905000-44910000\n",
    );
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], lines[1]);
    assert_eq!(
        format!("{}\n", lines[2]),
        run(&["query", "-v", vcf, "chr19:44905000-44910000"]).1
    );
}

#[test]
fn batch_fail_on_error_and_its_summary() {
    let vcf = testdata("apoe.vcf.gz");
    let vcf = vcf.to_str().unwrap();
    let requests = b"chr19:44908684\nchr19:x\nrsid=rs429358\n";
    let (code, stdout, stderr) = run_with_input(&["batch", "-v", vcf], requests);
    assert_eq!(code, 0, "without --fail-on-error a batch that ran exits 0");
    assert_eq!(stdout.lines().count(), 3);
    assert!(
        stderr.contains("vcfq batch: 3 requests: 1 answered, 2 bad requests, 0 failed"),
        "{stderr}"
    );
    let (code, _, _) = run_with_input(&["batch", "-v", vcf, "--fail-on-error"], requests);
    assert_eq!(code, 2);
    let (code, _, stderr) = run_with_input(
        &["batch", "-v", vcf, "--fail-on-error"],
        b"chr19:44908684\n",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 requests: 1 answered, 0 bad requests, 0 failed"),
        "{stderr}"
    );
}

#[test]
fn a_dbsnp_source_and_saved_pairs_from_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("map");
    let source = std::fs::read(testdata("dbsnp/chr17-sample.vcf.gz")).unwrap();
    let (code, stdout, stderr) = run_with_input(
        &[
            "dbsnp",
            "build",
            "-",
            "-o",
            out.to_str().unwrap(),
            "-t",
            "1",
            "-m",
            "128M",
        ],
        &source,
    );
    assert_eq!(code, 0, "{stderr}");
    let (_, by_path, _) = run(&[
        "dbsnp",
        "build",
        testdata("dbsnp/chr17-sample.vcf.gz").to_str().unwrap(),
        "--out",
        dir.path().join("by-path").to_str().unwrap(),
    ]);
    let counts = |summary: &str| {
        summary
            .lines()
            .filter(|line| line.starts_with("rows read") || line.starts_with("rsIDs"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&stdout), counts(&by_path));
    let vcf = testdata("apoe.vcf.gz");
    let (_, body, _) = run(&["query", "-v", vcf.to_str().unwrap(), "chr19:44908684"]);
    let pair = serde_json::json!({"request": "chromosome=chr19&position=44908684", "response": body.trim_end()});
    let (code, stdout, stderr) = run_with_input(
        &["parity", "-v", vcf.to_str().unwrap(), "--pairs", "-"],
        format!("{pair}\n").as_bytes(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 identical, 0 differ"), "{stdout}");
}

#[test]
fn completions_and_the_man_page() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, stdout, stderr) = run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {stderr}");
        assert!(
            stdout.contains("vcfq") && stdout.contains("chromosome"),
            "{shell}"
        );
    }
    let (code, _, stderr) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, stdout, _) = run(&["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") && stdout.contains(".TH vcfq 1"),
        "{stdout:.200}"
    );
    assert!(stdout.contains("completions") && stdout.contains("serve"));
}

#[test]
fn bind_takes_host_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = vcfq()
        .args(["serve", "--store"])
        .arg(dir.path())
        .args(["-b", "localhost:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.contains("listening on http://127.0.0.1:")
            || line.contains("listening on http://[::1]:"),
        "{line}"
    );
    let (code, _, stderr) = run(&[
        "serve",
        "--store",
        dir.path().to_str().unwrap(),
        "--bind",
        "no-port",
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--bind \"no-port\"") && stderr.contains("give HOST:PORT"),
        "{stderr}"
    );
}

#[test]
fn a_sample_whose_header_says_grch37_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, declared) in [
        ("g1k.vcf.gz", "##reference=file:///ref/human_g1k_v37.fasta"),
        ("b37.vcf.gz", "##assembly=b37"),
    ] {
        let path = dir.path().join(name);
        let text = format!("##fileformat=VCFv4.2\n{declared}\n##contig=<ID=19>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n19\t45411941\trs429358\tT\tC\t.\tPASS\t.\tGT\t0|1\n");
        vcfq::index::write_indexed_vcf(&path, text.as_bytes(), false).unwrap();
        crate::util::assert_fails(
            crate::util::query(&path, &["19:45411941"]),
            2,
            &format!("is not on GRCh38: its header says {declared}; vcfq answers for GRCh38 samples only"),
        );
        let (code, _, stderr) = crate::util::add_sample(
            &dir.path().join("store"),
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            &path,
            &[],
        );
        assert_eq!(code, 2, "{stderr}");
    }
}

#[test]
fn the_progress_ends_at_the_summarys_counts_on_a_file_and_on_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("dbsnp.vcf");
    // About 24 MB: three chunks, parsed while more is read.
    crate::reliability::dbsnp_source(&source, 300_000, &[], "");
    let last_reading = |stderr: &str| {
        stderr
            .lines()
            .rfind(|line| line.starts_with("vcfq dbsnp build: reading: "))
            .map(String::from)
            .unwrap_or_else(|| panic!("no reading line: {stderr}"))
    };
    let rows = |stdout: &str| {
        stdout
            .split("rows read: ")
            .nth(1)
            .and_then(|rest| rest.split([';', ' ']).next())
            .map(String::from)
            .unwrap()
    };
    let out = dir.path().join("map");
    let (code, stdout, stderr) = run(&[
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rows(&stdout), "300000");
    let line = last_reading(&stderr);
    assert!(
        line.contains("reading: 300000 rows") && line.contains("; 100.0% of the source read;"),
        "{stderr}"
    );
    // Every reading line's share only grows, and none passes 100%.
    let shares: Vec<f64> = stderr
        .lines()
        .filter_map(|line| line.split("; ").nth(1))
        .filter_map(|share| share.strip_suffix("% of the source read"))
        .map(|share| share.parse().unwrap())
        .collect();
    assert!(
        shares.windows(2).all(|pair| pair[0] <= pair[1]),
        "{shares:?}"
    );
    assert!(shares.iter().all(|&share| share <= 100.0), "{shares:?}");

    let (code, stdout, stderr) = run_with_input(
        &["dbsnp", "build", "-", "-o", out.to_str().unwrap()],
        &std::fs::read(&source).unwrap(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rows(&stdout), "300000");
    let line = last_reading(&stderr);
    assert!(
        line.contains("reading: 300000 rows") && line.contains(" MiB of the source read;"),
        "{stderr}"
    );
}

#[test]
fn notes_say_why_an_answer_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map");
    let (code, _, stderr) = run(&[
        "dbsnp",
        "build",
        testdata("pharmcat/pharmcat_positions.vcf")
            .to_str()
            .unwrap(),
        "-o",
        map.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let extract = testdata("NA12878.pgx-extract.vcf.gz");
    let extract = extract.to_str().unwrap();
    let map = map.to_str().unwrap();
    // rsIDs the map does not know: the same bytes as ever on stdout, a note on stderr.
    let (code, stdout, stderr) = run(&[
        "query",
        "-v",
        extract,
        "-d",
        map,
        "-r",
        "rs4244285,rs429358,rs7412",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with(r#"{"meta":{"count":1}"#), "{stdout}");
    assert_eq!(
        stderr,
        "vcfq: note: 2 of 3 rsIDs are not in the dbSNP map (dbSNP build unknown, 995 rsIDs): rs429358, rs7412\n"
    );
    let (_, _, stderr) = run(&["query", "-v", extract, "-d", map, "-r", "rs4244285"]);
    assert_eq!(stderr, "");
    // A contig the VCF has no records on.
    let apoe = testdata("apoe.vcf.gz");
    let (code, stdout, stderr) = run(&["query", "-v", apoe.to_str().unwrap(), "chr2:100-200"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "{\"meta\":{\"count\":0},\"results\":[]}\n")
    );
    assert_eq!(
        stderr,
        "vcfq: note: the VCF has no records on chr2 (it has records on chr1, chr19)\n"
    );
    let (_, _, stderr) = run(&["query", "-v", apoe.to_str().unwrap(), "chr19:100-200"]);
    assert_eq!(
        stderr, "",
        "an empty window on a contig the VCF has is not noted"
    );
}
