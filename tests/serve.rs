//! `vcfq serve` over real HTTP on 127.0.0.1 (a random port), the sample store, and
//! `vcfq parity`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::util::{copy_to_temp, run, testdata, vcfq};

const ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const API: &str = "/api/v2/sample-genomic-variants/";

/// A running server, stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Server {
    fn start(store: &Path, extra: &[&str]) -> Server {
        Server::start_with(store, extra, None)
    }

    /// Starts a server, its open file descriptors limited to `descriptors` (soft and
    /// hard) when given.
    fn start_with(store: &Path, extra: &[&str], descriptors: Option<u64>) -> Server {
        let mut command = vcfq();
        command
            .args([
                "serve",
                "--store",
                store.to_str().unwrap(),
                "--bind",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stderr(Stdio::piped());
        if let Some(descriptors) = descriptors {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: descriptors,
                        rlim_max: descriptors,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("no listening line: {line:?}"));
        let log = std::sync::Arc::new(std::sync::Mutex::new(line));
        let sink = std::sync::Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        Server { child, port, log }
    }

    fn get(&self, target: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, String) {
        http_get(self.port, target, headers)
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        self.stop_with(libc::SIGTERM)
    }

    fn stop_with(&mut self, signal: i32) -> std::process::ExitStatus {
        // SAFETY: kill(2) with our own child's pid, not yet waited for (so not reused);
        // it only sends a signal.
        unsafe { libc::kill(self.child.id() as i32, signal) };
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not stop on SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET: (status, headers, body).
fn http_get(
    port: u16,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request =
        format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A store with the docs' sample under ID.
fn store_with_sample() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (code, _, stderr) = crate::util::add_sample(
        &store,
        ID,
        &testdata("apoe.vcf.gz"),
        &["--no-position-index"],
    );
    assert_eq!(code, 0, "{stderr}");
    (dir, store)
}

fn cli_body(store: &Path, args: &[&str]) -> String {
    let mut all = vec!["query", "--sample", ID, "--store", store.to_str().unwrap()];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(&all);
    assert_eq!(code, 0, "{stderr}");
    stdout.strip_suffix('\n').unwrap().to_string()
}

#[test]
fn answers_with_the_bytes_vcfq_query_prints() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &[]);
    for query in [
        "chromosome=chr19&position=44908684",
        "chromosome=chr19&start_position=44905000&end_position=44910000",
        "chromosome=chr19&start_position=44905000&end_position=44910000&limit=2&offset=1",
        "chromosome=chr2&position=5",
    ] {
        let (status, headers, body) = server.get(&format!("{API}{ID}?{query}"), &[]);
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(body, cli_body(&store, &[query]), "{query}");
    }
    // The docs' example, byte for byte.
    let (_, _, body) = server.get(
        &format!("{API}{ID}?chromosome=chr19&position=44908684"),
        &[],
    );
    assert_eq!(
        body,
        r#"{"meta":{"count":1},"results":[{"chromosome":"chr19","position":44908684,"rsid":"rs429358","ref":"T","alt":["C"],"genotype":{"GT":"0|1","DS":"1","GP":"0,1,0"},"quality":null,"info":{"RAF":"0.15"}}]}"#
    );
    assert!(
        server.log().contains(&format!(
            "\"GET {API}{ID}?chromosome=chr19&position=44908684\" 200 "
        )),
        "{}",
        server.log()
    );
}

#[test]
fn openapi_links_are_built_from_the_request_url() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--schema", "openapi"]);
    let query = "start_position=44905000&chromosome=chr19&end_position=44910000&limit=2&offset=2";
    let (status, _, body) = server.get(&format!("{API}{ID}?{query}"), &[]);
    assert_eq!(status, 200);
    let base = format!("http://127.0.0.1:{}{API}{ID}", server.port);
    assert!(body.contains(&format!("\"next\":\"{base}?chromosome=chr19&end_position=44910000&limit=2&offset=4&start_position=44905000\"")), "{body}");
    assert!(body.contains(&format!("\"previous\":\"{base}?chromosome=chr19&end_position=44910000&limit=2&start_position=44905000\"")), "{body}");
    assert_eq!(
        body,
        cli_body(&store, &["--schema", "openapi", "--base-url", &base, query])
    );
}

/// Sends `raw` to the server at `port` and returns the whole answer.
fn exchange(port: u16, raw: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn host_headers_are_checked_as_django_checks_them() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--schema", "openapi"]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684&limit=1");
    let bad_request = "\n<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Bad Request (400)</title>\n</head>\n<body>\n  <h1>Bad Request (400)</h1><p></p>\n</body>\n</html>\n";
    // Malformed or not allowed: Django's 400 page, for the endpoint and any other path
    // alike (its CommonMiddleware reads the host before the URL is resolved).
    for host in [
        "evil.example/phish?x=",
        "evil.example",
        "user@127.0.0.1",
        "127.0.0.1 x",
        "\"127.0.0.1\"",
        "",
        "127.0.0.1:port",
    ] {
        for path in [target.as_str(), "/elsewhere"] {
            let response = exchange(
                server.port,
                &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            );
            assert!(response.starts_with("HTTP/1.1 400"), "{host:?}: {response}");
            assert!(
                response.contains("content-type: text/html; charset=utf-8"),
                "{host:?}: {response}"
            );
            assert!(response.ends_with(bad_request), "{host:?}: {response}");
        }
    }
    // Allowed names (any case, a trailing dot), and a request with no Host at all, whose
    // links name the address it came in on.
    let port = server.port;
    let range =
        format!("{API}{ID}?chromosome=chr19&start_position=44905000&end_position=44910000&limit=1");
    for (host, link_host) in [
        (
            Some(format!("localhost:{port}")),
            format!("localhost:{port}"),
        ),
        (
            Some(format!("LOCALHOST.:{port}")),
            format!("LOCALHOST.:{port}"),
        ),
        (None, format!("127.0.0.1:{port}")),
    ] {
        let header = host
            .map(|host| format!("Host: {host}\r\n"))
            .unwrap_or_default();
        let response = exchange(
            port,
            &format!("GET {range} HTTP/1.1\r\n{header}Connection: close\r\n\r\n"),
        );
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(
            response.contains(&format!(
                "\"next\":\"http://{link_host}{API}{ID}?chromosome=chr19&"
            )),
            "{response}"
        );
    }
    drop(server);
    // --allowed-hosts: patterns as Django's ALLOWED_HOSTS.
    let server = Server::start(&store, &["--allowed-hosts", ".example.org,vcfq.test"]);
    for (host, status) in [
        ("api.example.org", 200),
        ("example.org:8443", 200),
        ("vcfq.test", 200),
        ("localhost", 400),
        ("notexample.org", 400),
    ] {
        let response = exchange(
            server.port,
            &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        assert!(
            response.starts_with(&format!("HTTP/1.1 {status}")),
            "{host}: {response}"
        );
    }
}

