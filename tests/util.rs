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

/// How a child process ended, with its own peak resident memory.
pub struct Finished {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The child's peak RSS in bytes, as its `VmHWM` last read before it ended. (Not
    /// wait4's `ru_maxrss`: Linux carries the spawning process's RSS into it at exec.)
    pub peak_rss: u64,
}

/// Runs `command` (its stdout and stderr captured) and waits for it, killing it and
/// failing the test if it has not ended within `deadline`.
// The child is reaped by `wait4` below (or `wait` after a kill), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn run_bounded(command: &mut Command, deadline: std::time::Duration) -> Finished {
    use std::io::Read;
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the command");
    let pid = child.id() as libc::pid_t;
    // Drain both pipes on their own threads, so that a chatty child never blocks on them.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = std::time::Instant::now();
    let mut peak_rss = 0u64;
    let status = loop {
        // VmHWM only grows, so the last reading is the closest to the peak.
        if let Some(bytes) = memory_of(pid as u32, "VmHWM") {
            peak_rss = peak_rss.max(bytes);
        }
        let mut status = 0;
        // SAFETY: `rusage` is a plain C struct of integers; all-zero bytes are a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on our own child, not yet waited for; it writes into the two locals.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if waited == pid {
            break status;
        }
        assert!(
            waited == 0,
            "wait4 failed: {}",
            std::io::Error::last_os_error()
        );
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} was still running after {deadline:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Finished {
        code,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        peak_rss,
    }
}

/// The names in `dir` that start with `prefix` (temporary directories and files left
/// behind).
pub fn leftovers(dir: &Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// A memory figure of process `pid` from `/proc/PID/status` (`VmRSS`: resident now,
/// `VmHWM`: its peak so far), in bytes; `None` once the process has ended.
pub fn memory_of(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kilobytes = status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kilobytes * 1024)
}

/// `vcfq sample add ID VCF --store STORE EXTRA...`: (exit code, stdout, stderr).
pub fn add_sample(store: &Path, id: &str, vcf: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "sample",
        "add",
        id,
        vcf.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// Runs `vcfq ARGS` with `input` on standard input: (exit code, stdout, stderr).
pub fn run_with_input(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = vcfq()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
