//! The position index (`vcfq index`, VCF.vcfqidx): answers through it are byte for byte
//! the answers through the tabix index, for every record of every test VCF, windows and
//! pages included; a stale, damaged or foreign position index is ignored; faults in the
//! VCF are still reported.

use std::io::Read;
use std::path::Path;

use vcfq::{Request, ResponseOptions, Sample, SampleOptions};

use crate::util::{assert_fails, copy_to_temp, query, run};

/// The (CHROM, POS) of every record, from a plain-text parse.
fn sites(path: &Path) -> Vec<(String, u64)> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    String::from_utf8_lossy(&text)
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let mut columns = line.split('\t');
            // Requests name contigs as chr19 or 19; RefSeq-named files are asked as chrN.
            let name = columns.next()?;
            let chromosome = vcfq::Contig::from_any_name(name.as_bytes())
                .map_or(name.to_string(), |contig| contig.name.to_string());
            let position = columns.next()?.trim().parse().ok()?;
            Some((chromosome, position))
        })
        .collect()
}

/// Requests over a file: each record's POS, a 1 kb window around every 5th record
/// (paged for every 10th), and the position before each record.
fn requests(path: &Path) -> Vec<String> {
    let mut list = Vec::new();
    for (i, (chromosome, position)) in sites(path).into_iter().enumerate() {
        list.push(format!("chromosome={chromosome}&position={position}"));
        list.push(format!(
            "chromosome={chromosome}&position={}",
            position.saturating_sub(1).max(1)
        ));
        if i % 5 == 0 {
            list.push(format!(
                "chromosome={chromosome}&start_position={}&end_position={}",
                position.saturating_sub(500).max(1),
                position + 500
            ));
        }
        if i % 10 == 0 {
            list.push(format!(
                "chromosome={chromosome}&start_position={}&end_position={}&limit=3&offset=2",
                position.saturating_sub(50_000).max(1),
                position + 50_000
            ));
        }
    }
    list
}

/// Every request's answer (or error text) from a freshly opened sample.
fn answers(path: &Path, requests: &[String]) -> (bool, Vec<Result<Vec<u8>, String>>) {
    let sample = Sample::open(path, &SampleOptions::default()).unwrap();
    let options = ResponseOptions::default();
    let answers = requests
        .iter()
        .map(|query| match Request::parse(query) {
            Ok(request) => sample
                .respond(&request, &options)
                .map_err(|error| format!("{:?}", error.class())),
            Err(error) => Err(error.to_string()),
        })
        .collect();
    (sample.uses_position_index(), answers)
}

#[test]
fn answers_equal_the_tabix_answers_for_every_test_vcf() {
    for (vcf, index) in [
        ("apoe.vcf.gz", "apoe.vcf.gz.tbi"),
        (
            "NA12878.pgx-extract.vcf.gz",
            "NA12878.pgx-extract.vcf.gz.tbi",
        ),
        (
            "HG00096.chrX-extract.vcf.gz",
            "HG00096.chrX-extract.vcf.gz.tbi",
        ),
        (
            "pharmcat/pharmcat_positions.vcf.gz",
            "pharmcat/pharmcat_positions.vcf.gz.tbi",
        ),
        (
            "dbsnp/crafted-sample.vcf.gz",
            "dbsnp/crafted-sample.vcf.gz.tbi",
        ),
        ("edge/edge.vcf.gz", "edge/edge.vcf.gz.tbi"),
        ("edge/crlf.vcf.gz", "edge/crlf.vcf.gz.tbi"),
        ("edge/malformed.vcf.gz", "edge/malformed.vcf.gz.tbi"),
        ("edge/multi_sample.vcf.gz", "edge/multi_sample.vcf.gz.tbi"),
        ("edge/refseq_names.vcf.gz", "edge/refseq_names.vcf.gz.tbi"),
        (
            "edge/sites_only_bare_names.vcf.gz",
            "edge/sites_only_bare_names.vcf.gz.tbi",
        ),
        ("edge/two_names.vcf.gz", "edge/two_names.vcf.gz.tbi"),
        ("edge/header_only.vcf.gz", "edge/header_only.vcf.gz.tbi"),
        ("edge/apoe-csi-only.vcf.gz", "edge/apoe-csi-only.vcf.gz.csi"),
    ] {
        let dir = copy_to_temp(&[vcf, index]);
        let path = dir.path().join(Path::new(vcf).file_name().unwrap());
        let mut requests = requests(&path);
        requests.push("chromosome=chr1&start_position=1&end_position=100000".into());
        let (used, through_tabix) = answers(&path, &requests);
        assert!(!used);
        let summary = vcfq::index::write_position_index(&path).unwrap();
        assert_eq!(summary.records as usize, sites(&path).len(), "{vcf}");
        let (used, through_blocks) = answers(&path, &requests);
        assert!(used, "{vcf}: the position index was not used");
        for ((query, tabix), blocks) in requests.iter().zip(&through_tabix).zip(&through_blocks) {
            assert_eq!(
                tabix
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                blocks
                    .as_ref()
                    .map(|b| String::from_utf8_lossy(b).into_owned()),
                "{vcf}: {query}"
            );
        }
        assert!(
            through_tabix.iter().filter(|a| a.is_ok()).count() >= requests.len() / 2,
            "{vcf}"
        );
    }
}

