//! The fault suite (`docs/robustness.md`, "Faults"): damaged, odd or hostile inputs each give a clear
//! error naming the file and the fix, the contract's exit code, and nothing on stdout; or,
//! where the input is valid however odd, the right answer. Faults covered elsewhere:
//! missing/stale/foreign index and an index of another file (files.rs), truncated BGZF
//! (files.rs), plain gzip (files.rs `compression`), header-only (files.rs), CRLF
//! (files.rs), contigs with GRCh37 lengths (files.rs), damaged maps (dbsnp.rs).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use crate::util::{assert_fails, copy_to_temp, query, query_json, run, testdata, vcfq};

const HEADER: &str = "##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n\
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n";

/// Every BGZF block of `bytes`: (offset, total size).
pub fn bgzf_blocks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut offset = 0;
    while offset + 18 <= bytes.len() {
        assert_eq!(
            &bytes[offset..offset + 4],
            b"\x1f\x8b\x08\x04",
            "a BGZF block"
        );
        let size = usize::from(u16::from_le_bytes([bytes[offset + 16], bytes[offset + 17]])) + 1;
        blocks.push((offset, size));
        offset += size;
    }
    assert_eq!(offset, bytes.len());
    blocks
}

/// A copy of the NA12878 extract whose data blocks are damaged by `damage(block bytes)`.
fn damaged_extract(damage: impl Fn(&mut [u8])) -> (tempfile::TempDir, PathBuf) {
    let dir = copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let path = dir.path().join("NA12878.pgx-extract.vcf.gz");
    let mut bytes = std::fs::read(&path).unwrap();
    let blocks = bgzf_blocks(&bytes);
    // Leave the header block and the empty end-of-file block alone.
    for &(offset, size) in &blocks[1..blocks.len() - 1] {
        damage(&mut bytes[offset..offset + size]);
    }
    write_keeping_index_fresh(&path, &bytes);
    (dir, path)
}

fn write_keeping_index_fresh(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    let index = PathBuf::from(format!("{}.tbi", path.display()));
    if index.exists() {
        std::fs::File::options()
            .write(true)
            .open(&index)
            .unwrap()
            .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
    }
}

const CYP2C19: [&str; 4] = ["--chromosome", "chr10", "--position", "94781859"];

#[test]
fn corrupted_block_with_a_bad_crc() {
    let (_dir, path) = damaged_extract(|block| {
        let crc = block.len() - 8;
        block[crc] ^= 0x5a;
    });
    let (code, stdout, stderr) = query(&path, &CYP2C19);
    assert_fails((code, stdout, stderr.clone()), 1, "truncated or corrupt");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

#[test]
fn corrupted_deflate_data() {
    let (_dir, path) = damaged_extract(|block| {
        let middle = block.len() / 2;
        for byte in &mut block[middle..middle + 16] {
            *byte = !*byte;
        }
    });
    let (code, stdout, stderr) = query(&path, &CYP2C19);
    assert_fails((code, stdout, stderr.clone()), 1, "truncated or corrupt");
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
}

#[test]
fn unsorted_vcf_cannot_be_indexed_or_queried() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsorted.vcf.gz");
    let text = format!(
        "{HEADER}chr19\t2000\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\nchr19\t1000\t.\tC\tT\t.\tPASS\t.\tGT\t1|1\n"
    );
    let error = vcfq::index::write_indexed_vcf(&path, text.as_bytes(), false).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("sorted by position"), "{message}");
    assert!(message.contains("unsorted.vcf.gz"), "{message}");
    assert_eq!(error.class(), vcfq::ErrorClass::Internal);
    // The BGZF file was written but has no index: vcfq says how to make one.
    assert_fails(
        query(&path, &["--chromosome", "chr19", "--position", "1000"]),
        2,
        "has no index",
    );
}

#[test]
fn enormous_info_fields_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.vcf.gz");
    // One 8 MiB INFO value, and one record with 50,000 INFO keys (a 600 KB line).
    let value = "A".repeat(8 << 20);
    let keys: Vec<String> = (0..50_000).map(|i| format!("K{i}={i}")).collect();
    let text = format!(
        "{HEADER}chr19\t1000\t.\tC\tT\t.\tPASS\tBIG={value}\tGT\t0|1\n\
         chr19\t2000\t.\tA\tG\t.\tPASS\t{}\tGT\t1|1\n",
        keys.join(";")
    );
    vcfq::index::write_indexed_vcf(&path, text.as_bytes(), false).unwrap();
    let body = query_json(&path, &["--chromosome", "chr19", "--position", "1000"]);
    assert_eq!(
        body["results"][0]["info"]["BIG"].as_str().unwrap().len(),
        8 << 20
    );
    let body = query_json(&path, &["--chromosome", "chr19", "--position", "2000"]);
    let info = body["results"][0]["info"].as_object().unwrap();
    assert_eq!(info.len(), 50_000);
    assert_eq!(info["K49999"], "49999");
}

