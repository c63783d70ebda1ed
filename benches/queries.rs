//! Criterion benches for the query engine: open a sample, point and range queries
//! (response bytes included). Data: the 1000 Genomes extract in testdata/ (2,665
//! records). A seeded genome-wide generator comes with the performance work.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vcfq::{Request, ResponseOptions, Sample, SampleOptions};

fn sample_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/NA12878.pgx-extract.vcf.gz")
}

/// Deterministic positions of existing records, spread over the file (no RNG needed).
fn existing_points(sample: &Sample) -> Vec<Request> {
    let mut points = Vec::new();
    for (chromosome, start, end) in [
        ("chr1", 11_780_000u64, 11_810_000u64),
        ("chr10", 94_760_000, 94_790_000),
        ("chrX", 154_530_000, 154_550_000),
    ] {
        let request = Request::parse(&format!(
            "chromosome={chromosome}&start_position={start}&end_position={end}"
        ))
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(
            &sample
                .respond(&request, &ResponseOptions::default())
                .unwrap(),
        )
        .unwrap();
        for record in body["results"].as_array().unwrap().iter().step_by(7) {
            points.push(
                Request::parse(&format!(
                    "chromosome={chromosome}&position={}",
                    record["position"]
                ))
                .unwrap(),
            );
        }
    }
    points
}

fn queries(c: &mut Criterion) {
    let path = sample_path();
    let options = ResponseOptions::default();

    c.bench_function("open_sample", |b| {
        b.iter(|| Sample::open(black_box(&path), &SampleOptions::default()).unwrap())
    });

    let sample = Sample::open(&path, &SampleOptions::default()).unwrap();
    let points = existing_points(&sample);
    let mut group = c.benchmark_group("query");
    group.throughput(Throughput::Elements(1));
    let mut next = 0;
    group.bench_function("point_warm", |b| {
        b.iter(|| {
            next = (next + 1) % points.len();
            black_box(sample.respond(&points[next], &options).unwrap())
        })
    });
    let range =
        Request::parse("chromosome=chr10&start_position=94760000&end_position=94790000").unwrap();
    group.bench_function("range_30kb_898_records", |b| {
        b.iter(|| black_box(sample.respond(&range, &options).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, queries);
criterion_main!(benches);