#[test]
fn stale_damaged_or_foreign_position_indexes_are_ignored() {
    let dir = copy_to_temp(&[
        "apoe.vcf.gz",
        "apoe.vcf.gz.tbi",
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let apoe = dir.path().join("apoe.vcf.gz");
    let other = dir.path().join("NA12878.pgx-extract.vcf.gz");
    let point = ["--chromosome", "chr19", "--position", "44908684"];
    let (code, expected, stderr) = query(&apoe, &point);
    assert_eq!((code, stderr.as_str()), (0, ""));
    let (code, stdout, stderr) = run(&["index", apoe.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("wrote ") && stdout.contains("apoe.vcf.gz.vcfqidx"),
        "{stdout}"
    );
    let open = |path: &Path| Sample::open(path, &SampleOptions::default()).unwrap();
    assert!(open(&apoe).uses_position_index());
    let index = dir.path().join("apoe.vcf.gz.vcfqidx");
    let pristine = std::fs::read(&index).unwrap();
    // Damaged: one byte flipped in the part checked at opening (here the VCF header
    // it holds), or cut short: tabix answers.
    let mut flipped = pristine.clone();
    let header_at = pristine
        .windows(6)
        .position(|window| window == b"#CHROM")
        .unwrap();
    flipped[header_at + 1] ^= 1;
    std::fs::write(&index, &flipped).unwrap();
    assert!(!open(&apoe).uses_position_index());
    // Answered, with a note on stderr that says why the position index is not used.
    let (code, stdout, stderr) = query(&apoe, &point);
    assert_eq!((code, stdout), (0, expected.clone()));
    assert!(
        stderr.starts_with("vcfq: note: ")
            && stderr.contains("apoe.vcf.gz.vcfqidx is damaged; rebuild it with `vcfq index`"),
        "{stderr}"
    );
    // One byte flipped in the entries (the last one's POS), checked when a query first
    // reads their sequence: an error that says what to do.
    let mut flipped = pristine.clone();
    flipped[pristine.len() - 4 - 20 + 9] ^= 1;
    std::fs::write(&index, &flipped).unwrap();
    assert!(open(&apoe).uses_position_index());
    assert_fails(
        query(&apoe, &point),
        1,
        "apoe.vcf.gz.vcfqidx is damaged; rebuild it with `vcfq index`",
    );
    std::fs::write(&index, &pristine[..pristine.len() - 9]).unwrap();
    assert!(!open(&apoe).uses_position_index());
    assert_eq!(query(&apoe, &point).1, expected);
    // Foreign: another file's position index.
    vcfq::index::write_position_index(&other).unwrap();
    std::fs::copy(
        dir.path().join("NA12878.pgx-extract.vcf.gz.vcfqidx"),
        &index,
    )
    .unwrap();
    assert!(!open(&apoe).uses_position_index());
    let (code, stdout, stderr) = query(&apoe, &point);
    assert_eq!((code, stdout), (0, expected.clone()));
    assert!(
        stderr.contains("does not match the VCF") && stderr.contains("`vcfq index`"),
        "{stderr}"
    );
    // Touched but unchanged (other times, as after a copy): still used.
    std::fs::write(&index, &pristine).unwrap();
    assert!(open(&apoe).uses_position_index());
    let file = std::fs::File::options().write(true).open(&apoe).unwrap();
    file.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(1))
        .unwrap();
    assert!(open(&apoe).uses_position_index());
    assert_eq!(query(&apoe, &point).1, expected);
    // Stale: the VCF changed after indexing (here: one more empty block at its end):
    // not used.
    let mut bytes = std::fs::read(&apoe).unwrap();
    let end_block = bytes[bytes.len() - 28..].to_vec();
    bytes.extend_from_slice(&end_block);
    std::fs::write(&apoe, &bytes).unwrap();
    // Its tabix index made again after it (as a user would), so that only the position
    // index is stale however long the test took so far.
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("apoe.vcf.gz.tbi"))
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    assert!(!open(&apoe).uses_position_index());
    assert_eq!(query(&apoe, &point).1, expected);
}

#[test]
fn a_copied_or_moved_vcf_keeps_its_position_index_and_a_changed_one_does_not() {
    let dir = copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let original = dir.path().join("NA12878.pgx-extract.vcf.gz");
    vcfq::index::write_position_index(&original).unwrap();
    let point = ["--chromosome", "chr10", "--position", "94781859"];
    let (_, expected, _) = query(&original, &point);
    let open = |path: &Path| Sample::open(path, &SampleOptions::default()).unwrap();
    // Copied elsewhere, with its indexes (new inode, new times; a copy on shared storage
    // looks the same from another machine): used, and the answers are the same.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("copy.vcf.gz");
    std::fs::copy(&original, &copy).unwrap();
    std::fs::copy(
        dir.path().join("NA12878.pgx-extract.vcf.gz.tbi"),
        elsewhere.path().join("copy.vcf.gz.tbi"),
    )
    .unwrap();
    std::fs::copy(
        dir.path().join("NA12878.pgx-extract.vcf.gz.vcfqidx"),
        elsewhere.path().join("copy.vcf.gz.vcfqidx"),
    )
    .unwrap();
    assert!(open(&copy).uses_position_index());
    let (code, stdout, stderr) = query(&copy, &point);
    assert_eq!((code, stdout, stderr), (0, expected.clone(), String::new()));
    // Moved (renamed with its indexes): used.
    let moved = elsewhere.path().join("moved.vcf.gz");
    for suffix in ["", ".tbi", ".vcfqidx"] {
        std::fs::rename(
            format!("{}{suffix}", copy.display()),
            format!("{}{suffix}", moved.display()),
        )
        .unwrap();
    }
    assert!(open(&moved).uses_position_index());
    assert_eq!(query(&moved, &point).1, expected);
    // Changed in its last data block, its size kept: refused.
    let mut changed = std::fs::read(&moved).unwrap();
    let blocks = crate::faults::bgzf_blocks(&changed);
    let (offset, size) = blocks[blocks.len() - 2];
    changed[offset + size / 2] ^= 1;
    std::fs::write(&moved, &changed).unwrap();
    // (Its tabix index kept newer than it, as after re-indexing.)
    std::fs::File::options()
        .write(true)
        .open(elsewhere.path().join("moved.vcf.gz.tbi"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    assert!(!open(&moved).uses_position_index());
}

#[test]
fn faults_in_the_vcf_are_reported_through_the_position_index_too() {
    let dir = copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let path = dir.path().join("NA12878.pgx-extract.vcf.gz");
    let point = ["--chromosome", "chr10", "--position", "94781859"];
    let bytes = std::fs::read(&path).unwrap();
    vcfq::index::write_position_index(&path).unwrap();
    assert_eq!(query(&path, &point).0, 0);
    // One CRC broken in every data block, size and modification time kept: the change
    // time moves, so the position index no longer matches and tabix reads (and reports).
    // (The block reader's own CRC check has a unit test in src/blocks.rs.)
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut damaged = bytes.clone();
    let blocks = crate::faults::bgzf_blocks(&damaged);
    for &(offset, size) in &blocks[1..blocks.len() - 1] {
        damaged[offset + size - 8] ^= 0x5a;
    }
    std::fs::write(&path, &damaged).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    let (code, stdout, stderr) = query(&path, &point);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(
        stderr.contains("truncated or corrupt") && stderr.contains("NA12878.pgx-extract.vcf.gz"),
        "{stderr}"
    );
    // An unsorted VCF cannot be indexed: the error says to sort it.
    let unsorted = dir.path().join("unsorted.vcf.gz");
    let header = "##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    let text = format!("{header}chr19\t100\t.\tA\tG\t.\t.\t.\nchr19\t200\t.\tA\tG\t.\t.\t.\n");
    vcfq::index::write_indexed_vcf(&unsorted, text.as_bytes(), false).unwrap();
    // (Swap the records after tabix indexed them, keeping the file's size.)
    let swapped = format!("{header}chr19\t200\t.\tA\tG\t.\t.\t.\nchr19\t100\t.\tA\tG\t.\t.\t.\n");
    let plain = dir.path().join("swapped.vcf.gz");
    vcfq::index::write_indexed_vcf(&plain, swapped.as_bytes(), false).unwrap_err();
    std::fs::copy(&plain, &unsorted).unwrap();
    std::fs::File::options()
        .write(true)
        .open(dir.path().join("unsorted.vcf.gz.tbi"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    let error = vcfq::index::write_position_index(&unsorted).unwrap_err();
    assert!(error.to_string().contains("not sorted"), "{error}");
    assert!(!dir.path().join("unsorted.vcf.gz.vcfqidx").exists());
}

#[test]
fn sample_add_writes_the_position_index_and_check_reports_on_it() {
    let dir = copy_to_temp(&["apoe.vcf.gz", "apoe.vcf.gz.tbi"]);
    let store = dir.path().join("store");
    let vcf = dir.path().join("apoe.vcf.gz");
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let (code, stdout, stderr) = crate::util::add_sample(&store, id, &vcf, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote the position index"), "{stdout}");
    assert!(dir.path().join("apoe.vcf.gz.vcfqidx").exists());
    let (code, stdout, _) = run(&[
        "query",
        "--sample",
        id,
        "--store",
        store.to_str().unwrap(),
        "--chromosome",
        "chr19",
        "--position",
        "44908684",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"rsid\":\"rs429358\""));
    // `sample check` reports a position index that queries ignore, and fails when its
    // entries are damaged.
    let check = || run(&["sample", "check", id, "--store", store.to_str().unwrap()]);
    assert_eq!(check().1.trim(), format!("{id}: ok"));
    // Damaged entries: queries on that contig fail, so the check fails.
    let index = dir.path().join("apoe.vcf.gz.vcfqidx");
    let pristine = std::fs::read(&index).unwrap();
    let mut flipped = pristine.clone();
    flipped[pristine.len() - 4 - 20 + 9] ^= 1;
    std::fs::write(&index, &flipped).unwrap();
    let (code, stdout, _) = check();
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAILS") && stdout.contains("is damaged; rebuild it with `vcfq index`"),
        "{stdout}"
    );
    // From an earlier vcfq: ignored, and check says so.
    let mut older = pristine.clone();
    older[..8].copy_from_slice(b"VCFQPIX1");
    std::fs::write(&index, &older).unwrap();
    let (code, stdout, _) = check();
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ok, but") && stdout.contains("earlier vcfq"),
        "{stdout}"
    );
    // Stale: the VCF changed after it was indexed (one more empty block at its end; the
    // tabix index stays newer).
    std::fs::write(&index, &pristine).unwrap();
    let mut bytes = std::fs::read(&vcf).unwrap();
    let end_block = bytes[bytes.len() - 28..].to_vec();
    bytes.extend_from_slice(&end_block);
    std::fs::write(&vcf, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&vcf)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    let (code, stdout, _) = check();
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("does not match the VCF")
            && stdout.contains("rebuild it with `vcfq index`"),
        "{stdout}"
    );
    run(&["index", vcf.to_str().unwrap()]);
    let (code, stdout, _) = check();
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("position index"), "{stdout}");
}
