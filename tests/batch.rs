//! `vcfq batch`: one response line per request line, errors in-band, a closed pipe ends quietly.

use std::io::Write;
use std::process::Stdio;

use crate::util::{query, run_with_input, testdata, vcfq};

fn batch(vcf: &str, input: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["batch", "--vcf"];
    let vcf = testdata(vcf);
    args.push(vcf.to_str().unwrap());
    args.extend_from_slice(extra);
    // The process may exit (a bad sample) before it reads its input.
    run_with_input(&args, input.as_bytes())
}

#[test]
fn one_line_per_request_and_the_same_bytes_as_query() {
    let requests = [
        "chromosome=chr19&position=44908684",
        "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2",
        "?chromosome=chr1&position=11796321\r",
        "",
        "chromosome=19&position=5",
        "rsid=rs429358",
        "chromosome=chr2&position=5",
    ];
    let (code, stdout, stderr) = batch("apoe.vcf.gz", &(requests.join("\n") + "\n"), &[]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), requests.len());
    for (request, line) in requests.iter().zip(&lines).take(3) {
        let single = query(&testdata("apoe.vcf.gz"), &[request.trim_end()]).1;
        assert_eq!(format!("{line}\n"), single, "{request}");
    }
    assert!(
        lines[3].starts_with("{\"detail\":\"no query given"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4].starts_with("{\"detail\":\"invalid chromosome \\\"19\\\""),
        "{}",
        lines[4]
    );
    assert!(lines[5].contains("--dbsnp DIR"), "{}", lines[5]);
    assert_eq!(lines[6], "{\"meta\":{\"count\":0},\"results\":[]}");
}

#[test]
fn requests_file_and_default_paging() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("requests.txt");
    std::fs::write(&file, "chromosome=chr19&start_position=44905000&end_position=44912000\nchromosome=chr19&start_position=44905000&end_position=44912000&limit=3\n").unwrap();
    let output = vcfq()
        .args([
            "batch",
            "--vcf",
            testdata("apoe.vcf.gz").to_str().unwrap(),
            "--requests",
            file.to_str().unwrap(),
            "--limit",
            "1",
            "--schema",
            "openapi",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["meta"]["count"], 6);
    assert_eq!(
        lines[0]["results"].as_array().unwrap().len(),
        1,
        "--limit is the default"
    );
    assert_eq!(
        lines[1]["results"].as_array().unwrap().len(),
        3,
        "a line's own limit wins"
    );
    assert_eq!(lines[1]["meta"]["next"], "http://127.0.0.1:8080?chromosome=chr19&end_position=44912000&limit=3&offset=3&start_position=44905000");
}

#[test]
fn a_bad_sample_fails_before_reading_requests() {
    let (code, stdout, stderr) = batch(
        "edge/plain-gzip.vcf.gz",
        "chromosome=chr19&position=1\n",
        &[],
    );
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(stderr.contains("not with bgzip"), "{stderr}");
}

#[test]
fn closed_pipe_ends_quietly() {
    let mut child = vcfq()
        .args(["batch", "--vcf", testdata("apoe.vcf.gz").to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end of stdout at once, then send plenty of work.
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let line = "chromosome=chr19&start_position=44900000&end_position=44912000\n".repeat(2000);
    let _ = stdin.write_all(line.as_bytes());
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

#[test]
fn answers_each_line_before_the_next_arrives() {
    use std::io::{BufRead, BufReader};
    // An interactive caller writes one request and waits for its answer.
    let mut child = vcfq()
        .args(["batch", "--vcf", testdata("apoe.vcf.gz").to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..3 {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            sender.send(line).unwrap();
        }
    });
    for position in ["44908684", "44908822", "1"] {
        stdin
            .write_all(format!("chromosome=chr19&position={position}\n").as_bytes())
            .unwrap();
        stdin.flush().unwrap();
        let line = receiver
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("an answer before the next request");
        assert!(line.starts_with("{\"meta\":{\"count\":"), "{line}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
