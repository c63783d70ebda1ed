//! Scale benchmark of the dbSNP map (not a criterion bench: one long run).
//!
//! `cargo bench --bench dbsnp_scale -- --rsids N [--realistic] [--stream] [--threads T]
//! [--memory M]` (default 9,100,000 rows):
//! 1. generates a seeded dbSNP-like VCF of N rows (`--realistic`: rows as long as the real
//!    release's) into `target/bench-data/` as BGZF, once; with `--stream` nothing is
//!    written: the generator's plain text is piped into the build (`vcfq dbsnp build -`),
//!    for sizes whose source would not fit the disk beside the sort;
//! 2. builds a map with `vcfq dbsnp build`, measuring wall time, the build's CPU time,
//!    its peak RSS, the peak disk it took (temporary runs and the map being written, from
//!    the file system's free space, polled), and its source throughput (MB/s of text
//!    parsed);
//!    `--merged-rows K` adds a merge history of K lines in NCBI's refsnp-merged.json
//!    form (`vcfq-synth merged`) and reports its share of the build time;
//! 3. times `vcfq dbsnp check` on the map, opening the map, and warm rsID resolves and
//!    allele lookups;
//! 4. prints the numbers and writes them to `target/bench-data/dbsnp-scale-N[-realistic]
//!    [-stream].json`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vcfq::{Contig, Rsid, RsidMap};

const FULL_RELEASE_RSIDS: f64 = 1.1e9;

fn data_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("creating target/bench-data");
    dir
}

/// What a measured child process took.
struct Measured {
    seconds: f64,
    /// Peak RSS of the largest child waited for so far, in bytes.
    peak_rss: u64,
    /// CPU seconds (user + system) of this child alone.
    cpu_seconds: f64,
    /// The most disk the file system lost while it ran, in bytes.
    peak_disk: u64,
}

fn children_usage() -> libc::rusage {
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are a
    // valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct; RUSAGE_CHILDREN covers waited-for children.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage
}

fn cpu_seconds(usage: &libc::rusage) -> f64 {
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Free bytes of the file system holding `dir`.
fn free_bytes(dir: &Path) -> u64 {
    let path = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `statvfs` is a plain C struct of integers; all-zero bytes are valid.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a struct to fill.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return 0;
    }
    stat.f_bavail as u64 * stat.f_frsize as u64
}

/// Runs a command to the end, polling the free disk of `dir` twice a second.
fn run_measured(command: &mut Command, dir: &Path) -> Measured {
    let before = cpu_seconds(&children_usage());
    let free_at_start = free_bytes(dir);
    let started = Instant::now();
    let mut child = command.spawn().expect("running a benchmark command");
    let mut least_free = free_at_start;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a benchmark command") {
            break status;
        }
        least_free = least_free.min(free_bytes(dir));
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "{command:?} failed");
    let usage = children_usage();
    Measured {
        seconds,
        peak_rss: usage.ru_maxrss as u64 * 1024,
        cpu_seconds: cpu_seconds(&usage) - before,
        peak_disk: free_at_start.saturating_sub(least_free),
    }
}

struct Sample {
    rs: u64,
    chromosome: &'static Contig,
    position: u64,
    reference: Vec<u8>,
    alternate: Vec<u8>,
}

fn read_samples(path: &Path) -> Vec<Sample> {
    let text = std::fs::read_to_string(path).expect("reading the samples file");
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Sample {
                rs: fields[0].parse().unwrap(),
                chromosome: Contig::from_canonical_name(fields[1]).unwrap(),
                position: fields[2].parse().unwrap(),
                reference: fields[3].as_bytes().to_vec(),
                alternate: fields[4].as_bytes().to_vec(),
            }
        })
        .collect()
}