#[test]
fn error_statuses() {
    let (dir, store) = store_with_sample();
    // A second sample whose file then goes away (archived).
    let moved = dir.path().join("moved.vcf.gz");
    std::fs::copy(testdata("apoe.vcf.gz"), &moved).unwrap();
    std::fs::copy(
        testdata("apoe.vcf.gz.tbi"),
        dir.path().join("moved.vcf.gz.tbi"),
    )
    .unwrap();
    let archived = "11111111-2222-3333-4444-555555555555";
    assert_eq!(
        run(&[
            "sample",
            "add",
            "--no-position-index",
            archived,
            moved.to_str().unwrap(),
            "--store",
            store.to_str().unwrap()
        ])
        .0,
        0
    );
    std::fs::remove_file(&moved).unwrap();

    let server = Server::start(&store, &[]);
    let cases: [(&str, u16, &str); 9] = [
        (
            "?chromosome=19&position=5",
            400,
            "did you mean \\\"chr19\\\"",
        ),
        (
            "?position=5&start_position=1&chromosome=chr19",
            400,
            "more than one query mode",
        ),
        ("?rsid=rs429358", 400, "--dbsnp DIR"),
        (
            "?chromosome=chr19&start_position=1&end_position=200000",
            400,
            "the maximum is 100000 bp",
        ),
        ("", 400, "no query given"),
        ("?chromosome=chr19&position=5&limit=abc", 200, "\"count\":0"),
        (
            "?chromosome=chr19&position=44908684&format=json",
            200,
            "\"count\":1",
        ),
        ("?chromosome=chr19&position=%ZZ", 400, "invalid position"),
        (
            "?chromosome=chr19&position=1%2C000",
            400,
            "invalid position \\\"1,000\\\"",
        ),
    ];
    for (suffix, status, fragment) in cases {
        let (actual, headers, body) = server.get(&format!("{API}{ID}{suffix}"), &[]);
        assert_eq!(actual, status, "{suffix}: {body}");
        assert!(body.contains(fragment), "{suffix}: {body}");
        assert_eq!(header(&headers, "content-type"), Some("application/json"));
        assert_eq!(header(&headers, "allow"), Some("GET, HEAD, OPTIONS"));
    }
    let (status, _, body) =
        server.get(&format!("{API}{archived}?chromosome=chr19&position=1"), &[]);
    assert_eq!(status, 400);
    assert!(body.contains("the sample's VCF is not available"), "{body}");
    let (status, _, body) = server.get(
        &format!("{API}00000000-0000-0000-0000-000000000000?chromosome=chr19&position=1"),
        &[],
    );
    // An unknown sample: DRF's own words (the CLI says more).
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"detail\":\"Not found.\"}")
    );
    // What the `<uuid:sample_id>` route does not match: Django's 404 page, no `Allow`.
    for path in [
        "/api/v2/other".to_string(),
        format!("{API}{ID}/?chromosome=chr19&position=44908684"),
        format!(
            "{API}{}?chromosome=chr19&position=44908684",
            ID.to_uppercase()
        ),
        format!("{API}not-a-uuid?chromosome=chr19&position=1"),
        "/".to_string(),
    ] {
        let (status, headers, body) = server.get(&path, &[]);
        assert_eq!(status, 404, "{path}");
        assert!(body.contains("<h1>Not Found</h1>"), "{path}: {body}");
        assert_eq!(
            header(&headers, "content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&headers, "allow"), None);
    }
    // Content negotiation: another format is DRF's 404, an Accept nothing satisfies 406,
    // `indent` pretty-prints as DRF does.
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    let (status, _, body) = server.get(&format!("{target}&format=xml"), &[]);
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"detail\":\"Not found.\"}")
    );
    let (status, _, body) = server.get(&target, &[("Accept", "text/html")]);
    assert_eq!(
        (status, body.as_str()),
        (
            406,
            "{\"detail\":\"Could not satisfy the request Accept header.\"}"
        )
    );
    let (status, _, body) = server.get(&target, &[("Accept", "application/json; indent=2")]);
    assert_eq!(status, 200);
    assert!(
        body.starts_with("{\n  \"meta\": {\n    \"count\": 1\n  },\n  \"results\": [\n    {\n      \"chromosome\": \"chr19\","),
        "{body}"
    );
}

#[test]
fn path_traversal_never_reaches_the_file_system() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &[]);
    for target in [
        format!("{API}..%2F..%2F..%2Fetc%2Fpasswd?chromosome=chr1&position=1"),
        format!("{API}../../../etc/passwd?chromosome=chr1&position=1"),
        format!("{API}{ID}%00?chromosome=chr1&position=1"),
        format!("{API}{ID}/../x?chromosome=chr1&position=1"),
        "/api/v2/sample-genomic-variants/%2e%2e/samples.json".to_string(),
    ] {
        // The route matches none of them: Django's 404 page.
        let (status, _, body) = server.get(&target, &[]);
        assert_eq!(status, 404, "{target}: {body}");
        assert!(!body.contains("root:"), "{target}");
        assert!(body.contains("<h1>Not Found</h1>"), "{target}: {body}");
    }
}

