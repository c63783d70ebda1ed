//! Criterion benches of the query engine on a generated, realistic imputed sample:
//! opening a sample and a dbSNP map, a warm point query at a random existing position, a
//! warm 100 kb range, and a warm 50-rsID query, response bytes and the `rsid` annotation
//! included; each through the position index (`query/…`, `open_sample`) and through the
//! tabix index only (`query_tabix_only/…`, `open_sample_tabix_only`, an alias of the same
//! file that has no position index).
//!
//! Data: `vcfq-synth sample` (seeded) writes a 10 M-record genome-wide GT:DS:GP VCF, its
//! tabix index and a matching dbSNP-like VCF into `target/bench-data/` on first use, and
//! `vcfq dbsnp build` maps the latter. `VCFQ_BENCH_ROWS=1000000 cargo bench` uses a
//! smaller sample.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vcfq::{Request, ResponseOptions, RsidMap, Sample, SampleOptions};

struct BenchData {
    sample: PathBuf,
    /// The same file and tabix index under another name, with no position index.
    tabix_only: PathBuf,
    map: PathBuf,
    /// (rsID, chromosome, POS) of sites that have an rsID.
    sites: Vec<(String, String, u64)>,
}

fn run(command: &mut Command) {
    let status = command.status().expect("running a data generator");
    assert!(status.success(), "{command:?} failed");
}

fn bench_data() -> BenchData {
    let rows: u64 = std::env::var("VCFQ_BENCH_ROWS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(10_000_000);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let sample = dir.join(format!("sample-{rows}.vcf.gz"));
    let with_suffix =
        |path: &Path, suffix: &str| PathBuf::from(format!("{}{suffix}", path.display()));
    let queries = with_suffix(&sample, ".queries.tsv");
    if !queries.exists() || !with_suffix(&sample, ".tbi").exists() {
        eprintln!("generating {} (once) ...", sample.display());
        run(Command::new(env!("CARGO_BIN_EXE_vcfq-synth")).args([
            "sample",
            "--rows",
            &rows.to_string(),
            "--out",
            sample.to_str().unwrap(),
        ]));
    }
    let map = dir.join(format!("sample-{rows}-map"));
    if !map.join("meta.json").exists() {
        let source = with_suffix(&sample, ".dbsnp.vcf.gz");
        run(Command::new(env!("CARGO_BIN_EXE_vcfq")).args([
            "dbsnp",
            "build",
            source.to_str().unwrap(),
            "--out",
            map.to_str().unwrap(),
        ]));
    }
    // (Re)write the position index when there is none or this vcfq would not use it (from
    // an earlier vcfq, or stale after regenerating the sample).
    let current = Sample::open(&sample, &SampleOptions::default())
        .is_ok_and(|opened| opened.uses_position_index());
    if !current {
        run(Command::new(env!("CARGO_BIN_EXE_vcfq")).args(["index", sample.to_str().unwrap()]));
    }
    let tabix_only = dir.join(format!("sample-{rows}-tbi-only.vcf.gz"));
    for suffix in ["", ".tbi"] {
        let alias = with_suffix(&tabix_only, suffix);
        if std::fs::symlink_metadata(&alias).is_err() {
            let target = std::fs::canonicalize(with_suffix(&sample, suffix)).unwrap();
            std::os::unix::fs::symlink(target, alias).unwrap();
        }
    }
    let sites = std::fs::read_to_string(&queries)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (
                fields[0].to_string(),
                fields[1].to_string(),
                fields[2].parse().unwrap(),
            )
        })
        .collect();
    BenchData {
        sample,
        tabix_only,
        map,
        sites,
    }
}

/// A deterministic scatter over the sites (no RNG crate needed).
fn scattered(count: usize, take: usize, seed: usize) -> impl Iterator<Item = usize> {
    (0..take).map(move |i| {
        (i.wrapping_mul(7_919)
            .wrapping_add(seed.wrapping_mul(104_729)))
            % count
    })
}

fn queries(c: &mut Criterion) {
    let data = bench_data();
    let options = ResponseOptions {
        dbsnp: Some(Arc::new(RsidMap::open(&data.map).unwrap())),
        ..ResponseOptions::default()
    };

    c.bench_function("open_sample", |b| {
        b.iter(|| Sample::open(black_box(&data.sample), &SampleOptions::default()).unwrap())
    });
    c.bench_function("open_sample_tabix_only", |b| {
        b.iter(|| Sample::open(black_box(&data.tabix_only), &SampleOptions::default()).unwrap())
    });
    c.bench_function("open_dbsnp_map", |b| {
        b.iter(|| RsidMap::open(black_box(&data.map)).unwrap())
    });

    let points: Vec<Request> = scattered(data.sites.len(), 4096, 1)
        .map(|i| {
            let (_, chromosome, position) = &data.sites[i];
            Request::parse(&format!("chromosome={chromosome}&position={position}")).unwrap()
        })
        .collect();
    let ranges: Vec<Request> = scattered(data.sites.len(), 1024, 2)
        .map(|i| {
            let (_, chromosome, position) = &data.sites[i];
            let start = position.saturating_sub(50_000).max(1);
            Request::parse(&format!(
                "chromosome={chromosome}&start_position={start}&end_position={}",
                start + 100_000
            ))
            .unwrap()
        })
        .collect();
    let rsid_queries: Vec<Request> = (0..256)
        .map(|query| {
            let rsids: Vec<&str> = scattered(data.sites.len(), 50, 1000 + query)
                .map(|i| data.sites[i].0.as_str())
                .collect();
            Request::parse(&format!("rsid={}", rsids.join(","))).unwrap()
        })
        .collect();

    for (group_name, path, position_index) in [
        ("query", &data.sample, true),
        ("query_tabix_only", &data.tabix_only, false),
    ] {
        let sample = Sample::open(path, &SampleOptions::default()).unwrap();
        assert_eq!(sample.uses_position_index(), position_index);
        // One reader per core, as `vcfq batch` and `vcfq serve` open them.
        sample.open_readers(2).unwrap();
        // Warm the readers before timing.
        for request in rsid_queries.iter().take(4) {
            sample.respond(request, &options).unwrap();
        }
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        let mut next = 0;
        group.bench_function("point_warm", |b| {
            b.iter(|| {
                next = (next + 1) % points.len();
                black_box(sample.respond(&points[next], &options).unwrap())
            })
        });
        let mut next = 0;
        group.bench_function("range_100kb_warm", |b| {
            b.iter(|| {
                next = (next + 1) % ranges.len();
                black_box(sample.respond(&ranges[next], &options).unwrap())
            })
        });
        let mut next = 0;
        group.bench_function("rsid_50_warm", |b| {
            b.iter(|| {
                next = (next + 1) % rsid_queries.len();
                black_box(sample.respond(&rsid_queries[next], &options).unwrap())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, queries);
criterion_main!(benches);