fn main() {
    let mut rsids: u64 = 9_100_000;
    let mut memory: Option<String> = None;
    let mut threads: Option<String> = None;
    let mut merged_rows: u64 = 0;
    let args: Vec<String> = std::env::args().collect();
    let realistic = args.iter().any(|arg| arg == "--realistic");
    let stream = args.iter().any(|arg| arg == "--stream");
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--threads" => threads = Some(pair[1].clone()),
            "--merged-rows" => {
                merged_rows = pair[1]
                    .replace('_', "")
                    .parse()
                    .expect("--merged-rows takes a number")
            }
            "--rsids" => {
                rsids = pair[1]
                    .replace('_', "")
                    .parse()
                    .expect("--rsids takes a number")
            }
            "--memory" => memory = Some(pair[1].clone()),
            _ => {}
        }
    }
    let dir = data_dir();
    let name = format!("{rsids}{}", if realistic { "-realistic" } else { "" });
    let source = dir.join(format!("dbsnp-{name}.vcf.gz"));
    let samples_path = dir.join(format!("dbsnp-{name}.vcf.gz.samples.tsv"));
    let mut generate = Command::new(env!("CARGO_BIN_EXE_vcfq-synth"));
    generate.args(["dbsnp", "--rows", &rsids.to_string()]);
    if realistic {
        generate.arg("--realistic");
    }
    if !stream && (!source.exists() || !samples_path.exists()) {
        eprintln!("generating {} ...", source.display());
        generate.args(["--out", source.to_str().unwrap()]);
        let generated = run_measured(&mut generate, &dir);
        eprintln!("generated in {:.1} s", generated.seconds);
    }
    let name = format!("{name}{}", if stream { "-stream" } else { "" });
    let map_dir = dir.join(format!("map-{name}"));
    let _ = std::fs::remove_dir_all(&map_dir);
    let mut build = Command::new(env!("CARGO_BIN_EXE_vcfq"));
    build.args(["dbsnp", "build"]);
    // Streamed: the generator's text is piped in and its samples written beside.
    let mut generator = None;
    if stream {
        generate.args(["--out", "-", "--samples", samples_path.to_str().unwrap()]);
        let mut child = generate
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starting the generator");
        build.arg("-").stdin(child.stdout.take().unwrap());
        generator = Some(child);
    } else {
        build.arg(source.to_str().unwrap());
    }
    build.args(["--out", map_dir.to_str().unwrap()]);
    if let Some(memory) = &memory {
        build.args(["--memory", memory]);
    }
    if let Some(threads) = &threads {
        build.args(["--threads", threads]);
    }
    if merged_rows > 0 {
        let merged = dir.join(format!("refsnp-merged-{merged_rows}-for-{rsids}.json"));
        if !merged.exists() {
            run_measured(
                Command::new(env!("CARGO_BIN_EXE_vcfq-synth")).args([
                    "merged",
                    "--rows",
                    &merged_rows.to_string(),
                    "--dbsnp-rows",
                    &rsids.to_string(),
                    "--out",
                    merged.to_str().unwrap(),
                ]),
                &dir,
            );
        }
        build.args(["--merged", merged.to_str().unwrap()]);
    }
    let built = run_measured(&mut build, &dir);
    if let Some(mut child) = generator {
        assert!(child.wait().unwrap().success(), "the generator failed");
    }
    let build_seconds = built.seconds;
    let peak_rss = built.peak_rss;

    let checked = run_measured(
        Command::new(env!("CARGO_BIN_EXE_vcfq")).args([
            "dbsnp",
            "check",
            map_dir.to_str().unwrap(),
        ]),
        &dir,
    );

    let opened = Instant::now();
    let map = RsidMap::open(&map_dir).expect("opening the map");
    let open_micros = opened.elapsed().as_secs_f64() * 1e6;
    let meta = map.metadata().clone();
    let map_bytes: u64 = meta.files.values().map(|file| file.size).sum();
    let samples = read_samples(&samples_path);
    // Visit the samples in a scattered order, so that consecutive lookups share nothing.
    let order: Vec<usize> = (0..samples.len())
        .map(|i| (i * 7919) % samples.len())
        .collect();
    let resolve_pass = || {
        let started = Instant::now();
        let mut found = 0;
        for &i in &order {
            if black_box(
                map.resolve(Rsid::from_number(samples[i].rs).unwrap())
                    .unwrap(),
            )
            .is_some()
            {
                found += 1;
            }
        }
        (
            started.elapsed().as_secs_f64() * 1e6 / order.len() as f64,
            found,
        )
    };
    let (cold_resolve, _) = resolve_pass();
    let (warm_resolve, found) = resolve_pass();
    let allele_pass = || {
        let started = Instant::now();
        let mut found = 0;
        for &i in &order {
            let sample = &samples[i];
            let rsid = map
                .rsid_for_record(
                    sample.chromosome,
                    sample.position,
                    &sample.reference,
                    [&sample.alternate[..]],
                )
                .unwrap();
            if black_box(rsid).is_some() {
                found += 1;
            }
        }
        (
            started.elapsed().as_secs_f64() * 1e6 / order.len() as f64,
            found,
        )
    };
    let _ = allele_pass();
    let (warm_allele, alleles_found) = allele_pass();

    let per_rsid = map_bytes as f64 / meta.counts.rsids as f64;
    let text_megabytes = meta.counts.text_bytes as f64 / 1e6;
    let scale = FULL_RELEASE_RSIDS / meta.counts.rsids as f64;
    let report = serde_json::json!({
        "rows": rsids,
        "rsids": meta.counts.rsids,
        "allele_keys": meta.counts.allele_keys,
        "build_seconds": build_seconds,
        "build_rsids_per_second": meta.counts.rsids as f64 / build_seconds,
        "build_cpu_seconds": built.cpu_seconds,
        "realistic_rows": realistic,
        "streamed": stream,
        "threads": threads.clone().unwrap_or_else(|| "all cores".to_string()),
        "source_bytes": meta.source.size,
        "source_text_bytes": meta.counts.text_bytes,
        "source_text_megabytes_per_second": text_megabytes / build_seconds,
        "peak_disk_bytes": built.peak_disk,
        "check_seconds": checked.seconds,
        "merged_rows": merged_rows,
        "merged_rsids": meta.counts.merged,
        "merged_seconds": meta.merged_seconds,
        "peak_rss_bytes": peak_rss,
        "map_bytes": map_bytes,
        "bytes_per_rsid": per_rsid,
        "open_microseconds": open_micros,
        "resolve_microseconds_first_pass": cold_resolve,
        "resolve_microseconds_warm": warm_resolve,
        "allele_lookup_microseconds_warm": warm_allele,
        "lookups": samples.len(),
        "resolved": found,
        "alleles_found": alleles_found,
        "full_release_extrapolation": {
            "rsids": FULL_RELEASE_RSIDS,
            "build_minutes": build_seconds * scale / 60.0,
            "map_gigabytes": per_rsid * FULL_RELEASE_RSIDS / 1e9,
        },
    });
    println!(
        "dbSNP map scale benchmark: {rows} rows -> {rsids} rsIDs, {keys} allele keys\n\
         source: {text_mb:.0} MB of text ({source_mb:.0} MB read), {kind}\n\
         build: {build_seconds:.1} s ({rate:.2} M rsIDs/s, {throughput:.1} MB/s of text), \
         {cpu:.0} CPU s, peak RSS {rss:.0} MiB, peak disk {disk:.1} GB\n\
         merge history: {merged_rows} lines, {merged} rsIDs resolved, {merged_seconds:.1} s\n\
         check: {check:.1} s\n\
         map: {map_mb:.1} MB ({per_rsid:.1} bytes per rsID); open {open_micros:.0} us\n\
         resolve: {warm_resolve:.2} us warm ({cold_resolve:.2} us first pass), {found}/{n} found\n\
         allele lookup: {warm_allele:.2} us warm, {alleles_found}/{n} found\n\
         extrapolated to 1.1 billion rsIDs: build {minutes:.0} min (linear), map {gb:.1} GB",
        rows = rsids,
        text_mb = text_megabytes,
        source_mb = meta.source.size as f64 / 1e6,
        kind = match (realistic, stream) {
            (true, true) => "realistic rows, streamed from the generator",
            (true, false) => "realistic rows, BGZF file",
            (false, true) => "short rows, streamed from the generator",
            (false, false) => "short rows, BGZF file",
        },
        throughput = text_megabytes / build_seconds,
        cpu = built.cpu_seconds,
        disk = built.peak_disk as f64 / 1e9,
        check = checked.seconds,
        merged = meta.counts.merged,
        merged_seconds = meta.merged_seconds,
        rsids = meta.counts.rsids,
        keys = meta.counts.allele_keys,
        rate = meta.counts.rsids as f64 / build_seconds / 1e6,
        rss = peak_rss as f64 / (1 << 20) as f64,
        map_mb = map_bytes as f64 / 1e6,
        n = samples.len(),
        minutes = build_seconds * scale / 60.0,
        gb = per_rsid * FULL_RELEASE_RSIDS / 1e9,
    );
    let report_path = dir.join(format!("dbsnp-scale-{name}.json"));
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("report: {}", report_path.display());
}