#[test]
fn api_keys_and_rate_limits() {
    let (dir, store) = store_with_sample();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "# test keys\nsecret-key-1\nsecret-key-2\n").unwrap();
    let server = Server::start(
        &store,
        &["--api-keys", keys.to_str().unwrap(), "--rate-limit", "3"],
    );
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    let (status, headers, body) = server.get(&target, &[]);
    assert_eq!(
        (status, body.as_str()),
        (
            401,
            "{\"detail\":\"Authentication credentials were not provided.\"}"
        )
    );
    assert_eq!(header(&headers, "www-authenticate"), Some("Api-Key"));
    // As DRF's TokenAuthentication with the keyword `Api-Key` answers.
    for (authorization, message) in [
        ("Api-Key wrong", "Invalid token."),
        (
            "Bearer secret-key-1",
            "Authentication credentials were not provided.",
        ),
        ("Api-Key", "Invalid token header. No credentials provided."),
        (
            "Api-Key secret-key-1 extra",
            "Invalid token header. Token string should not contain spaces.",
        ),
    ] {
        let (status, headers, body) = server.get(&target, &[("Authorization", authorization)]);
        assert_eq!(
            (status, body),
            (401, format!("{{\"detail\":\"{message}\"}}")),
            "{authorization}"
        );
        assert_eq!(header(&headers, "www-authenticate"), Some("Api-Key"));
        assert_eq!(header(&headers, "allow"), Some("GET, HEAD, OPTIONS"));
    }
    // The keyword in any case, any white space.
    let (status, _, _) = server.get(&target, &[("Authorization", "api-key  secret-key-1")]);
    assert_eq!(status, 200);
    // Over 3 requests in one second per key: 429 with Retry-After.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let (status, headers, body) =
            server.get(&target, &[("Authorization", "Api-Key secret-key-2")]);
        if status == 429 {
            assert_eq!(header(&headers, "retry-after"), Some("1"));
            assert_eq!(
                body,
                "{\"detail\":\"Request was throttled. Expected available in 1 second.\"}"
            );
        }
        statuses.push(status);
    }
    assert!(
        statuses.contains(&200) && statuses.contains(&429),
        "{statuses:?}"
    );
    // Another key has its own allowance.
    let (status, _, _) = server.get(&target, &[("Authorization", "Api-Key secret-key-1")]);
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(1100));
    let (status, _, _) = server.get(&target, &[("Authorization", "Api-Key secret-key-2")]);
    assert_eq!(status, 200, "a new second, a new allowance");
    let log = server.log();
    assert!(!log.contains("secret-key"), "keys are never logged: {log}");
}

#[test]
fn stops_gracefully_on_sigterm() {
    let (_dir, store) = store_with_sample();
    let mut server = Server::start(&store, &[]);
    assert_eq!(
        server
            .get(
                &format!("{API}{ID}?chromosome=chr19&position=44908684"),
                &[]
            )
            .0,
        200
    );
    let status = server.stop();
    assert!(status.success(), "{status:?}");
    // A hang-up (the terminal closed) drains and stops the same way.
    let mut server = Server::start(&store, &[]);
    let status = server.stop_with(libc::SIGHUP);
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        server.log().contains("vcfq serve: stopped"),
        "{}",
        server.log()
    );
}