#[test]
fn non_utf8_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.vcf.gz");
    let mut text = HEADER.as_bytes().to_vec();
    text.extend_from_slice(b"chr19\t1000\t.\tC\tT\t.\tPASS\tNOTE=caf\xe9\tGT\t0|1\n");
    text.extend_from_slice(b"chr19\t2000\t.\tA\tG\t.\tPASS\t.\tGT\t0|\xff\n");
    text.extend_from_slice(b"chr19\t3000\tid\xe9\tA\tG\t.\tPASS\t.\tGT\t0|1\n");
    vcfq::index::write_indexed_vcf(&path, &text, false).unwrap();
    for (position, column) in [("1000", "INFO"), ("2000", "sample")] {
        let (code, stdout, stderr) =
            query(&path, &["--chromosome", "chr19", "--position", position]);
        assert_eq!((code, stdout.as_str()), (1, ""), "{position}: {stderr}");
        assert!(stderr.contains("latin1.vcf.gz"), "{stderr}");
        assert!(stderr.contains(&format!("chr19:{position}")), "{stderr}");
        assert!(
            stderr.contains("not valid UTF-8"),
            "{position} {column}: {stderr}"
        );
    }
    // The ID column is read only for an rsID, never shown: not an rs token, rsid null.
    let body = query_json(&path, &["--chromosome", "chr19", "--position", "3000"]);
    assert_eq!(body["results"][0]["rsid"], serde_json::Value::Null);
    // A request with bytes that are not UTF-8 never reaches the VCF.
    use std::os::unix::ffi::OsStrExt;
    let output = vcfq()
        .args(["query", "--vcf"])
        .arg(&path)
        .arg("--chromosome")
        .arg(std::ffi::OsStr::from_bytes(b"chr\xff19"))
        .args(["--position", "1000"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn half_written_store_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let other = "0b7e4a5e-4b7b-4c59-9f53-2f0cb7c1a0d1";
    let apoe = testdata("apoe.vcf.gz");
    let (code, _, stderr) = run(&[
        "sample",
        "add",
        "--no-position-index",
        id,
        apoe.to_str().unwrap(),
        "--store",
        store_arg,
    ]);
    assert_eq!(code, 0, "{stderr}");
    // Some other program cut the database in half.
    let file = store.join("samples.sqlite");
    let full = std::fs::read(&file).unwrap();
    let half = full[..full.len() / 2].to_vec();
    std::fs::write(&file, &half).unwrap();
    for args in [
        vec!["sample", "list", "--store", store_arg],
        vec![
            "sample",
            "add",
            "--no-position-index",
            other,
            apoe.to_str().unwrap(),
            "--store",
            store_arg,
        ],
        vec!["sample", "remove", id, "--store", store_arg],
        vec![
            "query",
            "--sample",
            id,
            "--store",
            store_arg,
            "--chromosome",
            "chr19",
            "--position",
            "44908684",
        ],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!((code, stdout.as_str()), (1, ""), "{args:?}: {stderr}");
        assert!(stderr.contains("samples.sqlite"), "{stderr}");
        assert!(stderr.contains("not a valid sample store"), "{stderr}");
        // Nothing is lost: the damaged file is left as it was for the user to repair.
        assert_eq!(std::fs::read(&file).unwrap(), half);
    }
    // A temporary database left by a migration killed mid-write does not disturb a good
    // store.
    std::fs::write(&file, &full).unwrap();
    std::fs::write(store.join(".samples.sqlite.migrating.12345"), &half).unwrap();
    let (code, stdout, _) = run(&["sample", "list", "--store", store_arg]);
    assert_eq!(code, 0);
    assert!(stdout.contains(id));
}

/// Runs `vcfq dbsnp build` with files limited to `max_file_bytes` (as a full disk would
/// stop it: writes fail part way).
fn build_with_file_size_limit(
    source: &Path,
    out: &Path,
    max_file_bytes: u64,
) -> (i32, String, String) {
    let mut command = vcfq();
    command
        .args(["dbsnp", "build"])
        .arg(source)
        .arg("--out")
        .arg(out);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: max_file_bytes,
                rlim_max: max_file_bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn disk_full_during_dbsnp_build_leaves_no_map_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let source = testdata("dbsnp/chr17-sample.vcf.gz");
    let out = dir.path().join("map");
    // A first build fails part way: no map, no temporary files.
    let (code, _, stderr) = build_with_file_size_limit(&source, &out, 4096);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    assert!(!out.exists(), "no map may be left: {stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    // Over an existing map, a failed rebuild keeps the old map whole.
    let (code, _, stderr) = run(&[
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let before = run(&["dbsnp", "info", out.to_str().unwrap()]).1;
    let (code, _, stderr) = build_with_file_size_limit(&source, &out, 4096);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(run(&["dbsnp", "check", out.to_str().unwrap()]).0, 0);
    assert_eq!(run(&["dbsnp", "info", out.to_str().unwrap()]).1, before);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("map")]);
}

/// The same on a real full file system when this machine lets the tests mount a small
/// tmpfs (root); elsewhere the size-limit test above stands for it.
#[test]
fn disk_full_on_a_small_tmpfs() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=12k", "tmpfs"])
        .arg(&mount)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!(
            "disk_full_on_a_small_tmpfs: cannot mount a tmpfs here; covered by the size-limit test"
        );
        return;
    }
    let out = mount.join("map");
    let source = testdata("dbsnp/chr17-sample.vcf.gz");
    let result = run(&[
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let leftovers: Vec<_> = std::fs::read_dir(&mount)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let _ = std::process::Command::new("umount").arg(&mount).status();
    let (code, stdout, stderr) = result;
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(leftovers.is_empty(), "left on the full disk: {leftovers:?}");
}

/// Makes a FIFO at `path` (replacing any file there).
fn make_fifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// Runs `vcfq ARGS` and fails the test if it is still running after 30 s (killed then).
fn run_within_deadline(args: &[&str]) -> (i32, String, String) {
    use std::io::Read;
    let mut child = vcfq()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vcfq {args:?} was still waiting after 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn fifos_in_place_of_the_files_vcfq_reads_never_make_it_wait() {
    let dir = copy_to_temp(&[
        "NA12878.pgx-extract.vcf.gz",
        "NA12878.pgx-extract.vcf.gz.tbi",
    ]);
    let vcf = dir.path().join("NA12878.pgx-extract.vcf.gz");
    let vcf_arg = vcf.to_str().unwrap();
    let expected = query_json(&vcf, &CYP2C19);
    // A FIFO named like the position index: it is not one; tabix answers.
    make_fifo(&PathBuf::from(format!("{vcf_arg}.vcfqidx")));
    let mut args = vec!["query", "--vcf", vcf_arg];
    args.extend_from_slice(&CYP2C19);
    let (code, stdout, stderr) = run_within_deadline(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap(),
        expected
    );
    // A dbSNP map whose meta.json, or one of whose files, is a FIFO: a clear error.
    let map = dir.path().join("map");
    let source = testdata("pharmcat/pharmcat_positions.vcf");
    let (code, _, stderr) = run(&[
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "--out",
        map.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let data_file = std::fs::read_dir(&map)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.file_name().unwrap() != "meta.json")
        .unwrap();
    for fifo in [map.join("meta.json"), data_file] {
        let saved = std::fs::read(&fifo).unwrap();
        make_fifo(&fifo);
        let mut args = vec!["query", "--vcf", vcf_arg, "--dbsnp", map.to_str().unwrap()];
        args.extend_from_slice(&CYP2C19);
        let (code, stdout, stderr) = run_within_deadline(&args);
        assert_eq!(code, 1, "{}: {stderr}", fifo.display());
        assert!(stdout.is_empty());
        assert!(stderr.contains("not a regular file"), "{stderr}");
        std::fs::remove_file(&fifo).unwrap();
        std::fs::write(&fifo, saved).unwrap();
    }
    // A store whose samples.json is a FIFO.
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("store.lock"), b"").unwrap();
    make_fifo(&store.join("samples.json"));
    let (code, stdout, stderr) =
        run_within_deadline(&["sample", "list", "--store", store.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
    assert!(stderr.contains("not a regular file"), "{stderr}");
    // And one whose database is a FIFO.
    let store = dir.path().join("store2");
    std::fs::create_dir(&store).unwrap();
    make_fifo(&store.join("samples.sqlite"));
    let (code, stdout, stderr) =
        run_within_deadline(&["sample", "list", "--store", store.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("samples.sqlite: it is not a regular file"),
        "{stderr}"
    );
}
