//! Scale benchmark of the dbSNP map (not a criterion bench: one long run).
//!
//! `cargo bench --bench dbsnp_scale -- --rsids N` (default 9,100,000):
//! 1. generates a seeded dbSNP-like VCF of N rows into `target/bench-data/` (once);
//! 2. builds a map from it with `vcfq dbsnp build`, measuring wall time and peak RSS;
//! 3. opens the map and times warm rsID resolves and allele lookups;
//! 4. prints the numbers and their extrapolation to the full release (1.1 billion rsIDs),
//!    and writes them to `target/bench-data/dbsnp-scale-N.json`.

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

/// Runs a command; returns (wall seconds, peak RSS of the child in bytes).
fn run_measured(command: &mut Command) -> (f64, u64) {
    let started = Instant::now();
    let status = command.status().expect("running a benchmark command");
    let seconds = started.elapsed().as_secs_f64();
    assert!(status.success(), "{command:?} failed");
    // SAFETY: `rusage` is a plain C struct of integers, for which all-zero bytes are a
    // valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct; RUSAGE_CHILDREN covers waited-for children.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    (seconds, usage.ru_maxrss as u64 * 1024)
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
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
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
    let source = dir.join(format!("dbsnp-{rsids}.vcf.gz"));
    let samples_path = dir.join(format!("dbsnp-{rsids}.vcf.gz.samples.tsv"));
    if !source.exists() || !samples_path.exists() {
        eprintln!("generating {} ...", source.display());
        let (seconds, _) = run_measured(Command::new(env!("CARGO_BIN_EXE_vcfq-synth")).args([
            "dbsnp",
            "--rows",
            &rsids.to_string(),
            "--out",
            source.to_str().unwrap(),
        ]));
        eprintln!("generated in {seconds:.1} s");
    }
    let map_dir = dir.join(format!("map-{rsids}"));
    let mut build = Command::new(env!("CARGO_BIN_EXE_vcfq"));
    build.args([
        "dbsnp",
        "build",
        source.to_str().unwrap(),
        "--out",
        map_dir.to_str().unwrap(),
    ]);
    if let Some(memory) = &memory {
        build.args(["--memory", memory]);
    }
    let (build_seconds, peak_rss) = run_measured(&mut build);

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
    let scale = FULL_RELEASE_RSIDS / meta.counts.rsids as f64;
    let report = serde_json::json!({
        "rows": rsids,
        "rsids": meta.counts.rsids,
        "allele_keys": meta.counts.allele_keys,
        "build_seconds": build_seconds,
        "build_rsids_per_second": meta.counts.rsids as f64 / build_seconds,
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
         build: {build_seconds:.1} s ({rate:.2} M rsIDs/s), peak RSS {rss:.0} MiB\n\
         map: {map_mb:.1} MB ({per_rsid:.1} bytes per rsID); open {open_micros:.0} us\n\
         resolve: {warm_resolve:.2} us warm ({cold_resolve:.2} us first pass), {found}/{n} found\n\
         allele lookup: {warm_allele:.2} us warm, {alleles_found}/{n} found\n\
         extrapolated to 1.1 billion rsIDs: build {minutes:.0} min (linear), map {gb:.1} GB",
        rows = rsids,
        rsids = meta.counts.rsids,
        keys = meta.counts.allele_keys,
        rate = meta.counts.rsids as f64 / build_seconds / 1e6,
        rss = peak_rss as f64 / (1 << 20) as f64,
        map_mb = map_bytes as f64 / 1e6,
        n = samples.len(),
        minutes = build_seconds * scale / 60.0,
        gb = per_rsid * FULL_RELEASE_RSIDS / 1e9,
    );
    let report_path = dir.join(format!("dbsnp-scale-{rsids}.json"));
    std::fs::write(&report_path, serde_json::to_vec_pretty(&report).unwrap()).unwrap();
    println!("report: {}", report_path.display());
}
