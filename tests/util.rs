//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn testdata(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(relative)
}

pub fn vcfq() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vcfq"));
    command.stdin(Stdio::null());
    command
}

/// Runs `vcfq` with `args` and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let output: Output = vcfq().args(args).output().expect("running vcfq");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// `vcfq query --vcf VCF ARGS...`
pub fn query(vcf: &Path, args: &[&str]) -> (i32, String, String) {
    let vcf = vcf.to_str().unwrap();
    let mut all = vec!["query", "--vcf", vcf];
    all.extend_from_slice(args);
    run(&all)
}

/// A successful query's parsed body.
pub fn query_json(vcf: &Path, args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = query(vcf, args);
    assert_eq!(code, 0, "vcfq {args:?} failed: {stderr}");
    assert!(
        stdout.ends_with('\n') && !stdout[..stdout.len() - 1].contains('\n'),
        "one line: {stdout:?}"
    );
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

/// Asserts a failed run: exit code, a message fragment on stderr, nothing on stdout.
pub fn assert_fails(result: (i32, String, String), code: i32, message: &str) {
    let (actual, stdout, stderr) = result;
    assert_eq!(actual, code, "exit code; stderr: {stderr}");
    assert_eq!(stdout, "", "stdout must stay empty on error");
    assert!(
        stderr.contains(message),
        "stderr {stderr:?} should contain {message:?}"
    );
}

/// Copies `files` (paths relative to testdata/) into a fresh temporary directory.
pub fn copy_to_temp(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let source = testdata(file);
        let target = dir.path().join(source.file_name().unwrap());
        std::fs::copy(&source, &target).unwrap();
        let mut permissions = std::fs::metadata(&target).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        std::fs::set_permissions(&target, permissions).unwrap();
    }
    // Copies get new times in copy order; make every index at least as new as its VCF.
    let now = std::time::SystemTime::now();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(now)
            .unwrap();
    }
    dir
}
