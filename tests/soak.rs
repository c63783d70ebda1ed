//! Soak: many mixed queries from 16 threads against one sample and map, watching the
//! process's open file descriptors and resident memory. Its own test binary, so nothing
//! else runs in the process. `VCFQ_SOAK_QUERIES` sets the total (default 40,000;
//! `docs/robustness.md` reports a 1,000,000-query run with `cargo test --release --test soak`).

// The soak test uses part of the shared workload.
#[allow(dead_code)]
mod workload;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use workload::{order, Workload};

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split(' ').nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Runs `total` queries over 16 threads; every answer is checked against `expected`.
fn run_queries(workload: &Arc<Workload>, expected: &Arc<Vec<Vec<u8>>>, total: usize, seed: u64) {
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..16u64)
        .map(|thread| {
            let (workload, expected, done) = (
                Arc::clone(workload),
                Arc::clone(expected),
                Arc::clone(&done),
            );
            std::thread::spawn(move || {
                let count = workload.requests.len();
                let mut round = 0;
                while done.load(Ordering::Relaxed) < total {
                    for i in order(count, seed + thread * 1000 + round)
                        .into_iter()
                        .take(64)
                    {
                        assert_eq!(workload.answer(i), expected[i], "request {i}");
                    }
                    done.fetch_add(64, Ordering::Relaxed);
                    round += 1;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

#[test]
fn no_descriptor_or_memory_growth_over_many_queries() {
    let total: usize = std::env::var("VCFQ_SOAK_QUERIES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40_000);
    let workload = Arc::new(Workload::new());
    // Readers are pooled per sample and kept for reuse, so the pool grows to the peak
    // number of queries running at once (16 threads, plus rayon's for rsID loci), never
    // with the number of queries: the bound below is that, not zero.
    let before_any = open_descriptors();
    workload.sample.open_readers(5).unwrap();
    let per_reader = (open_descriptors() - before_any).div_ceil(4);
    let readers_at_most = (16 + rayon::current_num_threads() + 1) * per_reader;
    let expected: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..workload.requests.len())
            .map(|i| workload.answer(i))
            .collect(),
    );
    // Warm up: every thread's reader opened, allocator pools at their working size.
    run_queries(&workload, &expected, total / 10, 1);
    let (descriptors, resident) = (open_descriptors(), resident_bytes());
    assert!(
        descriptors <= before_any + readers_at_most,
        "{before_any} descriptors before any query, {descriptors} after the warm-up"
    );
    let started = std::time::Instant::now();
    run_queries(&workload, &expected, total, 2);
    let elapsed = started.elapsed();
    let (descriptors_after, resident_after) = (open_descriptors(), resident_bytes());
    eprintln!(
        "soak: {per_reader} descriptors per reader; {total} queries in {:.1} s ({:.0}/s); descriptors {descriptors} -> {descriptors_after}; RSS {:.1} -> {:.1} MB",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        resident as f64 / 1e6,
        resident_after as f64 / 1e6
    );
    assert!(
        descriptors_after <= before_any + readers_at_most,
        "file descriptors leaked: {before_any} before any query, {descriptors_after} after"
    );
    assert!(
        resident_after < resident + 16 * 1024 * 1024,
        "resident memory grew from {resident} to {resident_after} bytes"
    );
}