#[test]
fn store_commands() {
    let (dir, store) = store_with_sample();
    let store_arg = store.to_str().unwrap();
    let (code, stdout, _) = run(&["sample", "list", "--store", store_arg]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(ID) && stdout.contains("apoe.vcf.gz") && stdout.contains("\tchr\n"),
        "{stdout}"
    );
    assert!(run(&[
        "sample",
        "add",
        "--no-position-index",
        ID,
        testdata("apoe.vcf.gz").to_str().unwrap(),
        "--store",
        store_arg
    ])
    .2
    .contains("already in the store"));
    assert_eq!(
        run(&[
            "sample",
            "add",
            "--no-position-index",
            "not-a-uuid",
            testdata("apoe.vcf.gz").to_str().unwrap(),
            "--store",
            store_arg
        ])
        .0,
        2
    );
    assert_eq!(
        run(&[
            "sample",
            "add",
            "--no-position-index",
            "22222222-2222-2222-2222-222222222222",
            testdata("edge/plain-gzip.vcf.gz").to_str().unwrap(),
            "--store",
            store_arg
        ])
        .0,
        2
    );
    let (code, stdout, _) = run(&["sample", "check", "--store", store_arg]);
    assert_eq!((code, stdout.trim()), (0, format!("{ID}: ok").as_str()));

    // Check says what changed: here the index was rebuilt (newer), which is fine.
    let copy = dir.path().join("copy.vcf.gz");
    std::fs::copy(testdata("apoe.vcf.gz"), &copy).unwrap();
    std::fs::copy(
        testdata("apoe.vcf.gz.tbi"),
        dir.path().join("copy.vcf.gz.tbi"),
    )
    .unwrap();
    let other = "33333333-3333-3333-3333-333333333333";
    assert_eq!(
        run(&[
            "sample",
            "add",
            "--no-position-index",
            other,
            copy.to_str().unwrap(),
            "--store",
            store_arg
        ])
        .0,
        0
    );
    std::fs::File::options()
        .write(true)
        .open(&copy)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    let (code, stdout, _) = run(&["sample", "check", other, "--store", store_arg]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("FAILS") && stdout.contains("older than the VCF"),
        "{stdout}"
    );
    std::fs::remove_file(&copy).unwrap();
    let (_, stdout, _) = run(&["sample", "check", other, "--store", store_arg]);
    assert!(
        stdout.contains("the sample's VCF is not available"),
        "{stdout}"
    );

    let (code, stdout, _) = run(&["sample", "remove", other, "--store", store_arg]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(run(&["sample", "remove", other, "--store", store_arg]).0, 3);
    // The store is a SQLite database, readable with sqlite3's SQL.
    let database = rusqlite::Connection::open(store.join("samples.sqlite")).unwrap();
    let ids: Vec<String> = database
        .prepare("SELECT id FROM samples ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(!ids.contains(&other.to_string()), "{ids:?}");
}

#[test]
fn concurrent_adds_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let children: Vec<Child> = (0..8)
        .map(|i| {
            vcfq()
                .args([
                    "sample",
                    "add",
                    "--no-position-index",
                    &format!("{i:08}-0000-0000-0000-000000000000"),
                    testdata("apoe.vcf.gz").to_str().unwrap(),
                    "--store",
                    store.to_str().unwrap(),
                ])
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let (_, stdout, _) = run(&["sample", "list", "--store", store.to_str().unwrap()]);
    assert_eq!(stdout.lines().count(), 8, "{stdout}");
}

#[test]
fn parity_reports_identical_and_field_level_differences() {
    let (dir, store) = store_with_sample();
    let query = "chromosome=chr19&start_position=44905000&end_position=44910000";
    let hosted = cli_body(&store, &[query]);
    let response = dir.path().join("hosted.json");
    std::fs::write(&response, &hosted).unwrap();
    let store_arg = store.to_str().unwrap();
    let (code, stdout, _) = run(&[
        "parity",
        "--sample",
        ID,
        "--store",
        store_arg,
        "--request",
        query,
        "--response",
        response.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1: identical"), "{stdout}");

    // A deliberate difference: QUAL written as 50 instead of null, and one record fewer.
    let altered = hosted
        .replacen("\"quality\":null", "\"quality\":50", 1)
        .replacen("\"count\":5", "\"count\":4", 1);
    let pairs = dir.path().join("pairs.jsonl");
    let full_url = format!("https://api.gencove.com{API}{ID}?{query}");
    std::fs::write(
        &pairs,
        // The first body saved as JSON exactly as received (not re-serialised), the
        // second as a string.
        format!(
            "{{\"request\":{},\"response\":{hosted}}}\n{}\n",
            serde_json::json!(query),
            serde_json::json!({"request": full_url, "response": altered}),
        ),
    )
    .unwrap();
    let (code, stdout, _) = run(&[
        "parity",
        "--vcf",
        testdata("apoe.vcf.gz").to_str().unwrap(),
        "--pairs",
        pairs.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("pairs.jsonl:1: identical"), "{stdout}");
    assert!(
        stdout.contains("pairs.jsonl:2: 2 difference(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("meta.count: local 5 | hosted 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("results[0] (chr19:44905579).quality: local null | hosted 50"),
        "{stdout}"
    );

    // A directory of pairs.
    let pair_dir = dir.path().join("pairs");
    std::fs::create_dir(&pair_dir).unwrap();
    std::fs::write(pair_dir.join("a.json"), serde_json::json!({"request": "chromosome=chr19&position=44908684", "response": cli_body(&store, &["chromosome=chr19&position=44908684"])}).to_string()).unwrap();
    let (code, stdout, _) = run(&[
        "parity",
        "--sample",
        ID,
        "--store",
        store_arg,
        "--dir",
        pair_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.ends_with("1 identical, 0 differ\n"), "{stdout}");
}

#[test]
fn samples_added_while_serving_are_answered() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &[]);
    let later = "44444444-4444-4444-4444-444444444444";
    let target = format!("{API}{later}?chromosome=chr19&position=44908684");
    assert_eq!(server.get(&target, &[]).0, 404);
    assert_eq!(
        run(&[
            "sample",
            "add",
            "--no-position-index",
            later,
            testdata("edge/multi_sample.vcf.gz").to_str().unwrap(),
            "--store",
            store.to_str().unwrap()
        ])
        .0,
        0
    );
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"GT\":\"0|0\""), "{body}");
    // Upper-case ids are not matched by Django's `<uuid:>` route (the CLI takes them).
    assert_eq!(
        server
            .get(
                &format!(
                    "{API}{}?chromosome=chr19&position=44908684",
                    ID.to_uppercase()
                ),
                &[]
            )
            .0,
        404
    );
}

#[test]
fn a_position_index_rebuilt_while_serving_is_used_from_the_next_request() {
    let dir = copy_to_temp(&["apoe.vcf.gz", "apoe.vcf.gz.tbi"]);
    let vcf = dir.path().join("apoe.vcf.gz");
    let store = dir.path().join("store");
    let (code, _, stderr) = crate::util::add_sample(&store, ID, &vcf, &[]);
    assert_eq!(code, 0, "{stderr}");
    let server = Server::start(&store, &[]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    let (status, _, expected) = server.get(&target, &[]);
    assert_eq!(status, 200, "{expected}");
    // Its entries damaged (written under another name and renamed into place, as
    // `vcfq index` writes): the server sees the change and the query fails, saying what
    // to do.
    let index = dir.path().join("apoe.vcf.gz.vcfqidx");
    let mut bytes = std::fs::read(&index).unwrap();
    let at = bytes.len() - 4 - 20 + 9;
    bytes[at] ^= 1;
    std::fs::write(dir.path().join("damaged"), &bytes).unwrap();
    std::fs::rename(dir.path().join("damaged"), &index).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("rebuild it with `vcfq index`"), "{body}");
    // From an earlier vcfq: tabix answers, and the log says why.
    bytes[at] ^= 1;
    bytes[..8].copy_from_slice(b"VCFQPIX1");
    std::fs::write(dir.path().join("older"), &bytes).unwrap();
    std::fs::rename(dir.path().join("older"), &index).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    assert!(
        eventually(5, || server.log().contains("note: sample")
            && server.log().contains("earlier vcfq")),
        "{}",
        server.log()
    );
    // Rebuilt: answered again, without a restart.
    assert_eq!(run(&["index", vcf.to_str().unwrap()]).0, 0);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body), (200, expected));
}

#[test]
fn other_methods_and_per_client_limits() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--rate-limit", "2"]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    // Only GET (and HEAD) are allowed, as on the hosted endpoint.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(format!("POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(
        response.contains("{\"detail\":\"Method \\\"POST\\\" not allowed.\"}"),
        "{response}"
    );
    // Without API keys the limit applies per client address.
    let statuses: Vec<u16> = (0..6).map(|_| server.get(&target, &[]).0).collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// One keep-alive HTTP/1.1 connection: GET after GET.
struct KeepAlive {
    reader: BufReader<TcpStream>,
    port: u16,
}

impl KeepAlive {
    fn connect(port: u16) -> KeepAlive {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        KeepAlive {
            reader: BufReader::new(stream),
            port,
        }
    }

    /// (status, body)
    fn get(&mut self, target: &str) -> (u16, Vec<u8>) {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        );
        self.reader.get_mut().write_all(request.as_bytes()).unwrap();
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line).unwrap();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).unwrap();
        (status, body)
    }
}

/// The server's open file descriptors.
fn descriptors(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
        .unwrap()
        .count()
}

/// Waits until `condition` holds (polling), up to `seconds`.
fn eventually(seconds: u64, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    condition()
}

#[test]
fn sixty_four_connections_get_the_sequential_answers() {
    let workload = crate::workload::Workload::new();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let sample = testdata("NA12878.pgx-extract.vcf.gz");
    let (code, _, stderr) = crate::util::add_sample(&store, ID, &sample, &["--no-position-index"]);
    assert_eq!(code, 0, "{stderr}");
    let map = workload.map_dir();
    let server = Server::start(&store, &["--dbsnp", map.to_str().unwrap()]);
    let targets: Vec<String> = workload
        .queries
        .iter()
        .map(|query| format!("{API}{ID}?{query}"))
        .collect();
    // Sequential answers over one connection; they are the library's answers too.
    let mut connection = KeepAlive::connect(server.port);
    let sequential: Vec<Vec<u8>> = targets
        .iter()
        .map(|target| {
            let (status, body) = connection.get(target);
            assert_eq!(status, 200, "{target}");
            body
        })
        .collect();
    let options = vcfq::ResponseOptions {
        schema: vcfq::Schema::Docs,
        ..workload.options.clone()
    };
    for i in (0..targets.len()).step_by(97) {
        let library = workload
            .sample
            .respond(&workload.requests[i], &options)
            .unwrap();
        assert_eq!(library, sequential[i], "{}", targets[i]);
    }
    let targets = std::sync::Arc::new(targets);
    let sequential = std::sync::Arc::new(sequential);
    let port = server.port;
    let handles: Vec<_> = (0..64u64)
        .map(|thread| {
            let (targets, sequential) = (targets.clone(), sequential.clone());
            std::thread::spawn(move || {
                let mut connection = KeepAlive::connect(port);
                for i in crate::workload::order(targets.len(), thread + 7)
                    .into_iter()
                    .take(150)
                {
                    let (status, body) = connection.get(&targets[i]);
                    assert_eq!(status, 200, "{}", targets[i]);
                    assert_eq!(body, sequential[i], "{}", targets[i]);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn slow_clients_are_cut_off_and_others_served() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--header-timeout", "1"]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    assert_eq!(server.get(&target, &[]).0, 200);
    let baseline = descriptors(&server);
    // Slowloris: 100 clients send a request line and then one header byte at a time.
    let mut slow: Vec<TcpStream> = (0..100)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream
                .write_all(format!("GET {target} HTTP/1.1\r\nX-Slow: ").as_bytes())
                .unwrap();
            stream
        })
        .collect();
    let started = std::time::Instant::now();
    let mut answered_while_slow = 0;
    while started.elapsed() < Duration::from_millis(800) {
        for stream in &mut slow {
            let _ = stream.write_all(b"a");
        }
        let asked = std::time::Instant::now();
        let (status, _, _) = server.get(&target, &[]);
        assert_eq!(status, 200);
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "others must be served promptly"
        );
        answered_while_slow += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(answered_while_slow >= 3);
    // Every slow client is disconnected once its header time is up, whatever it sends.
    for stream in &mut slow {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = stream.write_all(b"a");
        let mut rest = Vec::new();
        let closed = match stream.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "a slow client kept its connection");
        assert!(
            rest.is_empty() || rest.starts_with(b"HTTP/1.1 408"),
            "{rest:?}"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    drop(slow);
    assert!(
        eventually(5, || descriptors(&server) <= baseline),
        "descriptors {baseline} -> {}",
        descriptors(&server)
    );
    assert_eq!(server.get(&target, &[]).0, 200);
}

#[test]
fn oversized_requests_and_bad_encoding() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &[]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    // A request head (URL and headers) beyond 64 KiB, or with more than 100 headers: 431
    // (hyper's 414 for URLs over 64 KiB is never reached); the connection is closed.
    let long_url = format!("{target}&pad={}", "x".repeat(100_000));
    let send_raw = |request: String| {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = stream.write_all(request.as_bytes());
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = send_raw(format!(
        "GET {long_url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    ));
    assert!(
        response.starts_with("HTTP/1.1 431"),
        "{}",
        &response[..response.len().min(200)]
    );
    let response = send_raw(format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "y".repeat(100_000)
    ));
    assert!(
        response.starts_with("HTTP/1.1 431"),
        "{}",
        &response[..response.len().min(200)]
    );
    let many_headers: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let response = send_raw(format!(
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{many_headers}\r\n"
    ));
    assert!(
        response.starts_with("HTTP/1.1 431"),
        "{}",
        &response[..response.len().min(200)]
    );
    // Not HTTP at all.
    let response = send_raw("\u{0}\u{1}garbage\r\n\r\n".to_string());
    assert!(
        response.is_empty() || response.starts_with("HTTP/1.1 400"),
        "{response}"
    );
    // Malformed percent-encoding is decoded as Django does (left as is) and then refused
    // like any other invalid value.
    for (query, detail) in [
        ("chromosome=chr%zz19&position=1", "chromosome"),
        ("chromosome=chr19&position=%", "position"),
        ("chromosome=%E2%82&position=1", "chromosome"),
        ("chromosome=chr19&position=%3", "position"),
    ] {
        let (status, _, body) = server.get(&format!("{API}{ID}?{query}"), &[]);
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body.starts_with("{\"detail\":\"") && body.contains(detail),
            "{query}: {body}"
        );
    }
    // A client that sends its request and then closes its sending side gets the answer.
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.ends_with("\"info\":{\"RAF\":\"0.15\"}}]}"),
        "{response}"
    );
    // The server is still up and answers.
    assert_eq!(server.get(&target, &[]).0, 200);
}

#[test]
fn thousands_of_connections() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--header-timeout", "2"]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    assert_eq!(server.get(&target, &[]).0, 200);
    let baseline = descriptors(&server);
    // 1,500 clients connect and send nothing.
    let idle: Vec<TcpStream> = (0..1500)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    let asked = std::time::Instant::now();
    assert_eq!(server.get(&target, &[]).0, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    // Idle clients are let go after the header timeout: descriptors come back.
    assert!(
        eventually(10, || descriptors(&server) <= baseline + 5),
        "descriptors {baseline} -> {}",
        descriptors(&server)
    );
    drop(idle);
    assert_eq!(server.get(&target, &[]).0, 200);
}

#[test]
fn connections_over_the_limit_wait_for_a_free_slot() {
    let (_dir, store) = store_with_sample();
    let server = Server::start(&store, &["--max-connections", "2", "--header-timeout", "1"]);
    let target = format!("{API}{ID}?chromosome=chr19&position=44908684");
    assert_eq!(server.get(&target, &[]).0, 200);
    // Two clients hold both slots and send nothing.
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // A third waits in the listen queue until the header timeout frees a slot.
    let asked = std::time::Instant::now();
    assert_eq!(server.get(&target, &[]).0, 200);
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    drop(idle);
}

#[test]
fn a_store_of_1500_samples_is_served_within_256_file_descriptors() {
    let dir = copy_to_temp(&["apoe.vcf.gz", "apoe.vcf.gz.tbi"]);
    let store = dir.path().join("store");
    let template = dir.path().join("apoe.vcf.gz");
    let (code, _, stderr) =
        crate::util::add_sample(&store, ID, &template, &["--no-position-index"]);
    assert_eq!(code, 0, "{stderr}");
    // 1,500 samples, each its own VCF path (a link to the same file and index), read
    // through the tabix index: four descriptors each while open.
    // The rows are written straight into the store's database (`sample add` would
    // resolve the links to the one file).
    let mut database = rusqlite::Connection::open(store.join("samples.sqlite")).unwrap();
    let ids: Vec<String> = (0..1500u32)
        .map(|i| format!("{i:08x}-5717-4562-b3fc-2c963f66afa6"))
        .collect();
    let transaction = database.transaction().unwrap();
    for (i, id) in ids.iter().enumerate() {
        let vcf = dir.path().join(format!("s{i}.vcf.gz"));
        std::os::unix::fs::symlink(&template, &vcf).unwrap();
        std::os::unix::fs::symlink(
            dir.path().join("apoe.vcf.gz.tbi"),
            dir.path().join(format!("s{i}.vcf.gz.tbi")),
        )
        .unwrap();
        transaction
            .execute(
                "INSERT INTO samples SELECT ?1, ?2, index_path, size, modified_unix_seconds, \
                 index_modified_unix_seconds, contig_naming, vcf_sample, added_unix_seconds, \
                 checked FROM samples WHERE id = ?3",
                rusqlite::params![id, vcf.to_str().unwrap().as_bytes(), ID],
            )
            .unwrap();
    }
    transaction.commit().unwrap();
    drop(database);

    let server = Server::start_with(&store, &[], Some(256));
    assert!(
        server.log().contains("256 file descriptors"),
        "{}",
        server.log()
    );
    let query = "?chromosome=chr19&position=44908684";
    for round in 0..2 {
        for id in ids.iter().step_by(if round == 0 { 1 } else { 37 }) {
            let (status, _, body) = server.get(&format!("{API}{id}{query}"), &[]);
            assert_eq!(status, 200, "sample {id}: {body}");
            assert!(body.starts_with(r#"{"meta":{"count":1}"#), "{body}");
        }
    }
    drop(server);
    // Told to keep more samples open than descriptors allow, the server says what ran out
    // and what to do, and goes on serving what it can.
    let server = Server::start_with(&store, &["--max-open-samples", "1000"], Some(256));
    let failed = ids
        .iter()
        .map(|id| server.get(&format!("{API}{id}{query}"), &[]))
        .find(|(status, _, _)| *status != 200)
        .expect("1,000 open samples cannot fit in 256 descriptors");
    assert_eq!(failed.0, 500);
    assert!(
        failed
            .2
            .contains("vcfq serve has run out of file descriptors")
            && failed
                .2
                .contains("raise the limit (`ulimit -n`) or lower --max-open-samples"),
        "{}",
        failed.2
    );
}

/// The server process's resident memory now, in bytes.
fn resident(pid: u32) -> u64 {
    crate::util::memory_of(pid, "VmRSS").unwrap()
}

#[test]
fn clients_that_never_read_cannot_pin_responses_in_memory() {
    // A 100 kb window of 5,000 records with long INFO columns: a 3.7 MB response body.
    let dir = tempfile::tempdir().unwrap();
    let vcf = dir.path().join("dense.vcf.gz");
    let mut text = b"##fileformat=VCFv4.2\n##contig=<ID=chr19,length=58617616>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n".to_vec();
    let info: String = (0..60).map(|i| format!("K{i}=0.{i:05};")).collect();
    for i in 0..5_000u64 {
        text.extend_from_slice(
            format!(
                "chr19\t{}\t.\tA\tG\t.\tPASS\t{info}END\tGT:DS\t0|1:0.{i}\n",
                1_000_000 + i * 20
            )
            .as_bytes(),
        );
    }
    vcfq::index::write_indexed_vcf(&vcf, &text, false).unwrap();
    let store = dir.path().join("store");
    let (code, _, stderr) = crate::util::add_sample(&store, ID, &vcf, &[]);
    assert_eq!(code, 0, "{stderr}");
    let server = Server::start(
        &store,
        &["--max-response-memory", "4M", "--write-timeout", "1"],
    );
    let window = format!("{API}{ID}?chromosome=chr19&start_position=1000000&end_position=1100000");
    let (status, _, body) = server.get(&window, &[]);
    assert_eq!(status, 200);
    assert!(body.len() > 3 << 20, "{} bytes", body.len());
    let before = resident(server.child.id());
    // 128 clients ask for it and never read.
    let silent: Vec<TcpStream> = (0..128)
        .map(|_| {
            let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            stream
                .write_all(
                    format!(
                        "GET {window} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .unwrap();
            stream
        })
        .collect();
    // Long enough for every one of them to be computed (without the budget, all held).
    let mut peak = 0;
    for _ in 0..120 {
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(resident(server.child.id()));
    }
    // Without the budget: 128 bodies, 470 MB. With it: 4 MB of bodies being sent, plus
    // the few being computed or waiting for it (one per query slot, with the buffers
    // that build them), whatever the number of clients.
    assert!(
        peak < before + (180 << 20),
        "the silent clients took the server from {} MB to {} MB",
        before >> 20,
        peak >> 20
    );
    // After the write timeout the connections that stalled are closed: the first ones
    // served got a cut response. The rest hang up; a new client is answered.
    std::thread::sleep(Duration::from_secs(2));
    let mut cut = 0;
    for stream in silent.iter().take(4) {
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let mut received = Vec::new();
        if (&*stream).read_to_end(&mut received).is_ok() && !received.ends_with(b"}]}") {
            cut += 1;
        }
    }
    assert!(cut >= 1, "no stalled connection was closed");
    drop(silent);
    eprintln!(
        "server RSS {} MB before, {} MB at most with 128 silent clients",
        before >> 20,
        peak >> 20
    );
    // (It may wait for the queries already queued, whose clients have gone.)
    let small = exchange(
        server.port,
        &format!(
            "GET {API}{ID}?chromosome=chr19&position=1000000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ),
    );
    assert!(small.starts_with("HTTP/1.1 200"), "{small}");
}

/// Builds a dbSNP map of `sources` (under testdata/) into `out`.
fn build_map(sources: &[&str], out: &Path) {
    let mut args = vec!["dbsnp".to_string(), "build".to_string()];
    args.extend(
        sources
            .iter()
            .map(|source| testdata(source).display().to_string()),
    );
    args.extend(["--out".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
}

/// Writes `bytes` over the file at `path` in place: the same inode, as `cp` over an
/// existing file or an editor saving in place does.
fn overwrite_in_place(path: &Path, bytes: &[u8]) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

fn truncate(path: &Path, size: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(size)
        .unwrap();
}

/// The server process is still running.
fn alive(server: &mut Server) -> bool {
    server.child.try_wait().unwrap().is_none()
}

#[test]
fn a_dbsnp_map_changed_under_the_server_never_kills_it() {
    let (dir, store) = store_with_sample();
    let map = dir.path().join("map");
    build_map(
        &["pharmcat/pharmcat_positions.vcf.gz", "dbsnp/crafted.vcf"],
        &map,
    );
    let mut server = Server::start(&store, &["--dbsnp", map.to_str().unwrap()]);
    let target = format!("{API}{ID}?rsid=rs429358,rs7412");
    let (status, _, expected) = server.get(&target, &[]);
    assert_eq!(status, 200, "{expected}");
    assert!(expected.contains("\"rsid\":\"rs429358\""), "{expected}");
    let rsids_bin = map.join("rsids.bin");
    let good_rsids = std::fs::read(&rsids_bin).unwrap();

    // Truncated in place (the defect: SIGBUS killed the server): a 500 that names the
    // file and says what to do; the server lives on.
    truncate(&rsids_bin, 0);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("rsids.bin"), "{body}");
    assert!(body.contains("rebuild it"), "{body}");
    assert!(alive(&mut server));
    // Written back in place, whole: reopened and answered.
    overwrite_in_place(&rsids_bin, &good_rsids);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));

    // One file replaced by another renamed over it (as rsync writes): seen too.
    let partial = map.join("rsids.bin.partial");
    std::fs::write(&partial, &good_rsids[..good_rsids.len() / 2]).unwrap();
    std::fs::rename(&partial, &rsids_bin).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("rsids.bin"), "{body}");
    std::fs::write(&partial, &good_rsids).unwrap();
    std::fs::rename(&partial, &rsids_bin).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));

    // Overwritten in place with other bytes of the same size: refused, never read.
    let alleles_bin = map.join("alleles.bin");
    let good_alleles = std::fs::read(&alleles_bin).unwrap();
    overwrite_in_place(&alleles_bin, &vec![0u8; good_alleles.len()]);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("alleles.bin"), "{body}");
    assert!(alive(&mut server));

    // Replaced by a rebuilt map renamed into place, as `vcfq dbsnp build` does: picked up
    // at the next request. This map holds only the crafted rsIDs, so the answer changes
    // to the new map's.
    let rebuilt = dir.path().join("map.new");
    build_map(&["dbsnp/crafted.vcf"], &rebuilt);
    std::fs::remove_dir_all(&map).unwrap();
    std::fs::rename(&rebuilt, &map).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!(status, 200, "{body}");
    let pharmcat_only = format!("{API}{ID}?rsid=rs4244285");
    let (status, _, body) = server.get(&pharmcat_only, &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with(r#"{"meta":{"count":0}"#), "{body}");
    // And the whole map back by rename: the first answer again.
    let whole = dir.path().join("map.whole");
    build_map(
        &["pharmcat/pharmcat_positions.vcf.gz", "dbsnp/crafted.vcf"],
        &whole,
    );
    std::fs::remove_dir_all(&map).unwrap();
    std::fs::rename(&whole, &map).unwrap();
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    assert!(
        eventually(5, || server.log().contains("reopened the map")),
        "{}",
        server.log()
    );
    assert!(alive(&mut server));
}

#[test]
fn a_vcf_or_position_index_changed_under_the_server_never_kills_it() {
    let dir = copy_to_temp(&["apoe.vcf.gz", "apoe.vcf.gz.tbi"]);
    let vcf = dir.path().join("apoe.vcf.gz");
    let index = dir.path().join("apoe.vcf.gz.vcfqidx");
    let store = dir.path().join("store");
    let (code, _, stderr) = crate::util::add_sample(&store, ID, &vcf, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(index.exists());
    let mut server = Server::start(&store, &[]);
    let target =
        format!("{API}{ID}?chromosome=chr19&start_position=44905000&end_position=44910000");
    let (status, _, expected) = server.get(&target, &[]);
    assert_eq!(status, 200, "{expected}");
    let good_vcf = std::fs::read(&vcf).unwrap();
    let good_index = std::fs::read(&index).unwrap();

    // The position index truncated in place: not used (tabix answers), never read.
    truncate(&index, 100);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    // Overwritten in place with zeros: the same.
    overwrite_in_place(&index, &vec![0u8; good_index.len()]);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    // Replaced by rename (`vcfq index` writes it so): used again.
    assert_eq!(run(&["index", vcf.to_str().unwrap()]).0, 0);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    assert!(alive(&mut server));

    // The VCF truncated in place: an error answer, the server alive.
    truncate(&vcf, good_vcf.len() as u64 / 2);
    let (status, _, body) = server.get(&target, &[]);
    assert!(status == 500 || status == 400, "{status} {body}");
    assert!(body.contains("apoe.vcf.gz"), "{body}");
    assert!(alive(&mut server));
    // Written back in place (and its index rewritten after it, so the index is not
    // older than the VCF): answered.
    let tbi = dir.path().join("apoe.vcf.gz.tbi");
    let good_tbi = std::fs::read(&tbi).unwrap();
    overwrite_in_place(&vcf, &good_vcf);
    overwrite_in_place(&tbi, &good_tbi);
    assert_eq!(run(&["index", vcf.to_str().unwrap()]).0, 0);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    // Overwritten in place with zeros, then replaced by rename with the good file.
    overwrite_in_place(&vcf, &vec![0u8; good_vcf.len()]);
    let (status, _, body) = server.get(&target, &[]);
    assert!(status == 500 || status == 400, "{status} {body}");
    assert!(alive(&mut server));
    std::fs::write(dir.path().join("apoe.vcf.gz.new"), &good_vcf).unwrap();
    std::fs::rename(dir.path().join("apoe.vcf.gz.new"), &vcf).unwrap();
    overwrite_in_place(&tbi, &good_tbi);
    assert_eq!(run(&["index", vcf.to_str().unwrap()]).0, 0);
    let (status, _, body) = server.get(&target, &[]);
    assert_eq!((status, body.as_str()), (200, expected.as_str()));
    assert!(alive(&mut server));
}

#[test]
fn methods_options_head_and_page_size_as_drf_answers_them() {
    let (dir, store) = store_with_sample();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, "key-1\n").unwrap();
    let server = Server::start(
        &store,
        &["--api-keys", keys.to_str().unwrap(), "--page-size", "2"],
    );
    let target =
        format!("{API}{ID}?chromosome=chr19&start_position=44905000&end_position=44910000");
    let request = |method: &str, key: bool| {
        let auth = if key {
            "Authorization: Api-Key key-1\r\n"
        } else {
            ""
        };
        exchange(
            server.port,
            &format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"),
        )
    };
    // DRF checks authentication before the method: an unauthenticated POST is 401.
    let response = request("POST", false);
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    assert!(response.contains("allow: GET, HEAD, OPTIONS"), "{response}");
    let response = request("DELETE", true);
    assert!(response.starts_with("HTTP/1.1 405"), "{response}");
    assert!(response.contains("{\"detail\":\"Method \\\"DELETE\\\" not allowed.\"}"));
    assert!(response.contains("allow: GET, HEAD, OPTIONS"), "{response}");
    // OPTIONS: DRF's SimpleMetadata.
    let response = request("OPTIONS", true);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#""renders":["application/json"],"parses":["application/json","application/x-www-form-urlencoded","multipart/form-data"]}"#), "{response}");
    // HEAD: GET's status and headers, no body.
    let get = request("GET", true);
    let head = request("HEAD", true);
    let length = |response: &str| {
        response
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map(str::to_string)
    };
    assert!(
        head.starts_with("HTTP/1.1 200") && head.ends_with("\r\n\r\n"),
        "{head}"
    );
    assert_eq!(length(&head), length(&get));
    // --page-size 2: DRF's PAGE_SIZE, in the page and in the links.
    let body = get.split("\r\n\r\n").nth(1).unwrap();
    assert!(
        body.starts_with(
            r#"{"meta":{"count":5},"results":[{"chromosome":"chr19","position":44905579"#
        ),
        "{body}"
    );
    assert_eq!(body.matches("\"chromosome\"").count(), 2, "{body}");
    // The CLI's --page-size gives the same page.
    let (code, stdout, stderr) = run(&[
        "query",
        "--vcf",
        testdata("apoe.vcf.gz").to_str().unwrap(),
        "--page-size",
        "2",
        "--schema",
        "openapi",
        "chr19:44905000-44910000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"next\":\"http://127.0.0.1:8080?chromosome=chr19&end_position=44910000&limit=2&offset=2&start_position=44905000\""), "{stdout}");
    assert_eq!(stdout.matches("\"chromosome\"").count(), 2, "{stdout}");
    // And `batch` and `cohort`, for each request or sample.
    let requests = dir.path().join("requests.txt");
    std::fs::write(
        &requests,
        "chr19:44905000-44910000\nchromosome=chr19&start_position=44905000&end_position=44910000&limit=3\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&[
        "batch",
        "--vcf",
        testdata("apoe.vcf.gz").to_str().unwrap(),
        "--page-size",
        "2",
        "--requests",
        requests.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let counts: Vec<usize> = stdout
        .lines()
        .map(|line| line.matches("\"chromosome\"").count())
        .collect();
    assert_eq!(counts, [2, 3], "{stdout}");
    let manifest = dir.path().join("cohort.tsv");
    std::fs::write(
        &manifest,
        format!("a\t{}\n", testdata("apoe.vcf.gz").display()),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&[
        "cohort",
        "--manifest",
        manifest.to_str().unwrap(),
        "--page-size",
        "2",
        "chr19:44905000-44910000",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("\"chromosome\"").count(), 2, "{stdout}");
}
